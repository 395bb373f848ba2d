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

export async function assembleContext(context: string, sources: ContextSource[]): Promise<void> {
  await mkdir(context, { recursive: true });
  for (const s of sources) {
    // A source holding the scratch directory would be copied into itself, without end.
    if (context.startsWith(resolve(s.src) + sep))
      throw new PkgkitError(`build context: the source ${s.src} contains the context being assembled (${context}); name a directory that does not hold pkgkit's scratch directory`);
    const dst = contextPath(s.dst);
    const target = dst === undefined ? undefined : resolve(context, dst);
    if (target === undefined || (target !== context && !target.startsWith(context + sep)))
      throw new PkgkitError(`build context: the destination ${JSON.stringify(s.dst)} of ${s.src} is outside the context; nothing copied`);
    let at = context;
    for (const part of dst === "." ? [] : dst!.split("/")) {
      at = join(at, part);
      const st = await lstat(at).catch(() => undefined);
      if (!st) await mkdir(at);
      else if (!st.isDirectory())
        throw new PkgkitError(`build context: ${JSON.stringify(s.dst)} for ${s.src} goes through ${at.slice(context.length + 1)}, which is ${st.isSymbolicLink() ? "a symlink" : "not a directory"} there; nothing is copied through it`);
    }
    await copyTree(s.src, target);
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
