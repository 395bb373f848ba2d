/**
 * Git facts for many directories at once. The number of git processes depends on the number of
 * repositories involved, never on the number of directories: per repository, `rev-parse`,
 * `ls-tree`, `diff`, `ls-files`, `config` and `show` (HEAD's date, for GOPKGVERSION) together,
 * each over all the directories.
 *
 * What they answer is what LinuxKit's pkglib (git.go) asks one directory at a time:
 *   tree hash   `git ls-tree --full-tree <commit> -- <dir>` (the commit's tree for the top level)
 *   dirty       only at HEAD: a tracked file differs from HEAD (`git diff HEAD -- <dir>`), or an
 *               untracked, not ignored file is there (`git ls-files --others --exclude-standard`)
 *   contentHash sha256 over the bytes of each file `git -C <dir> ls-files` lists, then each one
 *               `ls-files --exclude-standard --others` lists, as LinuxKit reads that text (see
 *               contentHash below)
 */
import { existsSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { InputError } from "./errors.ts";
import { nodeCrypto } from "./node-crypto.ts";
import { canonical } from "./runtime.ts";
import type { ExecResult, Shell } from "./shell.ts";

/** The commit tags are computed at unless `--hash-commit` says otherwise (LinuxKit's default). */
export const DEFAULT_HASH_COMMIT = "HEAD";

export interface DirState {
  /** Repository top level, absolute. */
  top: string;
  /** HEAD commit. */
  commit: string;
  /** Tree hash of the directory at the hash commit (what `git ls-tree <commit> -- <dir>` reports); undefined if not committed. */
  tree?: string;
  /** Tracked files that differ from HEAD, and untracked (not ignored) files, under the directory, relative to `top`, sorted. Empty unless the hash commit is HEAD. */
  changed: string[];
  /** `remote.origin.url`, if set (and asked for: see gitStates). */
  remote?: string;
  /**
   * HEAD as LinuxKit's GOPKGVERSION build arg: `v0.0.0-<commit date>-<12 hex of the commit>`, the
   * date as `git show --date=format-local:%Y%m%d%H%M%S` gives it (local time, as LinuxKit). Always
   * v0.0.0: LinuxKit's `git describe --match='v[0-9]...'` passes the quotes to git, so it never
   * matches a tag.
   */
  goPkgVersion?: string;
  /** What contentHash reads, for the whole repository. */
  files: RepoFiles;
}

/** The repository's tracked and untracked (not ignored) files, relative to its top, in `git ls-files` order. */
export interface RepoFiles {
  tracked: string[];
  untracked: string[];
  /**
   * `core.quotePath`: git quotes names with bytes above 0x7f in `ls-files` text output unless it
   * is false. Asked of git once, when first wanted (only a content hash reads it), where it was
   * not asked with the other queries.
   */
  quotePath: () => Promise<boolean>;
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

/**
 * Git state for each of `dirs` (absolute paths), trees taken at `commit` (default HEAD; any
 * other commit, as in LinuxKit, is never dirty). `tagsOnly` asks git only what the tags need:
 * DirState.goPkgVersion and .remote are left out (no `git show`, and `git config` only once a
 * content hash needs core.quotePath). Throws InputError for a directory outside git.
 */
export async function gitStates(shell: Shell, dirs: string[], commit = DEFAULT_HASH_COMMIT, ask: { tagsOnly?: boolean } = {}): Promise<Map<string, DirState>> {
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
      for (const [dir, state] of await repoStates(shell, hint, repoDirs, commit, ask.tagsOnly !== true)) states.set(dir, state);
    }),
  );
  return states;
}

function notInGit(dir: string) {
  return new InputError(
    `${dir}: not inside a git work tree. pkgkit derives the package tag from git: run \`git init\` and commit the package, or pass --hash <tag>`,
  );
}

async function repoStates(shell: Shell, hint: string, dirs: string[], hashCommit: string, all: boolean): Promise<Map<string, DirState>> {
  // The directory holding .git is the top level but where GIT_DIR, GIT_WORK_TREE or core.worktree
  // say otherwise: the queries start there at once, beside the rev-parse that names the top, and
  // run again at the top it names when that is another directory. One round of git processes
  // instead of two.
  const guess = canonical(hint);
  const early = repoQueries(shell, guess, dirs, hashCommit, all);
  early.catch(() => {}); // awaited below, or dropped when rev-parse fails
  const head = await git(shell, hint, ["rev-parse", "--show-toplevel", "HEAD", `${hashCommit}^{tree}`]);
  if (head.code !== 0) {
    if (/not a git repository/i.test(head.stderr)) throw notInGit(dirs[0]!);
    if (/unknown revision|ambiguous argument/.test(head.stderr))
      throw new InputError(
        hashCommit === DEFAULT_HASH_COMMIT
          ? `${hint}: the git repository has no commits yet; commit the package first, or pass --hash <tag>`
          : `--hash-commit ${JSON.stringify(hashCommit)}: not a commit of the repository at ${hint}; expected a commit, branch or tag name, e.g. HEAD~1`,
      );
    throw new InputError(`${hint}: git rev-parse failed: ${head.stderr.trim()}`);
  }
  const [top, commit, rootTree] = head.stdout.trim().split("\n") as [string, string, string];
  const { rel, lsTree, diff, lsFiles, config, version } = top === guess ? await early : await repoQueries(shell, top, dirs, hashCommit, all);
  const atHead = hashCommit === DEFAULT_HASH_COMMIT;
  for (const [name, r] of [["ls-tree", lsTree], ["diff", diff], ["ls-files", lsFiles]] as const)
    if (r && r.code !== 0) throw new InputError(`${top}: git ${name} failed: ${r.stderr.trim()}`);

  const trees = new Map<string, string>([["", rootTree]]);
  for (const entry of (lsTree?.stdout ?? "").split("\0")) {
    const m = /^\d{6} (?:tree|commit) ([0-9a-f]{40,64})\t(.*)$/s.exec(entry);
    if (m) trees.set(m[2]!, m[1]!);
  }
  const list = (out: string) => out.split("\0").filter(Boolean);
  const settingsOf = (r: ExecResult) => new Map(list(r.code === 0 ? r.stdout : "").map((kv) => [kv.slice(0, kv.indexOf("\n")), kv.slice(kv.indexOf("\n") + 1)]));
  const settings = config && settingsOf(config);
  let quotePath: Promise<boolean> | undefined;
  const files: RepoFiles = {
    tracked: [],
    untracked: [],
    quotePath: () => (quotePath ??= (settings ? Promise.resolve(settings) : configQuery(shell, top).then(settingsOf)).then((m) => !isFalse(m.get("core.quotepath")))),
  };
  for (const entry of list(lsFiles.stdout)) (entry.startsWith("? ") ? files.untracked : files.tracked).push(entry.slice(2));
  const changed = atHead ? [...new Set([...list(diff!.stdout), ...files.untracked])].sort() : [];

  const out = new Map<string, DirState>();
  for (const [dir, r] of rel) {
    const prefix = r === "" ? "" : `${r}/`;
    out.set(dir, {
      top,
      commit,
      tree: trees.get(r),
      changed: changed.filter((p) => p.startsWith(prefix)),
      remote: settings?.get("remote.origin.url") || undefined,
      files,
      ...(version?.code === 0 && version.stdout.trim() ? { goPkgVersion: `v0.0.0-${version.stdout.trim()}` } : {}),
    });
  }
  return out;
}

/** `ls-tree`, `diff`, `ls-files`, and (`all`) `config` and `show` over `dirs`, at once, in the work tree whose top is `top`. */
async function repoQueries(shell: Shell, top: string, dirs: string[], hashCommit: string, all: boolean) {
  const rel = new Map(dirs.map((d) => [d, relative(top, d).split(sep).join("/")]));
  for (const [d, r] of rel) if (r.startsWith("..")) throw new InputError(`${d}: outside the git work tree at ${top}`);
  const paths = [...new Set(rel.values())].filter((r) => r !== "");
  const spec = rel.size > paths.length ? ["."] : covering(paths); // a package at the top covers everything
  // Many paths: list every tree under their parents once (-r -d) instead of matching each path.
  // -t: a directory that holds another one asked for (--hash-path's parent) is listed too.
  const treeSpec = paths.length > 32 ? ["-r", "-d", hashCommit, "--", ...covering(paths)] : ["-t", hashCommit, "--", ...paths];
  const atHead = hashCommit === DEFAULT_HASH_COMMIT;
  const [lsTree, diff, lsFiles, config, version] = await Promise.all([
    paths.length ? git(shell, top, ["ls-tree", "--full-tree", "-z", ...treeSpec]) : undefined,
    atHead ? git(shell, top, ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "HEAD", "--", ...spec]) : undefined,
    // Tracked and untracked at once, told apart by -t's tag ("? " untracked), each list in git's order.
    git(shell, top, ["ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--", ...spec]),
    all ? configQuery(shell, top) : undefined,
    all ? git(shell, top, ["--no-pager", "show", "--quiet", "--abbrev=12", "--date=format-local:%Y%m%d%H%M%S", "--format=%cd-%h", "HEAD"]) : undefined,
  ]);
  return { rel, lsTree, diff, lsFiles, config, version };
}

/** The settings pkgkit reads: remote.origin.url (the source label) and core.quotePath (contentHash). */
const configQuery = (shell: Shell, top: string) => git(shell, top, ["config", "-z", "--get-regexp", "^(remote\\.origin\\.url|core\\.quotepath)$"]);

/** Git's false: false, no, off, 0 (any case). */
const isFalse = (v: string | undefined) => v !== undefined && /^(false|no|off|0)$/i.test(v.trim());

/**
 * LinuxKit's contentHash of a directory (hex sha256): the bytes of each regular file among the
 * names `git -C <dir> ls-files` prints, then those `git -C <dir> ls-files --exclude-standard
 * --others` prints, in that order, read as LinuxKit reads that text: the two outputs joined by a
 * newline and trimmed of white space at both ends, then one name a line. A name that is gone
 * (a deleted file), a directory, a symbolic link, or a name git prints quoted (one with a control
 * character, `"` or `\`, or, unless core.quotePath is false, a byte above 0x7f) names nothing
 * LinuxKit can open, and adds nothing. Paths do not count, only contents.
 */
export async function contentHash(state: DirState, dir: string): Promise<string> {
  const r = relative(state.top, dir).split(sep).join("/");
  const prefix = r === "" ? "" : `${r}/`;
  const under = (names: string[]) => names.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
  const quotePath = await state.files.quotePath();
  // A quoted name stands as one opaque token: it starts with '"', so trimming never reaches into it.
  const shown = (names: string[]) => names.map((n) => (quoted(n, quotePath) ? QUOTED : n)).map((n) => `${n}\n`).join("");
  const text = goTrimSpace(`${shown(under(state.files.tracked))}\n${shown(under(state.files.untracked))}`);
  const h = nodeCrypto().createHash("sha256");
  // Loaded by the first dirty package: node:fs/promises brings readline with it, which a start
  // that hashes nothing (through lib/bin.cjs, no ES module loader) never loads.
  const { lstat, readFile } = await import("node:fs/promises");
  for (const line of text.split("\n")) {
    if (line === QUOTED) continue;
    const file = join(dir, line);
    const info = await lstat(file).catch(() => undefined);
    if (!info?.isFile()) continue;
    const bytes = await readFile(file).catch(() => undefined);
    if (bytes) h.update(bytes);
  }
  return h.digest("hex");
}

const QUOTED = '"\0';

/** Whether `git ls-files` (text output) prints a name quoted, as git's quote_c_style decides. */
function quoted(name: string, quotePath: boolean): boolean {
  for (const byte of Buffer.from(name, "utf8")) if (byte < 0x20 || byte === 0x22 || byte === 0x5c || byte === 0x7f || (quotePath && byte >= 0x80)) return true;
  return false;
}

/** Go's strings.TrimSpace: Unicode White_Space at both ends. */
const goTrimSpace = (s: string) => s.replace(/^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g, "");
