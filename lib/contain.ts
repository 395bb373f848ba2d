/**
 * The paths a package file names, checked against the file system before anything runs (so
 * `plan` refuses them too): the Dockerfile is a regular file inside the package directory, each
 * extra source is a directory, and no extra source is copied into the build context through a
 * symlink that an earlier source (the package directory first) puts on its way. The recipes
 * check every package before their look-ups (recipes/build.ts, recipes/push.ts), so `plan`,
 * `build`, `push` and `apply` all refuse before anything runs.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { InputError } from "./errors.ts";
import { contextPath, type PackageSpec } from "./spec.ts";
import { BUILD_YML } from "./load.ts";

/** An extra source as the build context takes it: `src` absolute, `dst` relative to the context ("." for its root). */
export interface ContextSource {
  src: string;
  dst: string;
}

const inside = (dir: string, path: string) => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** The package directory and its extra sources as they go into the build context, in copy order. */
export function contextSources(dir: string, spec: PackageSpec): ContextSource[] {
  return [{ src: dir, dst: "." }, ...spec.extraSources.map((s) => ({ src: resolve(dir, s.src), dst: contextPath(s.dst) ?? "" }))];
}

type Checked = { file: string; dir: string; spec: PackageSpec };

/**
 * Each package's paths: with `what: "sources"` only the extra sources (what its tag is computed
 * from, checked when it is resolved); else the Dockerfile too (checked before building or
 * pushing). Throws InputError (exit 2) naming the file, the field and the value.
 */
export function checkPackages(packages: Checked[], what: "sources" | "all" = "all"): void {
  for (const p of packages) {
    checkExtraSources(p);
    if (what === "all") {
      checkDockerfile(p);
      checkContextDockerfile(p);
    }
  }
}

function problems({ file }: Checked) {
  const yml = basename(file) === BUILD_YML;
  const field = (name: "dockerfile" | "extraSources", i?: number) =>
    `field "${name === "extraSources" && yml ? "extra-sources" : name}${i === undefined ? "" : `[${i}]`}"`;
  const refuse = (where: string, value: string, why: string) => new InputError(`${file}: ${where}: ${JSON.stringify(value)}: ${why}`);
  return { field, refuse };
}

function checkDockerfile(p: Checked): void {
  const { dir, spec } = p;
  const { field, refuse } = problems(p);
  const realDir = realpathSync(dir);

  const dockerfile = join(dir, spec.dockerfile);
  const stat = lstatSync(dockerfile, { throwIfNoEntry: false });
  if (!stat) throw refuse(field("dockerfile"), spec.dockerfile, `no such file in ${dir}; expected a regular file inside the package directory`);
  let real: string;
  try {
    real = realpathSync(dockerfile);
  } catch {
    throw refuse(field("dockerfile"), spec.dockerfile, `is a symlink to ${readlinkSync(dockerfile)}, which does not exist; expected a regular file inside the package directory`);
  }
  if (!inside(realDir, real))
    throw refuse(field("dockerfile"), spec.dockerfile, `leads to ${real}, outside the package directory ${dir} (through a symlink); expected a regular file inside it`);
  if (!statSync(real).isFile())
    throw refuse(field("dockerfile"), spec.dockerfile, `${statSync(real).isDirectory() ? "is a directory" : "is not a regular file"}; expected a regular file inside the package directory`);
}

/**
 * With extra sources the build reads the Dockerfile from the assembled context, where a later
 * source may put a symlink at its path or on the way to it (the legacy builder's client follows
 * it out of the context and sends the file it finds).
 */
function checkContextDockerfile(p: Checked): void {
  const { dir, spec } = p;
  const { field, refuse } = problems(p);
  const path = relative(dir, resolve(dir, spec.dockerfile)).split(sep).join("/");
  const parts = path.split("/");
  contextSources(dir, spec).forEach((source, i) => {
    if (i === 0) return;
    const given = spec.extraSources[i - 1]!;
    for (let n = 1; n <= parts.length; n++) {
      const at = parts.slice(0, n).join("/");
      const under = source.dst === "." ? at : at.startsWith(`${source.dst}/`) ? at.slice(source.dst.length + 1) : undefined;
      if (under === undefined) continue;
      const there = join(source.src, under);
      if (!lstatSync(there, { throwIfNoEntry: false })?.isSymbolicLink()) continue;
      const expected = n < parts.length ? "a directory" : "a regular file";
      throw refuse(field("extraSources", i - 1), `${given.src}:${given.dst}`,
        `puts a symlink (to ${readlinkSync(there)}) at "${at}" in the build context, where the build reads the Dockerfile "${path}"; expected ${expected} there, not a symlink`);
    }
  });
}

function checkExtraSources(p: Checked): void {
  const { dir, spec } = p;
  const { field, refuse } = problems(p);
  const sources = contextSources(dir, spec);
  spec.extraSources.forEach((given, i) => {
    const value = `${given.src}:${given.dst}`;
    const { src, dst } = sources[i + 1]!;
    const s = lstatSync(src, { throwIfNoEntry: false });
    if (!s) throw refuse(field("extraSources", i), value, `the source ${src} does not exist; expected a directory`);
    if (s.isSymbolicLink())
      throw refuse(field("extraSources", i), value, `the source ${src} is a symlink (to ${readlinkSync(src)}); name the directory itself`);
    if (!s.isDirectory()) throw refuse(field("extraSources", i), value, `the source ${src} is not a directory; expected a directory`);
    // Where the copy goes, part by part: what the sources copied before put there must be a directory, not a symlink.
    const parts = dst === "." ? [] : dst.split("/");
    for (let n = 1; n <= parts.length; n++) {
      const at = parts.slice(0, n).join("/");
      for (const earlier of sources.slice(0, i + 1)) {
        const under = earlier.dst === "." ? at : at === earlier.dst ? "" : at.startsWith(`${earlier.dst}/`) ? at.slice(earlier.dst.length + 1) : undefined;
        if (under === undefined || under === "") continue;
        const there = join(earlier.src, under);
        const t = lstatSync(there, { throwIfNoEntry: false });
        const from = earlier.src === dir ? "the package directory" : `the extra source ${earlier.src}`;
        if (t?.isSymbolicLink())
          throw refuse(field("extraSources", i), value, `"${at}" in the build context is a symlink (to ${readlinkSync(there)}, from ${from}); an extra source is never copied through a symlink`);
        if (t && !t.isDirectory())
          throw refuse(field("extraSources", i), value, `"${at}" in the build context is a file (from ${from}); expected a directory there, or nothing`);
      }
    }
  });
}
