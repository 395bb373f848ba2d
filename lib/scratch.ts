/**
 * pkgkit's scratch space: assembled build contexts and exported images. Each run() gets a
 * directory of its own, `$TMPDIR/pkgkit-<uid>/run-XXXXXX` (mkdtemp), and removes it when it ends,
 * however it ends. The per-user parent is made private (0700) and must be a directory owned by
 * this user, not a symlink: it sits in a shared temporary directory. Plans name no scratch path;
 * run() derives each one from what the plan carries (the package name), and nothing outside the
 * parent is ever removed (`removeScratch`).
 */
import { lstatSync, statSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, rmdir } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join, resolve, sep } from "node:path";
import process from "node:process";
import { InputError, PkgkitError } from "./errors.ts";
import { retry } from "./retry.ts";

export interface Scratch {
  /** This run's directory. */
  readonly dir: string;
  /** Where the context of `pkg` (`org/image:<tag>`) is assembled. */
  contextDir(pkg: string): string;
  /** A new directory for one job (an exported image). */
  tempDir(prefix: string): Promise<string>;
  /** Remove this run's directory, and the per-user parent when no other run uses it. */
  remove(): Promise<void>;
}

const uid = () => process.getuid?.() ?? userInfo().uid;

/** `$TMPDIR/pkgkit-<uid>`: the only directory pkgkit removes anything in. */
export function scratchParent(tmp = tmpdir()): string {
  return resolve(tmp, `pkgkit-${uid()}`);
}

async function ensureParent(parent: string, tmp: string): Promise<void> {
  // Made in TMPDIR, never on the way to it: a TMPDIR that is not there is a mistake, not a place to create.
  const t = statSync(tmp, { throwIfNoEntry: false });
  if (!t?.isDirectory())
    throw new InputError(`TMPDIR ${tmp}: ${t ? "not a directory" : "no such directory"}; pkgkit makes its scratch directory in it: set TMPDIR to an existing directory`);
  await mkdir(parent, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  const s = lstatSync(parent);
  if (s.isSymbolicLink() || !s.isDirectory() || s.uid !== uid())
    throw new PkgkitError(`${parent}: pkgkit's scratch directory is ${s.isSymbolicLink() ? "a symlink" : !s.isDirectory() ? "not a directory" : `owned by uid ${s.uid}`}; expected a directory of this user (uid ${uid()}); remove it, or set TMPDIR`);
  if ((s.mode & 0o077) !== 0) await chmod(parent, 0o700);
}

export async function createScratch(tmp = tmpdir()): Promise<Scratch> {
  const parent = scratchParent(tmp);
  // Another run may remove the parent between our mkdir and mkdtemp, when it has just emptied it.
  const runDir = await retry(
    async () => {
      await ensureParent(parent, resolve(tmp));
      return mkdtemp(join(parent, "run-"));
    },
    {
      what: `mkdtemp in ${parent}`,
      attempts: 6,
      baseDelayMs: 0,
      classify: (e) => ((e as NodeJS.ErrnoException).code === "ENOENT" ? { reason: "another run removed the directory" } : undefined),
    },
  );
  return {
    dir: runDir,
    contextDir: (pkg) => join(runDir, "contexts", pkg.replace(/[^A-Za-z0-9._-]/g, "_")),
    tempDir: (prefix) => mkdtemp(join(runDir, prefix)),
    async remove() {
      await removeScratch(runDir, tmp);
      await rmdir(parent).catch(() => {});
    },
  };
}

/** Remove `path`, which must be inside pkgkit's scratch parent: the one place scratch space is removed. */
export async function removeScratch(path: string, tmp = tmpdir()): Promise<void> {
  const parent = scratchParent(tmp);
  const target = resolve(path);
  if (!target.startsWith(parent + sep))
    throw new PkgkitError(`refusing to remove ${path}: it is not inside pkgkit's scratch directory ${parent}`);
  await rm(target, { recursive: true, force: true });
}
