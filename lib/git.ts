/**
 * Git facts for many directories at once. The number of git processes depends on the number of
 * repositories involved, never on the number of directories: per repository, one `rev-parse`,
 * then `ls-tree`, `status`, `config` and `show` (HEAD's date, for GOPKGVERSION) together, each over
 * all the directories.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { InputError } from "./errors.ts";
import type { Shell } from "./shell.ts";

export interface DirState {
  /** Repository top level, absolute. */
  top: string;
  /** HEAD commit. */
  commit: string;
  /** Tree hash of the directory at HEAD (what `git ls-tree HEAD -- <dir>` reports); undefined if not committed. */
  tree?: string;
  /** Changed, deleted or untracked (not ignored) files under the directory, relative to `top`, sorted. */
  changed: string[];
  /** `remote.origin.url`, if set. */
  remote?: string;
  /**
   * HEAD as LinuxKit's GOPKGVERSION build arg: `v0.0.0-<commit date>-<12 hex of the commit>`, the
   * date as `git show --date=format-local:%Y%m%d%H%M%S` gives it (local time, as LinuxKit). Always
   * v0.0.0: LinuxKit's `git describe --match='v[0-9]...'` passes the quotes to git, so it never
   * matches a tag.
   */
  goPkgVersion?: string;
}

/**
 * Walk up to the directory holding `.git` (a directory, or a file for worktrees and submodules).
 * Answers are cached per directory, so many packages under one parent cost one walk.
 */
function findRepoHint(dir: string, cache: Map<string, string | undefined>): string | undefined {
  if (cache.has(dir)) return cache.get(dir);
  const parent = dirname(dir);
  const hint = existsSync(`${dir}/.git`) ? dir : parent === dir ? undefined : findRepoHint(parent, cache);
  cache.set(dir, hint);
  return hint;
}

/**
 * Pathspecs covering `paths`: the paths themselves when few, else their parent directories
 * (git matches a long pathspec list slowly; the caller filters by prefix anyway).
 */
function covering(paths: string[]): string[] {
  if (paths.length <= 32) return paths;
  const parents = [...new Set(paths.map((p) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : ".")))];
  return parents.includes(".") ? ["."] : covering(parents);
}

async function git(shell: Shell, top: string, args: string[]) {
  return shell.exec(["git", "-C", top, ...args], { env: { GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C" } });
}

/** Git state for each of `dirs` (absolute paths). Throws InputError for a directory outside git. */
export async function gitStates(shell: Shell, dirs: string[]): Promise<Map<string, DirState>> {
  const byRepo = new Map<string, string[]>();
  const hints = new Map<string, string | undefined>();
  for (const dir of new Set(dirs)) {
    const hint = findRepoHint(dir, hints);
    if (!hint) throw notInGit(dir);
    byRepo.set(hint, [...(byRepo.get(hint) ?? []), dir]);
  }
  const states = new Map<string, DirState>();
  await Promise.all(
    [...byRepo.entries()].map(async ([hint, repoDirs]) => {
      for (const [dir, state] of await repoStates(shell, hint, repoDirs)) states.set(dir, state);
    }),
  );
  return states;
}

function notInGit(dir: string) {
  return new InputError(
    `${dir}: not inside a git work tree. pkgkit derives the package tag from git: run \`git init\` and commit the package, or pass --hash <tag>`,
  );
}

async function repoStates(shell: Shell, hint: string, dirs: string[]): Promise<Map<string, DirState>> {
  const head = await git(shell, hint, ["rev-parse", "--show-toplevel", "HEAD", "HEAD^{tree}"]);
  if (head.code !== 0) {
    if (/not a git repository/i.test(head.stderr)) throw notInGit(dirs[0]!);
    if (/unknown revision|ambiguous argument 'HEAD'/.test(head.stderr))
      throw new InputError(`${hint}: the git repository has no commits yet; commit the package first, or pass --hash <tag>`);
    throw new InputError(`${hint}: git rev-parse failed: ${head.stderr.trim()}`);
  }
  const [top, commit, rootTree] = head.stdout.trim().split("\n") as [string, string, string];
  const rel = new Map(dirs.map((d) => [d, relative(top, d).split(sep).join("/")]));
  for (const [d, r] of rel) if (r.startsWith("..")) throw new InputError(`${d}: outside the git work tree at ${top}`);
  const paths = [...new Set(rel.values())].filter((r) => r !== "");
  const spec = rel.size > paths.length ? ["."] : covering(paths); // a package at the top covers everything
  // Many paths: list every tree under their parents once (-r -d) instead of matching each path.
  const treeSpec = paths.length > 32 ? ["-r", "-d", "HEAD", "--", ...covering(paths)] : ["HEAD", "--", ...paths];

  const [lsTree, status, remote, version] = await Promise.all([
    paths.length ? git(shell, top, ["ls-tree", "--full-tree", "-z", ...treeSpec]) : undefined,
    git(shell, top, ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=none", "--", ...spec]),
    git(shell, top, ["config", "--get", "remote.origin.url"]),
    git(shell, top, ["--no-pager", "show", "--quiet", "--abbrev=12", "--date=format-local:%Y%m%d%H%M%S", "--format=%cd-%h", "HEAD"]),
  ]);
  if (lsTree && lsTree.code !== 0) throw new InputError(`${top}: git ls-tree failed: ${lsTree.stderr.trim()}`);
  if (status.code !== 0) throw new InputError(`${top}: git status failed: ${status.stderr.trim()}`);

  const trees = new Map<string, string>([["", rootTree]]);
  for (const entry of (lsTree?.stdout ?? "").split("\0")) {
    const m = /^\d{6} tree ([0-9a-f]{40,64})\t(.*)$/s.exec(entry);
    if (m) trees.set(m[2]!, m[1]!);
  }
  // "XY path" records; with --no-renames there is no second path.
  const changed = status.stdout.split("\0").filter(Boolean).map((rec) => rec.slice(3)).sort();

  const out = new Map<string, DirState>();
  for (const [dir, r] of rel) {
    const prefix = r === "" ? "" : `${r}/`;
    out.set(dir, {
      top,
      commit,
      tree: trees.get(r),
      changed: changed.filter((p) => p.startsWith(prefix)),
      remote: remote.code === 0 ? remote.stdout.trim() || undefined : undefined,
      ...(version.code === 0 && version.stdout.trim() ? { goPkgVersion: `v0.0.0-${version.stdout.trim()}` } : {}),
    });
  }
  return out;
}

/**
 * A digest of the current content of changed files: path, kind and bytes of each, so two
 * different dirty states give different digests. Files are read directly, not through git.
 */
export async function changedContentDigest(states: DirState[]): Promise<string> {
  const h = createHash("sha256");
  const files = new Map(states.flatMap((s) => s.changed.map((p) => [p, resolve(s.top, p)] as const)));
  for (const [p, abs] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const info = await lstat(abs).catch(() => undefined);
    h.update(`${p}\0`);
    if (!info) h.update("deleted\0");
    else if (info.isSymbolicLink()) h.update(`link\0${await readlink(abs)}\0`);
    else if (info.isFile()) {
      h.update(`file ${(info.mode & 0o111) !== 0 ? "x" : "-"}\0`);
      h.update(await readFile(abs));
      h.update("\0");
    } else h.update("other\0");
  }
  return h.digest("hex");
}
