/**
 * Assembling a build context from the package directory and its extra sources, as LinuxKit's
 * tar stream does: each source's tree under its destination, later sources over earlier ones,
 * symlinks copied as they are (never followed), `.git` left out. Every write stays inside the
 * context: a destination that climbs out is refused, and nothing is written through a symlink
 * (one in the way is refused on the way to a destination, and replaced inside a tree).
 */
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { PkgkitError } from "./errors.ts";
import { contextPath } from "./spec.ts";
import type { ContextSource } from "./contain.ts";
import type { Builder } from "./builder.ts";
import type { ContextStep } from "./plan/schema.ts";

export async function assembleContext(context: string, sources: ContextSource[]): Promise<void> {
  await mkdir(context, { recursive: true });
  for (const s of sources) {
    // A source holding the scratch directory would be copied into itself, without end.
    if (context.startsWith(resolve(s.src) + sep))
      throw new PkgkitError(`build context: the source ${s.src} contains the context being assembled (${context}); name a directory that does not hold pkgkit's scratch directory`);
    await copyTree(s.src, await directoryInside(context, s.dst, `${s.src}`));
  }
}

/**
 * The directory `dst` of the context, made where missing: refused when it climbs out of the
 * context or goes through anything but a directory (a symlink the package put there, say).
 */
async function directoryInside(context: string, dst: string, what: string): Promise<string> {
  const rel = contextPath(dst);
  const target = rel === undefined ? undefined : resolve(context, rel);
  if (target === undefined || (target !== context && !target.startsWith(context + sep)))
    throw new PkgkitError(`build context: the destination ${JSON.stringify(dst)} of ${what} is outside the context; nothing copied`);
  let at = context;
  for (const part of rel === "." ? [] : rel!.split("/")) {
    at = join(at, part);
    const st = await lstat(at).catch(() => undefined);
    if (!st) await mkdir(at);
    else if (!st.isDirectory())
      throw new PkgkitError(`build context: ${JSON.stringify(dst)} for ${what} goes through ${at.slice(context.length + 1)}, which is ${st.isSymbolicLink() ? "a symlink" : "not a directory"} there; nothing is copied through it`);
  }
  return target;
}

/**
 * `depends.dockerImages` (see ContextStep.images): empty `emptyDir`, then save each archive's
 * images from `engine` (the local one), pulling those it lacks. Each archive replaces whatever the
 * package had at its path (a symlink included: never written through).
 */
export async function saveImagesInto(
  context: string,
  images: NonNullable<ContextStep["images"]>,
  engine: Pick<Builder, "provide" | "saveAll">,
  options: { signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<void> {
  if (images.emptyDir !== undefined) {
    const dir = await directoryInside(context, images.emptyDir, "depends.dockerImages.targetDir");
    if (dir === context) throw new PkgkitError(`build context: depends.dockerImages.targetDir ${JSON.stringify(images.emptyDir)} is the context itself, which would be emptied; nothing saved`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
  }
  for (const { dst, refs } of images.archives) {
    const slash = dst.lastIndexOf("/");
    const name = dst.slice(slash + 1);
    if (name === "" || name === "." || name === "..")
      throw new PkgkitError(`build context: the archive ${JSON.stringify(dst)} of depends.dockerImages does not name a file; nothing saved`);
    const file = join(await directoryInside(context, slash < 0 ? "." : dst.slice(0, slash), "depends.dockerImages"), name);
    for (const ref of refs) options.log?.(`${ref}: ${(await engine.provide(ref, { signal: options.signal })) === "present" ? "from the local engine" : "pulled into the local engine"}`);
    await rm(file, { recursive: true, force: true });
    await engine.saveAll(refs, file, { signal: options.signal });
    options.log?.(`saved ${refs.length} image(s) to ${dst}`);
  }
}

/** Copy the tree `src` into the directory `dst` (which exists, inside the context). */
async function copyTree(src: string, dst: string): Promise<void> {
  for (const entry of await readdir(src, { withFileTypes: true })) {
    if (entry.name === ".git") continue;
    const from = join(src, entry.name);
    const to = join(dst, entry.name);
    const there = await lstat(to).catch(() => undefined);
    if (entry.isDirectory()) {
      if (there && !there.isDirectory()) await rm(to, { force: true });
      if (!there || !there.isDirectory()) await mkdir(to);
      await copyTree(from, to);
      await chmod(to, (await lstat(from)).mode & 0o7777);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      // Replaced, never written through: `to` may be a symlink an earlier source put there.
      if (there) await rm(to, { recursive: true, force: true });
      if (entry.isFile()) await copyFile(from, to);
      else await symlink(await readlink(from), to);
    }
  }
}
