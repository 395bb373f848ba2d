// The bin's V8 code cache on Node (lib/code-cache.cjs): written once per command after a run that
// had none, taken by V8 on the next run (the file is then left as it is: a rejected one is
// rewritten), rewritten when corrupt, replaced when the bundle is rebuilt, never written where the
// cache directory is not safely ours, and the output always the same as without it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, bundledCopy, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";

const repo = tmpRepo({
  ".gitignore": "node_modules\n",
  "yml/build.yml": "image: yml\norg: codecache\n",
  "yml/Dockerfile": "FROM scratch\n",
  "ts/pkg.config.ts": 'import { definePackage } from "pkgkit";\nexport default definePackage({ image: "ts", org: "codecache" });\n',
  "ts/Dockerfile": "FROM scratch\n",
});
// The config imports "pkgkit" as a user's does, through node_modules/pkgkit (a link to this checkout).
mkdirSync(join(repo.dir, "node_modules"));
symlinkSync(ROOT, join(repo.dir, "node_modules/pkgkit"));
const caches = mkdtempSync(join(tmpdir(), "pkgkit-codecache-"));
chmodSync(caches, 0o700);
let copy: string | undefined;
test.after(() => {
  repo.rm();
  rmSync(caches, { recursive: true, force: true });
  if (copy) rmSync(copy, { recursive: true, force: true });
});

let n = 0;
const freshCache = () => {
  const dir = join(caches, `c${++n}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
};
/** Runs the bin (or another copy's) with XDG_CACHE_HOME=`cache`; asserts exit 0. */
function pkgkit(args: string[], cache: string, bin = BIN, env: Record<string, string> = {}) {
  const r = sh([process.execPath, bin, ...args], repo.dir, { XDG_CACHE_HOME: cache, PKGKIT_NO_BUNDLE: "", PKGKIT_NO_CODE_CACHE: "", ...env });
  assert.is(r.code, 0, `pkgkit ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
/** The code cache files (name → stats) under `cache`. */
function entries(cache: string): Map<string, { ino: number; mtimeMs: number; mode: number; bytes: Buffer }> {
  const dir = join(cache, "pkgkit", "code-v1");
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {}
  return new Map(
    names.map((f) => {
      const st = statSync(join(dir, f));
      return [f, { ino: st.ino, mtimeMs: st.mtimeMs, mode: st.mode & 0o777, bytes: readFileSync(join(dir, f)) }];
    }),
  );
}
const without = (cache: string, args: string[]) => pkgkit(args, cache, BIN, { PKGKIT_NO_CODE_CACHE: "1" });

test("the first run of a command writes its code cache (0600, in a 0700 directory); the next takes it, and prints the same", () => {
  const cache = freshCache();
  const expected = without(cache, ["show-tag", "yml"]);
  assert.match(expected, /^codecache\/yml:[0-9a-f]{40}\n$/);
  assert.equal([...entries(cache).keys()], [], "PKGKIT_NO_CODE_CACHE: none written");
  assert.is(pkgkit(["show-tag", "yml"], cache), expected, "cold");
  const first = entries(cache);
  assert.is(first.size, 1, [...first.keys()].join(" "));
  const [name, entry] = [...first][0]!;
  assert.match(name, /^[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{8}-show-tag\.v8$/);
  assert.is(entry.mode, 0o600);
  assert.is(statSync(join(cache, "pkgkit", "code-v1")).mode & 0o777, 0o700);
  assert.ok(entry.bytes.length > 10_000, `a cache of the code the run compiled: ${entry.bytes.length} bytes`);
  assert.is(pkgkit(["show-tag", "yml"], cache), expected, "warm");
  const second = entries(cache).get(name)!;
  // A cache V8 rejected is rewritten (the corrupt case below shows it), so the same file means taken.
  assert.equal([second.ino, second.mtimeMs], [entry.ino, entry.mtimeMs], "taken as it was");
  // Each command keeps the code it ran.
  const plan = pkgkit(["plan", "yml"], cache);
  assert.is(plan, without(cache, ["plan", "yml"]));
  assert.equal([...entries(cache).keys()].map((f) => f.replace(/^[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{8}-/, "")).sort(), ["plan.v8", "show-tag.v8"]);
});

test("`tsx pkg.config.ts` (no bin) compiles the bundle's CommonJS build with a code cache of its own too (lib/index.node.cjs)", () => {
  const cache = freshCache();
  const tsx = (env: Record<string, string> = {}) => {
    const r = sh([join(ROOT, "node_modules/.bin/tsx"), "ts/pkg.config.ts", "show-tag"], repo.dir, { XDG_CACHE_HOME: cache, PKGKIT_NO_BUNDLE: "", PKGKIT_NO_CODE_CACHE: "", ...env });
    assert.is(r.code, 0, r.stderr);
    return r.stdout;
  };
  const expected = tsx({ PKGKIT_NO_CODE_CACHE: "1" });
  assert.match(expected, /^codecache\/ts:[0-9a-f]{40}\n$/);
  assert.is(pkgkit(["show-tag", "ts"], cache), expected, "as the bin gives it");
  assert.is(tsx(), expected, "cold");
  const index = [...entries(cache)].filter(([f]) => f.endsWith("-index.v8"));
  assert.is(index.length, 1, [...entries(cache).keys()].join(" "));
  assert.is(tsx(), expected, "warm");
  assert.is(entries(cache).get(index[0]![0])!.mtimeMs, index[0]![1].mtimeMs, "taken as it was");
});

test("a run that fails (bad input, exit 2) writes no cache: it compiled less than a run that works", () => {
  const cache = freshCache();
  const r = sh([process.execPath, BIN, "show-tag", "no-such-dir"], repo.dir, { XDG_CACHE_HOME: cache, PKGKIT_NO_BUNDLE: "", PKGKIT_NO_CODE_CACHE: "" });
  assert.is(r.code, 2, r.stderr);
  assert.equal([...entries(cache).keys()], []);
  pkgkit(["show-tag", "yml"], cache);
  assert.is(entries(cache).size, 1);
});

test("a corrupt cache is rejected by V8, the run goes on as without one, and the file is rewritten", () => {
  const cache = freshCache();
  const expected = pkgkit(["show-tag", "yml"], cache);
  const [name, entry] = [...entries(cache)][0]!;
  const garbage = Buffer.alloc(entry.bytes.length, 0x5a);
  writeFileSync(join(cache, "pkgkit", "code-v1", name), garbage);
  assert.is(pkgkit(["show-tag", "yml"], cache), expected);
  const after = entries(cache).get(name)!;
  assert.not.ok(after.bytes.equals(garbage), "rewritten");
  assert.ok(after.bytes.length > 10_000);
  // Half a file (a crash mid-write cannot leave one: writes are renamed into place) is rejected too.
  const half = after.bytes.subarray(0, after.bytes.length >> 1);
  writeFileSync(join(cache, "pkgkit", "code-v1", name), half);
  assert.is(pkgkit(["show-tag", "yml"], cache), expected);
  const whole = entries(cache).get(name)!;
  // Its size varies a little from run to run (what V8 compiled); it is whole when the next run takes it.
  assert.ok(whole.bytes.length > half.length, "rewritten");
  assert.is(pkgkit(["show-tag", "yml"], cache), expected);
  assert.is(entries(cache).get(name)!.mtimeMs, whole.mtimeMs, "the rewritten file is taken");
});

test("a cache directory another user could write, or owns, is refused: nothing is written, the run is the same", () => {
  const open = join(caches, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  assert.is(pkgkit(["show-tag", "yml"], open), without(freshCache(), ["show-tag", "yml"]));
  assert.equal([...entries(open).keys()], []);
  // The same directory, ours alone: used.
  chmodSync(open, 0o700);
  pkgkit(["show-tag", "yml"], open);
  assert.is(entries(open).size, 1);
  // code-v1 itself owned by another user (root can hand it over): refused, nothing written.
  if (process.getuid?.() === 0) {
    const theirs = freshCache();
    mkdirSync(join(theirs, "pkgkit", "code-v1"), { recursive: true, mode: 0o700 });
    chownSync(join(theirs, "pkgkit", "code-v1"), 65534, 65534);
    assert.is(pkgkit(["show-tag", "yml"], theirs), without(freshCache(), ["show-tag", "yml"]));
    assert.equal([...entries(theirs).keys()], [], "another user's directory: nothing written");
  }
});

test("a rebuilt bundle gets a cache of its own, and the files of its earlier build go (a copy of the package)", () => {
  copy = bundledCopy("pkgkit-codecache-copy-");
  const bin = join(copy, "lib/bin.mjs");
  const cache = freshCache();
  const expected = pkgkit(["show-tag", "yml"], cache, bin);
  pkgkit(["plan", "yml"], cache, bin);
  const before = [...entries(cache).keys()].sort();
  assert.is(before.length, 2);
  // The main checkout's bin keeps files of its own beside them (another bundle path).
  pkgkit(["show-tag", "yml"], cache);
  const mine = [...entries(cache).keys()].filter((f) => !before.includes(f));
  assert.is(mine.length, 1);
  // A rebuild writes lib/dist/bin.cjs anew (a new inode and ctime): a new build key.
  sh([process.execPath, join(copy, "lib/bundle.mjs")], copy);
  assert.is(pkgkit(["show-tag", "yml"], cache, bin), expected);
  const after = [...entries(cache).keys()].sort();
  const prefix = before[0]!.slice(0, 16);
  assert.ok(before.every((f) => f.startsWith(prefix)), "one bundle path, one prefix");
  const ofCopy = after.filter((f) => f.startsWith(prefix));
  assert.is(ofCopy.length, 1, after.join(" "));
  assert.not.ok(before.includes(ofCopy[0]!), "a new build key");
  assert.ok(ofCopy[0]!.endsWith("-show-tag.v8"));
  assert.ok(after.includes(mine[0]!), "another bundle's file stays");
});

test("another Node's file of the same bundle stays (a file named as another Node's would be): Nodes taking turns keep one each", () => {
  const cache = freshCache();
  pkgkit(["show-tag", "yml"], cache);
  const [name, entry] = [...entries(cache)][0]!;
  const other = name.replace(/^([0-9a-f]{16}-[0-9a-f]{16}-)[0-9a-f]{8}-/, "$1ffffffff-");
  assert.is.not(other, name);
  writeFileSync(join(cache, "pkgkit", "code-v1", other), entry.bytes);
  // A run that writes (this command had no file for this Node yet).
  pkgkit(["plan", "yml"], cache);
  assert.ok(entries(cache).has(other), [...entries(cache).keys()].join(" "));
  assert.is(entries(cache).size, 3);
});

test("a file not written for 60 days (a deleted copy's, or a temp file a stopped writer left) goes when another is written; a recent one of another bundle stays", () => {
  const cache = freshCache();
  pkgkit(["show-tag", "yml"], cache);
  const dir = join(cache, "pkgkit", "code-v1");
  const [name, entry] = [...entries(cache)][0]!;
  const old = new Date(Date.now() - 61 * 24 * 60 * 60 * 1000);
  const recentOther = `${"a".repeat(16)}-${"b".repeat(16)}-${"c".repeat(8)}-show-tag.v8`;
  const staleOther = `${"d".repeat(16)}-${"e".repeat(16)}-${"f".repeat(8)}-show-tag.v8`;
  const staleTemp = `${name}.12345.abcdefabcdef.tmp`;
  for (const f of [recentOther, staleOther, staleTemp]) writeFileSync(join(dir, f), entry.bytes);
  for (const f of [staleOther, staleTemp]) utimesSync(join(dir, f), old, old);
  // This checkout's own file, not written for as long: it goes too, and its command writes it again.
  utimesSync(join(dir, name), old, old);
  // A run that writes (plan had no file yet).
  pkgkit(["plan", "yml"], cache);
  const left = [...entries(cache).keys()].sort();
  assert.equal(left, [recentOther, name.replace(/-show-tag\.v8$/, "-plan.v8")].sort());
  // A run that reads writes nothing and removes nothing.
  utimesSync(join(dir, recentOther), old, old);
  pkgkit(["plan", "yml"], cache);
  assert.ok(entries(cache).has(recentOther));
  // show-tag writes its file again, and the stale one goes with that write.
  pkgkit(["show-tag", "yml"], cache);
  assert.equal([...entries(cache).keys()].sort(), [name, name.replace(/-show-tag\.v8$/, "-plan.v8")].sort());
});

test("eight bins at once on one cold cache: each prints the same, one file is left per command, and no temp file", async () => {
  const cache = freshCache();
  const expected = without(cache, ["show-tag", "yml"]);
  const runs = await Promise.all(
    Array.from({ length: 8 }, () => shAsync([process.execPath, BIN, "show-tag", "yml"], repo.dir, { XDG_CACHE_HOME: cache, PKGKIT_NO_BUNDLE: "", PKGKIT_NO_CODE_CACHE: "" })),
  );
  for (const r of runs) {
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, expected);
  }
  const names = [...entries(cache).keys()];
  assert.is(names.length, 1, names.join(" "));
  assert.ok(names[0]!.endsWith("-show-tag.v8"));
  // And it is whole: the next run takes it as it is.
  const entry = entries(cache).get(names[0]!)!;
  assert.is(pkgkit(["show-tag", "yml"], cache), expected);
  assert.is(entries(cache).get(names[0]!)!.mtimeMs, entry.mtimeMs);
});

test.run();
