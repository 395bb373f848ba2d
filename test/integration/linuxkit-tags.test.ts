// `pkgkit show-tag` against the real `linuxkit pkg show-tag` (test/linuxkit.ts finds it): a throwaway
// repository of packages in LinuxKit's shapes, clean and in each kind of dirty state, under
// LinuxKit's flags, one call per package and one batched call. No tag here is typed by hand: the
// expected output is whatever the linuxkit binary prints for the same repository.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { BIN, must, pkgkit, sh, shAsync, tmpRepo } from "../helpers.ts";
import { linuxkitOracle } from "../linuxkit.ts";

const oracle = linuxkitOracle();
if ("missing" in oracle) console.log(`skipping linuxkit-tags: ${oracle.missing}`);

// Both tools get the same environment: no org from the caller's, a known $USER for --dev.
const ENV = { PKGKIT_ORG: "", LINUXKIT_PKG_ORG: "", USER: "tester" };

const repo = tmpRepo({
  ".gitignore": "*.log\n",
  "plain/build.yml": "image: plain\n",
  "plain/Dockerfile": "FROM scratch\nCOPY . /\n",
  // Go reads a null as "leave the default": arches, org, tag.
  "nulls/build.yml": "image: nulls\nnetwork: true\narches: \norg: ~\ntag:\n",
  "nulls/Dockerfile": "FROM scratch\n",
  "fixed/build.yml": "image: fixed\ntag: file\n",
  // Go reads any scalar into a string field as written: tag "1.0", org "2024".
  "numeric/build.yml": "image: numeric\norg: 2024\ntag: 1.0\n",
  "numeric/Dockerfile": "FROM scratch\n",
  "fixed/Dockerfile": "FROM scratch\n",
  "fixed/a.txt": "a\n",
  "spaced/build.yml": 'image: spaced\ntag: "v1-{{ .Hash }}-{{.Hash}}"\n',
  "spaced/Dockerfile": "FROM scratch\n",
  "spaced/run.sh": "echo hi\n",
  "orgs/build.yml": "image: orgs\norg: example\n",
  "orgs/Dockerfile": "FROM scratch\n",
  "nested/group/deep/build.yml": "image: deep\norg: example\n",
  "nested/group/deep/Dockerfile": "FROM scratch\n",
  "nested/group/other/build.yml": "image: other\n",
  "nested/group/other/Dockerfile": "FROM scratch\n",
  "extra/build.yml": "image: extra\nextra-sources:\n  - ../common:/common\n",
  "extra/Dockerfile": "FROM scratch\nCOPY common /common\n",
  "common/c.txt": "shared\n",
  "df/build.yml": "image: df\ndockerfile: sub/Dockerfile\n",
  "df/sub/Dockerfile": "FROM scratch\n",
  "kernel/common/build-kernel.yml": "image: kernel\nnetwork: true\ndockerfile: common/Dockerfile\n",
  "kernel/common/Dockerfile": "FROM scratch\n",
});
// A second commit, so that --hash-commit HEAD~1 names other trees.
repo.write("plain/Dockerfile", "FROM scratch\nCOPY . /\nLABEL v=2\n");
repo.write("spaced/more.txt", "more\n");
repo.commit();

const PKGS = ["plain", "nulls", "fixed", "numeric", "spaced", "orgs", "nested/group/deep", "nested/group/other", "extra", "df"];

/** Each dirty kind in a package of its own; `nulls` gets only an ignored file, so it stays clean. */
function makeDirty(): void {
  repo.write("plain/Dockerfile", "FROM scratch\nCOPY . /\nLABEL v=3\n"); // modified
  unlinkSync(join(repo.dir, "fixed/a.txt")); // deleted
  repo.write("orgs/new.txt", "untracked\n"); // untracked
  repo.write("nulls/build.log", "ignored\n"); // ignored only
  chmodSync(join(repo.dir, "spaced/run.sh"), 0o755); // mode only
  repo.write("df/staged.txt", "staged\n"); // added to the index
  must(["git", "add", "df/staged.txt"], repo.dir);
  // Names git prints quoted (LinuxKit cannot open them), a symlink, a name with spaces, and a
  // modified tracked file that sorts after the untracked ones.
  repo.write("nested/group/deep/é.txt", "quoted unless core.quotePath is false\n");
  repo.write("nested/group/deep/with space.txt", "space\n");
  symlinkSync("Dockerfile", join(repo.dir, "nested/group/deep/link"));
  repo.write("nested/group/deep/Dockerfile", "FROM scratch\n# edited\n");
  repo.write("extra/notes.txt", "in the package, not in its extra source\n");
  repo.write("kernel/common/Dockerfile", "FROM scratch\n# edited\n");
}

const linuxkit = (args: string[], env: Record<string, string> = {}) =>
  sh([(oracle as { bin: string }).bin, "pkg", "show-tag", ...args], repo.dir, { ...ENV, ...env });
const ours = (args: string[], env: Record<string, string> = {}) => pkgkit(["show-tag", ...args], { cwd: repo.dir, env: { ...ENV, ...env } });
const oursAsync = (args: string[], env: Record<string, string> = {}) => shAsync([process.execPath, BIN, "show-tag", ...args], repo.dir, { ...ENV, ...env });

/** The same answer: both succeed with the same stdout, or both fail. pkgkit runs beside the oracle. */
async function same(args: string[], env: Record<string, string> = {}, what = args.join(" ")): Promise<void> {
  const pending = oursAsync(args, env);
  const want = linuxkit(args, env);
  const got = await pending;
  if (want.code !== 0) {
    assert.is.not(got.code, 0, `${what}: linuxkit failed (${want.stderr.trim()}), pkgkit printed ${got.stdout}`);
    return;
  }
  assert.is(got.code, 0, `${what}: pkgkit failed: ${got.stderr}`);
  assert.is(got.stdout, want.stdout, what);
}

/** LinuxKit's flags, each over every package in one call; `dirtyOnly`: flags whose answer does not depend on the state, tried once. */
const FLAG_SETS: { args: string[]; env?: Record<string, string>; dirs?: string[]; dirtyOnly?: true }[] = [
  { args: [] },
  { args: ["--force-dirty"] },
  { args: ["--tag", "t-{{.Hash}}"] },
  { args: ["--tag", "fixed-text"], dirtyOnly: true },
  { args: ["--hash", "h1"], dirtyOnly: true },
  { args: ["--dev"], dirtyOnly: true },
  { args: ["--dev", "--hash", "h2", "--org", "o"], dirtyOnly: true },
  { args: ["--canonical"], dirtyOnly: true },
  { args: ["--org", "127.0.0.1:5000/x", "--canonical"], dirtyOnly: true },
  { args: ["--org", "wombat"], env: { LINUXKIT_PKG_ORG: "lk" }, dirtyOnly: true },
  { args: [], env: { LINUXKIT_PKG_ORG: "lk" }, dirtyOnly: true },
  { args: ["--dev"], env: { LINUXKIT_PKG_ORG: "lk" }, dirtyOnly: true },
  { args: ["--hash-commit", "HEAD~1"] },
  { args: ["--hash-commit", "HEAD~1", "--force-dirty"], dirtyOnly: true },
  { args: ["--hash-path", "nested"], dirs: ["nested/group/deep", "nested/group/other"] },
  { args: ["--hash-path", "nested/group", "--force-dirty"], dirs: ["nested/group/deep", "nested/group/other"], dirtyOnly: true },
  { args: ["--build-yml", "common/build-kernel.yml"], dirs: ["kernel"] },
  { args: ["--build-yml", "common/build-kernel.yml", "--tag", "6.6-{{.Hash}}", "--hash", "abc"], dirs: ["kernel"], dirtyOnly: true },
];

/** The flag sets over all their packages in one call each, then (dirty) each package alone; two at a time (2 cores). */
async function compareAll(state: "clean" | "dirty"): Promise<void> {
  const calls = [
    ...FLAG_SETS.filter((f) => state === "dirty" || !f.dirtyOnly).map(
      (f) => () => same([...f.args, ...(f.dirs ?? PKGS)], f.env, `${state}: show-tag ${f.args.join(" ")}${f.env ? ` (${JSON.stringify(f.env)})` : ""}`),
    ),
    ...(state === "dirty" ? PKGS.map((dir) => () => same([dir], {}, `${state}: show-tag ${dir} alone`)) : []),
  ];
  for (let i = 0; i < calls.length; i += 2) await Promise.all(calls.slice(i, i + 2).map((c) => c()));
}

if ("bin" in oracle) {
  test("clean: every package gives linuxkit's tag under the flags that read git", async () => {
    await compareAll("clean");
  });

  test("dirty (modified, deleted, untracked, ignored only, mode, staged, quoted names, symlink): linuxkit's tags under every flag, batched and one package per call", async () => {
    makeDirty();
    const tags = linuxkit(["--tag", "{{.Hash}}", ...PKGS]).stdout.split("\n");
    // The fixture means what it says: each dirty kind but "ignored only" dirties its package; one is left alone.
    const clean = ["nulls", "numeric", "nested/group/other"];
    for (const [i, dir] of PKGS.entries()) assert.is(/-dirty-[0-9a-f]{7}$/.test(tags[i]!), !clean.includes(dir), `${dir}: ${tags[i]}`);
    await compareAll("dirty");
  });

  test("dirty with core.quotePath false: names with bytes above 0x7f are read, as LinuxKit then reads them", async () => {
    const before = linuxkit(["nested/group/deep"]).stdout;
    must(["git", "config", "core.quotePath", "false"], repo.dir);
    try {
      assert.is.not(linuxkit(["nested/group/deep"]).stdout, before, "the setting changes LinuxKit's content hash");
      await same(PKGS);
      await same(["--force-dirty", ...PKGS]);
    } finally {
      must(["git", "config", "--unset", "core.quotePath"], repo.dir);
    }
  });

  test("a dirty extra source: LinuxKit keeps the clean tag, pkgkit adds -dirty- (a difference by design)", () => {
    const clean = linuxkit(["extra"]).stdout.trim().replace(/-dirty-[0-9a-f]{7}$/, "");
    rmSync(join(repo.dir, "extra/notes.txt"));
    repo.write("common/c.txt", "changed\n");
    try {
      assert.is(linuxkit(["extra"]).stdout.trim(), clean);
      assert.match(ours(["extra"]).stdout.trim(), new RegExp(`^${clean.replace(/[.:/]/g, "\\$&")}-dirty-[0-9a-f]{7}$`));
    } finally {
      repo.write("common/c.txt", "shared\n");
    }
  });
}

test("Go-style -org=x and -tag=x give what --org x and --tag x give", () => {
  const a = ours(["-org=wombat", "-tag=v-{{.Hash}}", "plain"]);
  assert.is(a.code, 0, a.stderr);
  assert.is(a.stdout, ours(["--org", "wombat", "--tag", "v-{{.Hash}}", "plain"]).stdout);
  assert.match(a.stdout, /^wombat\/plain:v-[0-9a-f]{40}/);
});

test("a tag template with another action: exit 2 naming the file, field, value and expected form; --tag likewise", () => {
  repo.write("bad/build.yml", 'image: bad\ntag: "{{.Hash}}-{{.Arch}}"\n');
  repo.write("bad/Dockerfile", "FROM scratch\n");
  const r = ours(["bad"]);
  assert.is(r.code, 2);
  assert.is(
    r.stderr.trim(),
    `pkgkit: ${join(repo.dir, "bad/build.yml")}:2:6: field "tag": "{{.Arch}}" is a template action pkgkit does not support; the only action a tag may hold is {{.Hash}}; expected text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1" (got "{{.Hash}}-{{.Arch}}")`,
  );
  const flag = ours(["--tag", "{{ printf .Hash }}", "plain"]);
  assert.is(flag.code, 2);
  assert.match(flag.stderr, `--tag "{{ printf .Hash }}": "{{ printf .Hash }}" is a template action pkgkit does not support`);
  rmSync(join(repo.dir, "bad"), { recursive: true });
});

test("--hash-commit is for show-tag: build refuses another commit than HEAD, as LinuxKit does", () => {
  const r = pkgkit(["build", "--hash-commit", "HEAD~1", "plain"], { cwd: repo.dir, env: ENV });
  assert.is(r.code, 2);
  assert.match(r.stderr, `--hash-commit "HEAD~1": build, push and plan work on the files as they are`);
});

test.after(() => repo.rm());
test.run();
