// Content tags on throwaway git repositories (real git, no engine).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type ResolveOptions } from "../../lib/package.ts";
import { defaultShell, type Shell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";
import { lsTree, must, tmpRepo } from "../helpers.ts";

const shell = await defaultShell();
const def = (dir: string, spec: Record<string, unknown> = {}) => makeDefinition({ image: "app", ...spec }, join(dir, "pkg.config.ts"));
const resolveOne = async (dir: string, spec: Record<string, unknown> = {}, options: ResolveOptions = {}) =>
  (await resolvePackages(shell, [def(dir, spec)], options))[0]!;
const tagOf = async (dir: string, spec: Record<string, unknown> = {}, options: ResolveOptions = {}) => (await resolveOne(dir, spec, options)).tag;

test("clean tag equals git ls-tree's tree hash, byte for byte", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n", "pkg/app/file": "x\n", "other/f": "y\n" });
  const p = await resolveOne(join(repo.dir, "pkg/app"));
  assert.is(p.tag, lsTree(repo.dir, "pkg/app"));
  assert.is(p.dirty, false);
  assert.is(p.repository, "linuxkit/app");
  repo.rm();
});

test("a package at the top of the repository uses the commit's root tree", async () => {
  const repo = tmpRepo({ Dockerfile: "FROM scratch\n" });
  const root = must(["git", "rev-parse", "HEAD^{tree}"], repo.dir).trim();
  assert.is(await tagOf(repo.dir), root);
  repo.rm();
});

test("a modified file and an untracked file each give a dirty tag; different edits differ", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n", "pkg/app/.gitignore": "*.log\n" });
  const dir = join(repo.dir, "pkg/app");
  const clean = lsTree(repo.dir, "pkg/app");

  repo.write("pkg/app/Dockerfile", "FROM scratch\nLABEL a=1\n");
  const edit1 = await resolveOne(dir);
  assert.ok(edit1.dirty);
  assert.match(edit1.tag, new RegExp(`^${clean}-dirty-[0-9a-f]{7}$`));
  assert.is(await tagOf(dir), edit1.tag, "same dirty state, same tag");

  repo.write("pkg/app/Dockerfile", "FROM scratch\nLABEL a=2\n");
  const edit2 = await tagOf(dir);
  assert.match(edit2, /-dirty-[0-9a-f]{7}$/);
  assert.is.not(edit2, edit1.tag, "different edit, different tag");

  repo.write("pkg/app/Dockerfile", "FROM scratch\n");
  assert.is(await tagOf(dir), clean, "edit reverted: clean again");

  repo.write("pkg/app/new-file", "untracked\n");
  const untracked = await tagOf(dir);
  assert.match(untracked, new RegExp(`^${clean}-dirty-[0-9a-f]{7}$`));
  repo.write("pkg/app/new-file", "untracked, other content\n");
  assert.is.not(await tagOf(dir), untracked);
  unlinkSync(join(dir, "new-file"));

  unlinkSync(join(dir, "Dockerfile"));
  assert.match(await tagOf(dir), /-dirty-[0-9a-f]{7}$/, "a deleted file is a change");
  repo.write("pkg/app/Dockerfile", "FROM scratch\n");
  repo.rm();
});

test("the dirty suffix is LinuxKit's contentHash: sha256 of the tracked files' contents, then the untracked ones', in ls-files order", async () => {
  const repo = tmpRepo({ ".gitignore": "*.log\n", "pkg/app/b": "bee\n", "pkg/app/a": "ay\n", "pkg/app/sub/z": "zed\n", "pkg/app/gone": "x\n" });
  const dir = join(repo.dir, "pkg/app");
  const tree = lsTree(repo.dir, "pkg/app");
  repo.write("pkg/app/b", "bee, edited\n");
  unlinkSync(join(dir, "gone")); // listed by ls-files, gone from disk: adds nothing
  repo.write("pkg/app/c-new", "sea\n");
  repo.write("pkg/app/noise.log", "ignored\n");
  symlinkSync("a", join(dir, "link")); // untracked symlink: adds nothing
  // Tracked in index order (a, b, gone, sub/z), then untracked (c-new, link); names do not count.
  const digest = createHash("sha256").update("ay\n").update("bee, edited\n").update("zed\n").update("sea\n").digest("hex");
  const p = await resolveOne(dir);
  assert.is(p.tag, `${tree}-dirty-${digest.slice(0, 7)}`);
  assert.equal(p.dirtyReasons, ["uncommitted changes in pkg/app"]);
  repo.rm();
});

test("--force-dirty adds the content hash to a clean package; --hash-commit takes an older tree and is never dirty", async () => {
  const repo = tmpRepo({ "pkg/app/a": "1\n" });
  const dir = join(repo.dir, "pkg/app");
  const first = lsTree(repo.dir, "pkg/app");
  repo.write("pkg/app/a", "2\n");
  repo.commit();
  const forced = await resolveOne(dir, {}, { forceDirty: true });
  assert.is(forced.tag, `${lsTree(repo.dir, "pkg/app")}-dirty-${createHash("sha256").update("2\n").digest("hex").slice(0, 7)}`);
  assert.equal(forced.dirtyReasons, ["--force-dirty"]);
  repo.write("pkg/app/a", "3\n");
  const old = await resolveOne(dir, {}, { hashCommit: "HEAD~1" });
  assert.is(old.tag, first, "at another commit than HEAD nothing is dirty, as in LinuxKit");
  repo.rm();
});

test("--hash-path: the parent's tree and dirtiness, the package directory's content hash", async () => {
  const repo = tmpRepo({ "top/pkg/app/a": "1\n", "top/other": "o\n" });
  const dir = join(repo.dir, "top/pkg/app");
  const hashPath = join(repo.dir, "top");
  assert.is(await tagOf(dir, {}, { hashPath }), lsTree(repo.dir, "top"));
  repo.write("top/other", "changed\n");
  assert.is(await tagOf(dir, {}, { hashPath }), `${lsTree(repo.dir, "top")}-dirty-${createHash("sha256").update("1\n").digest("hex").slice(0, 7)}`);
  assert.is(await tagOf(dir), lsTree(repo.dir, "top/pkg/app"), "without it, a change beside the package is not the package's");
  const err = await resolveOne(dir, {}, { hashPath: join(repo.dir, "elsewhere") }).then(() => undefined, (e: Error) => e);
  assert.match(err!.message, `--hash-path "${join(repo.dir, "elsewhere")}": not a parent of the package directory ${dir}`);
  repo.rm();
});

test("an ignored file, and a change outside the package, change nothing", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n", "pkg/app/.gitignore": "*.log\n", "elsewhere/f": "1\n" });
  const dir = join(repo.dir, "pkg/app");
  const clean = await tagOf(dir);
  repo.write("pkg/app/build.log", "noise\n");
  repo.write("elsewhere/f", "2\n");
  repo.write("elsewhere/new", "3\n");
  assert.is(await tagOf(dir), clean);
  assert.is(clean, lsTree(repo.dir, "pkg/app"));
  repo.rm();
});

test("--hash overrides the computed tag, even when dirty; the template still applies", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "pkg/app");
  repo.write("pkg/app/x", "dirty\n");
  const p = await resolveOne(dir, {}, { hash: "foo" });
  assert.is(p.tag, "foo");
  assert.is(p.dirty, false);
  assert.is(await tagOf(dir, { tag: "v2-{{.Hash}}" }, { hash: "foo" }), "v2-foo");
  const err = await resolveOne(dir, {}, { hash: "bad tag" }).then(() => undefined, (e: Error) => e);
  assert.instance(err, InputError);
  assert.is(err!.message, `--hash "bad tag": expected a tag: letters, digits, "_", "." and "-", at most 128 characters`);
  repo.rm();
});

test("extra sources fold in as LinuxKit does: sha1(tree + extra trees)", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n", "common/a": "1\n", "vendor/b": "2\n" });
  const dir = join(repo.dir, "pkg/app");
  const spec = { extraSources: ["../../common:/common", { src: "../../vendor", dst: "/vendor" }] };
  const expected = createHash("sha1")
    .update(lsTree(repo.dir, "pkg/app") + lsTree(repo.dir, "common") + lsTree(repo.dir, "vendor"))
    .digest("hex");
  assert.is(await tagOf(dir, spec), expected);
  repo.write("common/a", "changed\n");
  assert.match(await tagOf(dir, spec), new RegExp(`^${expected}-dirty-[0-9a-f]{7}$`), "a dirty extra source dirties the tag");
  repo.commit();
  const after = await tagOf(dir, spec);
  assert.is.not(after, expected, "a committed change in an extra source changes the tag");
  assert.is(await tagOf(dir), lsTree(repo.dir, "pkg/app"), "without extra sources: plain tree hash");
  repo.rm();
});

test("tag template, org precedence and names", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "pkg/app");
  const tree = lsTree(repo.dir, "pkg/app");
  const p = await resolveOne(dir, { org: "fileorg", tag: "v1-{{.Hash}}" });
  assert.is(p.tag, `v1-${tree}`);
  assert.is(p.repository, "fileorg/app");
  assert.is((await resolveOne(dir, { org: "fileorg" }, { org: "127.0.0.1:5000/demo" })).repository, "127.0.0.1:5000/demo/app");
  repo.rm();
});

test("labels: source from gitrepo, else from remote origin; revision is HEAD; user labels kept", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "pkg/app");
  const head = must(["git", "rev-parse", "HEAD"], repo.dir).trim();
  const tool = { "org.mobyproject.linuxkit.version": "pkgkit v0.1.0", "org.mobyproject.linuxkit.revision": "unknown" };
  assert.equal((await resolveOne(dir)).labels, { "org.opencontainers.image.revision": head, ...tool });
  must(["git", "remote", "add", "origin", "https://example.invalid/team/repo.git"], repo.dir);
  assert.equal((await resolveOne(dir, { labels: { team: "core" } })).labels, {
    "org.opencontainers.image.source": "https://example.invalid/team/repo.git",
    "org.opencontainers.image.revision": head,
    ...tool,
    team: "core",
  });
  const p = await resolveOne(dir, { gitrepo: "https://example.invalid/other", config: { binds: ["/a:/a"] } });
  assert.is(p.labels["org.opencontainers.image.source"], "https://example.invalid/other");
  assert.is(p.labels["org.mobyproject.config"], '{"binds":["/a:/a"]}');
  repo.rm();
});

test("outside git, and in a repository without commits: clear errors", async () => {
  const plain = mkdtempSync(join(tmpdir(), "pkgkit-nogit-"));
  writeFileSync(join(plain, "Dockerfile"), "FROM scratch\n");
  try {
    await resolveOne(plain);
    assert.unreachable("should fail outside git");
  } catch (e) {
    assert.instance(e, InputError);
    assert.is((e as Error).message, `${plain}: not inside a git work tree. pkgkit derives the package tag from git: run \`git init\` and commit the package, or pass --hash <tag>`);
  }
  assert.is(await tagOf(plain, {}, { hash: "dev" }), "dev", "--hash works outside git");
  rmSync(plain, { recursive: true });

  const empty = tmpRepo();
  try {
    await resolveOne(empty.dir);
    assert.unreachable("should fail without commits");
  } catch (e) {
    assert.match((e as Error).message, /the git repository has no commits yet; commit the package first, or pass --hash <tag>$/);
  }
  empty.rm();
});

test("an uncommitted package directory is an error that says how to fix it", async () => {
  const repo = tmpRepo({ "README": "x\n" });
  repo.write("pkg/new/Dockerfile", "FROM scratch\n");
  try {
    await resolveOne(join(repo.dir, "pkg/new"));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /pkg\/new: not committed to git, so it has no tree hash; `git add` and commit it, or pass --hash <tag>$/);
  }
  repo.rm();
});

test("the number of git processes does not grow with the number of packages", async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`pkgs/p${i}/Dockerfile`] = `FROM scratch\n# ${i}\n`;
  const repo = tmpRepo(files);
  repo.write("pkgs/p3/dirty", "x\n");
  const counting = (): Shell & { calls: string[][] } => {
    const calls: string[][] = [];
    return { name: shell.name, calls, exec: (argv, o) => (calls.push([...argv]), shell.exec(argv, o)) };
  };
  const defs = (n: number) => Array.from({ length: n }, (_, i) => def(join(repo.dir, `pkgs/p${i}`)));
  const one = counting();
  await resolvePackages(one, defs(1));
  const many = counting();
  const pkgs = await resolvePackages(many, defs(40));
  assert.is(many.calls.length, one.calls.length);
  assert.ok(many.calls.every((c) => c[0] === "git"));
  // rev-parse, ls-tree, diff, ls-files, config and show.
  assert.ok(many.calls.length <= 6, `${many.calls.length} git calls`);
  for (let i = 0; i < 40; i++) {
    if (i === 3) assert.match(pkgs[i]!.tag, /-dirty-/);
    else assert.is(pkgs[i]!.tag, lsTree(repo.dir, `pkgs/p${i}`));
  }
  repo.rm();
});

test("git is asked in one round: rev-parse beside the other queries, which run again at the top it names when that is not where .git was found", async () => {
  const repo = tmpRepo({ "a/p/Dockerfile": "FROM scratch\n", "a/p/f": "x\n" });
  const tracking = (): Shell & { calls: string[][]; most: number } => {
    let running = 0;
    const t = {
      name: shell.name,
      calls: [] as string[][],
      most: 0,
      exec: async (argv: readonly string[], o?: Parameters<Shell["exec"]>[1]) => {
        t.calls.push([...argv]);
        t.most = Math.max(t.most, ++running);
        try {
          return await shell.exec(argv, o);
        } finally {
          running--;
        }
      },
    };
    return t;
  };
  const dir = join(repo.dir, "a/p");
  const plain = tracking();
  const [clean] = await resolvePackages(plain, [def(dir)]);
  assert.is(clean!.tag, lsTree(repo.dir, "a/p"));
  // rev-parse, ls-tree, diff, ls-files, config and show, all running at once.
  assert.is(plain.calls.length, 6);
  assert.is(plain.most, 6, "one round of git processes");
  assert.match(clean!.buildInfo.GOPKGVERSION ?? "", /^v0\.0\.0-\d{14}-[0-9a-f]{12}$/);
  // show-tag builds nothing: no GOPKGVERSION nor source label, so neither `git show` nor `git
  // config`; the tag is the same.
  must(["git", "remote", "add", "origin", "https://example.invalid/r.git"], repo.dir);
  const labelled = (await resolvePackages(shell, [def(dir)]))[0]!;
  assert.is(labelled.labels["org.opencontainers.image.source"], "https://example.invalid/r.git");
  const tagsOnly = tracking();
  const [same] = await resolvePackages(tagsOnly, [def(dir)], { tagsOnly: true });
  assert.is(same!.tag, clean!.tag);
  assert.is(same!.buildInfo.GOPKGVERSION, undefined);
  assert.is(same!.labels["org.opencontainers.image.source"], undefined);
  assert.equal(tagsOnly.calls.map((c) => c[3]), ["ls-tree", "diff", "ls-files", "rev-parse"]);
  // A dirty package's content hash needs core.quotePath: then, and only then, git config is asked.
  repo.write("a/p/é.txt", "quoted unless core.quotePath is false\n");
  must(["git", "config", "core.quotePath", "false"], repo.dir);
  const full = (await resolvePackages(shell, [def(dir)]))[0]!;
  const dirtyOnly = tracking();
  const [dirty] = await resolvePackages(dirtyOnly, [def(dir)], { tagsOnly: true });
  assert.match(dirty!.tag, /-dirty-[0-9a-f]{7}$/);
  assert.is(dirty!.tag, full.tag);
  assert.equal(dirtyOnly.calls.map((c) => c[3]), ["ls-tree", "diff", "ls-files", "rev-parse", "config"]);
  must(["git", "config", "--unset", "core.quotePath"], repo.dir);
  assert.is.not((await resolvePackages(shell, [def(dir)], { tagsOnly: true }))[0]!.tag, dirty!.tag, "core.quotePath read, not assumed");
  unlinkSync(join(repo.dir, "a/p/é.txt"));
  // An empty a/.git is where pkgkit looks first, but git skips it: the top is the repository's.
  mkdirSync(join(repo.dir, "a/.git"));
  const moved = tracking();
  const [again] = await resolvePackages(moved, [def(dir)]);
  assert.is(again!.tag, clean!.tag);
  assert.is(again!.dirty, false);
  assert.is(moved.calls.length, 11, "the five queries again, at the top");
  assert.equal(moved.calls.slice(6).map((c) => c[2]), Array(5).fill(repo.dir));
  repo.rm();
});

async function errorOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: Error) => e);
  if (!err) throw new Error("expected an error");
  assert.instance(err, InputError);
  return err.message;
}

test("a tag must fit with its longest -<arch> suffix: the longest arch name decides, in whatever order the arches are listed", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "pkg/app");
  const tree = lsTree(repo.dir, "pkg/app");
  // 40 hex characters of tree hash: 80 + 40 + "-riscv64" is 128, the most a tag has.
  for (const arches of [["amd64", "riscv64"], ["riscv64", "amd64"]]) {
    assert.is(await tagOf(dir, { tag: `${"v".repeat(80)}{{.Hash}}`, arches }), `${"v".repeat(80)}${tree}`, arches.join(","));
    const tag = `${"v".repeat(81)}${tree}`;
    assert.is(
      await errorOf(tagOf(dir, { tag: `${"v".repeat(81)}{{.Hash}}`, arches })),
      `${join(dir, "pkg.config.ts")}: field "tag": the tag "${tag}" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters with the -<arch> suffix)`,
      `${arches.join(",")}: ${tag}-riscv64 has 129 characters (${tag}-amd64 would fit)`,
    );
  }
  repo.rm();
});

test("--hash too long for a package's tag: the flag is blamed, with the longest hash that fits; a template too long by itself is the file's fault", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-hash-length-"));
  const file = join(dir, "pkg.config.ts");
  // "v-<hash>.<hash>-amd64": 9 characters and the hash twice; a hash of 59 fits (127), 60 does not.
  const twice = { tag: "v-{{.Hash}}.{{.Hash}}", arches: ["amd64"] };
  const fits = "h".repeat(59);
  assert.is(await tagOf(dir, twice, { hash: fits }), `v-${fits}.${fits}`);
  assert.match(await errorOf(tagOf(dir, twice, { hash: "h".repeat(60) })), "-amd64, 129 characters; a tag has at most 128, so use a hash of at most 59 characters");
  const long = "h".repeat(70);
  assert.is(
    await errorOf(tagOf(dir, twice, { hash: long })),
    `--hash "${long}": too long for ${file}: its tag would be v-${long}.${long}-amd64, 149 characters; a tag has at most 128, so use a hash of at most 59 characters`,
  );
  assert.match(await errorOf(tagOf(dir, { tag: "{{.Hash}}", arches: ["ppc64le"] }, { hash: "h".repeat(121) })), "so use a hash of at most 120 characters");
  // Arches of the same length: the last one listed is named.
  assert.match(await errorOf(tagOf(dir, { tag: "{{.Hash}}", arches: ["amd64", "arm64"] }, { hash: "h".repeat(123) })), `its tag would be ${"h".repeat(123)}-arm64, 129 characters`);
  // The template with a one-character hash is already 123 characters, too long with "-amd64": --hash is not to blame.
  const template = `${"t".repeat(122)}{{.Hash}}`;
  assert.is(
    await errorOf(tagOf(dir, { tag: template, arches: ["amd64"] }, { hash: "h" })),
    `${file}: field "tag": the tag "${"t".repeat(122)}h" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters with the -<arch> suffix)`,
  );
  rmSync(dir, { recursive: true });
});

test("a repository name has at most 255 characters; too long names the org's source: --org, PKGKIT_ORG or the package file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-name-length-"));
  const file = join(dir, "pkg.config.ts");
  const org = (n: number) => `${"o".repeat(100)}/${"p".repeat(100)}/${"q".repeat(n - 202)}`;
  // org + "/app": 255 characters fit, 256 do not.
  assert.is((await resolveOne(dir, {}, { hash: "h", org: org(251) })).repository.length, 255);
  const repository = `${org(252)}/app`;
  assert.is(
    await errorOf(resolveOne(dir, {}, { hash: "h", org: org(252) })),
    `--org "${org(252)}": too long for ${file}: the repository name ${repository} would have 256 characters, and one has at most 255`,
  );
  assert.match(await errorOf(resolveOne(dir, {}, { hash: "h", org: org(252), orgSource: "PKGKIT_ORG" })), `PKGKIT_ORG "${org(252)}": too long for ${file}`);
  assert.is(await errorOf(resolveOne(dir, { org: org(252) }, { hash: "h" })), `${file}: the repository name "${repository}" is longer than 255 characters`);
  rmSync(dir, { recursive: true });
});

test("the run's org is checked before any package is looked at; a workspace's bad org names the workspace file", async () => {
  assert.is(await errorOf(resolvePackages(shell, [], { org: "Bad Org" })), `--org "Bad Org": use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/`);
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-ws-org-"));
  const workspace = { dir, file: join(dir, "pkgkit.config.ts"), org: "Bad Org" };
  const inside = join(dir, "pkgs/app");
  assert.is(
    await errorOf(resolveOne(inside, {}, { hash: "h", workspace })),
    `${workspace.file}: field "org": use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/ (got "Bad Org")`,
  );
  assert.match(await errorOf(resolveOne(inside, {}, { hash: "h", workspace: { dir, org: "Bad Org" } })), `${dir}: field "org"`, "no pkgkit.config.ts: the directory");
  rmSync(dir, { recursive: true });
});

test("extra sources: an uncommitted one is named as such; the dirty reason lists only the directories with changes", async () => {
  const repo = tmpRepo({ "pkg/app/Dockerfile": "FROM scratch\n", "common/a": "1\n" });
  const dir = join(repo.dir, "pkg/app");
  const spec = { extraSources: ["../../common:/common"] };
  assert.equal((await resolveOne(dir, spec)).dirtyReasons, []);
  repo.write("common/a", "2\n");
  assert.equal((await resolveOne(dir, spec)).dirtyReasons, ["uncommitted changes in common"]);
  repo.write("pkg/app/b", "new\n");
  assert.equal((await resolveOne(dir, spec)).dirtyReasons, ["uncommitted changes in pkg/app, common"]);
  repo.write("common/a", "1\n");
  assert.equal((await resolveOne(dir, spec)).dirtyReasons, ["uncommitted changes in pkg/app"]);

  repo.write("vendor/v", "not committed\n");
  assert.is(
    await errorOf(resolveOne(dir, { extraSources: ["../../vendor:/vendor"] })),
    `${join(repo.dir, "vendor")}: not committed to git, so it has no tree hash; \`git add\` and commit it (an extra source of ${join(dir, "pkg.config.ts")}), or pass --hash <tag>`,
  );
  repo.rm();
});

test.run();
