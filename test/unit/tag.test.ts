// Content tags on throwaway git repositories (real git, no engine).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync } from "node:fs";
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
  // rev-parse, then ls-tree, diff, ls-files, config and show.
  assert.ok(many.calls.length <= 6, `${many.calls.length} git calls`);
  for (let i = 0; i < 40; i++) {
    if (i === 3) assert.match(pkgs[i]!.tag, /-dirty-/);
    else assert.is(pkgs[i]!.tag, lsTree(repo.dir, `pkgs/p${i}`));
  }
  repo.rm();
});

test.run();
