// The bin's fast path on Node (lib/config-cache.ts): a pkg.config.ts whose import graph is
// eligible loads compiled from a per-user cache, without tsx; anything else through tsx as before.
// Each case runs the real bin in real processes, on real files, against the tsx path
// (PKGKIT_NO_BUNDLE=1: the sources, through tsx) as the reference, and reads which modules Node
// loaded (test/module-log.mjs) to tell which path was taken.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { BIN, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";

const def = (image: string, extra = "") => `export default definePackage({ image: ${JSON.stringify(image)}, org: "cfg"${extra} });\n`;
const PKGKIT = 'import { definePackage } from "pkgkit";\n';

const repo = tmpRepo({
  ".gitignore": "node_modules\n",
  // pkgkit only
  "plain/pkg.config.ts": PKGKIT + def("plain"),
  // another package's config, relatively, as a build arg; a .js-suffixed import of a .ts helper
  "base/pkg.config.ts": PKGKIT + def("base"),
  "lib/org.ts": 'export const arches: string[] = ["amd64"];\n',
  "app/pkg.config.ts": PKGKIT + 'import base from "../base/pkg.config.ts";\nimport { arches } from "../lib/org.js";\n' + def("app", ", arches, buildArgs: { BASE: base }"),
  // a package from a node_modules beside it: ineligible, through tsx
  "other/node_modules/leftpad/package.json": '{ "name": "leftpad", "type": "module", "exports": "./index.js" }\n',
  "other/node_modules/leftpad/index.js": 'export const pad = (s) => `x${s}`;\n',
  "other/pkg.config.ts": PKGKIT + 'import { pad } from "leftpad";\nimport base from "../base/pkg.config.ts";\n' + def("other", ", buildArgs: { BASE: base, P: pad(\"y\") }"),
  // import.meta
  "meta/pkg.config.ts": "", // written below, with its real path
  // invalid spec
  "bad/pkg.config.ts": PKGKIT + 'export default definePackage({ image: "Bad Image!", org: "cfg", arches: ["s390"] });\n',
  // a cycle
  "cy1/pkg.config.ts": PKGKIT + 'import two from "../cy2/pkg.config.ts";\n' + def("cy1", ", buildArgs: { TWO: two }"),
  "cy2/pkg.config.ts": PKGKIT + 'import one from "../cy1/pkg.config.ts";\n' + def("cy2", ", buildArgs: { ONE: one }"),
  // an import clause over several lines (which esbuild keeps so), a namespace import, a
  // re-export; and an import-like line inside a template literal
  "lib/names.ts": "export const alpha = 'a', bravo = 'b', charlie = 'c', delta = 'd', echo = 'e', foxtrot = 'f', golf = 'g', hotel = 'h';\n",
  "many/pkg.config.ts":
    PKGKIT +
    'import {\n  alpha,\n  bravo,\n  charlie,\n  delta,\n  echo,\n  foxtrot,\n  golf,\n  hotel,\n} from "../lib/names.ts";\nimport * as names from "../lib/names.ts";\nexport { alpha } from "../lib/names.ts";\n' +
    def("many", ", buildArgs: { ALL: [alpha, bravo, charlie, delta, echo, foxtrot, golf, hotel, names.alpha].join('') }"),
  "tmpl/pkg.config.ts": PKGKIT + 'const text = `\nimport x from "pkgkit";\n} from "./nothing.ts";\n`;\n' + def("tmpl", ", buildArgs: { T: text }"),
  // its own tsconfig.json (verbatimModuleSyntax keeps an import used only as a type, and so its side effect)
  "vms/tsconfig.json": '{ "compilerOptions": { "verbatimModuleSyntax": true } }\n',
  "vms/side.ts": "(globalThis as Record<string, unknown>).SIDE = \"ran\";\nexport interface Shape { a: string }\n",
  "vms/pkg.config.ts": PKGKIT + 'import { type Shape } from "./side.ts";\nconst s: Shape | undefined = undefined;\n' + def("vms", ", buildArgs: { SIDE: String((globalThis as Record<string, unknown>).SIDE), S: String(s) }"),
  // imports of names their modules do not export (link errors naming the module as written)
  "noexp/pkg.config.ts": PKGKIT + 'import { nope } from "pkgkit";\n' + def("noexp", ", buildArgs: { N: String(nope) }"),
  "noexp2/pkg.config.ts": PKGKIT + 'import { nope } from "../lib/names.ts";\n' + def("noexp2", ", buildArgs: { N: String(nope) }"),
  // tsconfig paths sending pkgkit elsewhere
  "paths/tsconfig.json": '{ "compilerOptions": { "paths": { "pkgkit": ["./fake.ts"] } } }\n',
  "paths/fake.ts": "export const definePackage = (spec: { image: string }) => { throw new Error(`the fake pkgkit: ${spec.image}`); };\n",
  "paths/pkg.config.ts": PKGKIT + def("paths"),
  // a top-level await that never settles
  "stall/pkg.config.ts": PKGKIT + "await new Promise(() => {});\n" + def("stall"),
});
for (const d of ["plain", "base", "app", "other", "meta", "bad", "cy1", "cy2", "stall", "many", "tmpl", "vms", "paths", "noexp", "noexp2"]) repo.write(`${d}/Dockerfile`, "FROM scratch\n");
mkdirSync(join(repo.dir, "node_modules"));
symlinkSync(ROOT, join(repo.dir, "node_modules/pkgkit"));
const real = realpathSync(repo.dir);
const metaFile = join(real, "meta/pkg.config.ts");
repo.write(
  "meta/pkg.config.ts",
  PKGKIT +
    `const want = ${JSON.stringify({ url: pathToFileURL(metaFile).href, dirname: join(real, "meta"), filename: metaFile })};\n` +
    "const got = { url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename };\n" +
    'if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`import.meta: ${JSON.stringify(got)}`);\n' +
    def("meta", ", buildArgs: { URL: import.meta.url }"),
);
repo.commit();

const scratch = mkdtempSync(join(tmpdir(), "pkgkit-cfgcache-"));
test.after(() => {
  repo.rm();
  rmSync(scratch, { recursive: true, force: true });
});

let runs = 0;
/** A fresh XDG_CACHE_HOME. */
const freshCache = () => mkdtempSync(join(scratch, "cache-"));
const cacheFiles = (cache: string) => {
  try {
    return readdirSync(join(cache, "pkgkit/config-v1"));
  } catch {
    return [];
  }
};

/** The bin on Node with XDG_CACHE_HOME `cache` (or the tsx path, PKGKIT_NO_BUNDLE), and the modules it loaded. */
function pkgkit(args: string[], cache: string | "tsx", cwd = repo.dir) {
  const log = join(scratch, `${++runs}.log`);
  const env: Record<string, string> = { PKGKIT_MODULE_LOG: log, ...(cache === "tsx" ? { PKGKIT_NO_BUNDLE: "1", XDG_CACHE_HOME: freshCache() } : { XDG_CACHE_HOME: cache }) };
  const r = sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, ...args], cwd, env);
  const loaded = readFileSync(log, "utf8").trim().split("\n");
  return { ...r, loaded, tsx: loaded.some((u) => /node_modules\/(tsx|esbuild)\//.test(u)), compiled: loaded.filter((u) => u.startsWith(pathToFileURL(cache === "tsx" ? "/nonexistent" : cache).href)) };
}

/** stdout, exit code and stderr of the fast path (a cold run, then a warm one) equal the tsx path's. */
function sameAsTsx(args: string[], cache = freshCache(), cwd = repo.dir) {
  const want = pkgkit(args, "tsx", cwd);
  const cold = pkgkit(args, cache, cwd);
  const warm = pkgkit(args, cache, cwd);
  for (const [name, got] of [["cold", cold], ["warm", warm]] as const) {
    assert.is(got.code, want.code, `${name} ${args.join(" ")}: ${got.stderr}`);
    assert.is(got.stdout, want.stdout, `${name} ${args.join(" ")}`);
    assert.is(got.stderr, want.stderr, `${name} ${args.join(" ")}`);
  }
  return { want, cold, warm };
}

test("a config importing pkgkit only: same tag and plan as through tsx; the warm run loads neither tsx nor esbuild", () => {
  for (const args of [["show-tag", "plain"], ["plan", "--json", "plain"]]) {
    const { want, cold, warm } = sameAsTsx(args);
    assert.is(want.code, 0, want.stderr);
    assert.ok(want.tsx, "the reference went through tsx");
    assert.ok(cold.loaded.some((u) => u.includes("/node_modules/esbuild/")), "the cold run compiled with esbuild");
    assert.not.ok(cold.loaded.some((u) => u.includes("/node_modules/tsx/")), "the cold run did not register tsx");
    assert.not.ok(warm.tsx, `warm run: ${warm.loaded.join(" ")}`);
    assert.is(warm.compiled.length, 1, warm.loaded.join(" "));
  }
});

test("one package's config imported by another's (a build-arg dependency) and a .js import of a .ts helper: the same plan, each file one compiled module", () => {
  const { want, warm } = sameAsTsx(["plan", "--json", "base", "app"]);
  assert.is(want.code, 0, want.stderr);
  assert.ok(want.stdout.includes('"BASE=cfg/base:'), "the dependency is in the plan");
  assert.not.ok(warm.tsx);
  // base, app and lib/org.ts: three modules, base's once though both load it.
  assert.is(warm.compiled.length, 3, warm.compiled.join(" "));
  assert.is(new Set(warm.compiled).size, 3);
});

test("a config importing a package from a node_modules beside it falls back to tsx and still works", () => {
  const { want, cold, warm } = sameAsTsx(["plan", "--json", "other"]);
  assert.is(want.code, 0, want.stderr);
  assert.ok(want.stdout.includes('"P=xy"'));
  assert.ok(cold.tsx && warm.tsx, "through tsx");
  assert.equal(warm.compiled, []);
});

test("imports esbuild prints over several lines are compiled; an import-like line in a template literal is not mistaken for one", () => {
  const many = sameAsTsx(["plan", "--json", "many"]);
  assert.is(many.want.code, 0, many.want.stderr);
  assert.ok(many.want.stdout.includes('"ALL=abcdefgha"'), many.want.stdout.slice(0, 2000));
  assert.is(many.warm.compiled.length, 2, many.warm.loaded.join(" "));
  const tmpl = sameAsTsx(["plan", "--json", "tmpl"]);
  assert.is(tmpl.want.code, 0, tmpl.want.stderr);
  // Either way, its text is intact (here: counted as ineligible, so through tsx).
  assert.ok(tmpl.warm.stdout.includes(JSON.stringify(`T=\nimport x from "pkgkit";\n} from "./nothing.ts";\n`)), tmpl.warm.stdout.slice(0, 2000));
});

test("the tsconfig.json tsx uses (found from the working directory) is the one compiled with; where esbuild would find another, tsx loads it", () => {
  // From the package's directory: its tsconfig.json for both, verbatimModuleSyntax keeps the import.
  const inside = sameAsTsx(["plan", "--json", "."], freshCache(), join(repo.dir, "vms"));
  assert.is(inside.want.code, 0, inside.want.stderr);
  assert.ok(inside.want.stdout.includes('"SIDE=ran"'), inside.want.stdout.slice(0, 2000));
  assert.is(inside.warm.compiled.length, 2, inside.warm.loaded.join(" "));
  // From the repository: tsx uses no tsconfig.json (the import is elided), esbuild would find vms/'s: not compiled.
  const outside = sameAsTsx(["plan", "--json", "vms"]);
  assert.ok(outside.want.stdout.includes('"SIDE=undefined"'), outside.want.stdout.slice(0, 2000));
  assert.ok(outside.warm.tsx && outside.warm.compiled.length === 0);
  // paths that send pkgkit elsewhere: through tsx, which follows them.
  const paths = sameAsTsx(["show-tag", "."], freshCache(), join(repo.dir, "paths"));
  assert.ok(paths.want.stderr.includes("the fake pkgkit: paths"), paths.want.stderr);
  assert.equal(paths.warm.compiled, []);
});

test("import.meta.url, .dirname and .filename give the original file's values", () => {
  const { want, warm } = sameAsTsx(["plan", "--json", "meta"]);
  assert.is(want.code, 0, want.stderr);
  assert.is(warm.compiled.length, 1);
  assert.ok(warm.stdout.includes(JSON.stringify(`URL=${pathToFileURL(metaFile).href}`)), warm.stdout);
});

test("an invalid spec: the error names the original pkg.config.ts", () => {
  const { want, warm } = sameAsTsx(["show-tag", "bad"]);
  assert.is.not(want.code, 0);
  assert.ok(warm.stderr.includes(join(real, "bad/pkg.config.ts")), warm.stderr);
  assert.not.ok(warm.stderr.includes("config-v1"), warm.stderr);
  assert.not.ok(warm.tsx);
});

test("an import of a name its module does not export: the error names the module as written, as through tsx", () => {
  for (const dir of ["noexp", "noexp2"]) {
    const { want, warm } = sameAsTsx(["show-tag", dir]);
    assert.ok(want.stderr.includes("does not provide an export named 'nope'"), want.stderr);
    assert.is(warm.compiled.length, dir === "noexp" ? 1 : 2, warm.loaded.join(" "));
  }
});

test("an import cycle is reported as through tsx, naming the original files", () => {
  const { want, warm } = sameAsTsx(["show-tag", "cy1"]);
  assert.ok(want.stderr.includes("dependency cycle"), want.stderr);
  assert.ok(warm.stderr.includes(join(real, "cy2/pkg.config.ts")), warm.stderr);
  assert.not.ok(warm.tsx);
});

test("a top-level await that never settles is reported as through tsx", () => {
  const { want, warm } = sameAsTsx(["show-tag", "stall"]);
  assert.ok(want.stderr.includes("never finished loading"), want.stderr);
  assert.not.ok(warm.tsx);
});

test("an edit after a cached run is seen by the next run, in the file and in a file it imports", () => {
  const cache = freshCache();
  const before = pkgkit(["plan", "--json", "app"], cache);
  assert.is(before.code, 0, before.stderr);
  const edit = (path: string, from: string, to: string) => writeFileSync(join(repo.dir, path), readFileSync(join(repo.dir, path), "utf8").replace(from, to));
  try {
    edit("app/pkg.config.ts", 'image: "app"', 'image: "app2"');
    const renamed = pkgkit(["plan", "--json", "app"], cache);
    assert.ok(renamed.stdout.includes('"cfg/app2:'), renamed.stdout.slice(0, 300));
    edit("lib/org.ts", '["amd64"]', '["arm64"]');
    const rearched = pkgkit(["plan", "--json", "app"], cache);
    const app = (JSON.parse(rearched.stdout) as { packages: { name: string; arches: string[] }[] }).packages.find((p) => p.name.startsWith("cfg/app2:"));
    assert.equal(app?.arches, ["arm64"], rearched.stdout.slice(0, 800));
    // Compiled again (esbuild), not through tsx.
    assert.is(rearched.compiled.length, 3, rearched.loaded.join(" "));
    assert.not.ok(rearched.loaded.some((u) => u.includes("/node_modules/tsx/")));
    assert.is(rearched.stdout, pkgkit(["plan", "--json", "app"], "tsx").stdout);
  } finally {
    edit("app/pkg.config.ts", 'image: "app2"', 'image: "app"');
    edit("lib/org.ts", '["arm64"]', '["amd64"]');
  }
});

test("eight bins at once on one cold cache (a config importing another): each prints the tag tsx gives, and no temp file is left", async () => {
  const want = pkgkit(["show-tag", "app"], "tsx");
  assert.is(want.code, 0, want.stderr);
  const cache = freshCache();
  const runs = await Promise.all(Array.from({ length: 8 }, () => shAsync([process.execPath, BIN, "show-tag", "app"], repo.dir, { XDG_CACHE_HOME: cache })));
  for (const r of runs) {
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, want.stdout);
  }
  const files = cacheFiles(cache);
  assert.ok(files.some((f) => f.endsWith(".mjs")), files.join(" "));
  assert.equal(files.filter((f) => f.endsWith(".tmp")), []);
  // And the cache they wrote serves a warm run.
  assert.not.ok(pkgkit(["show-tag", "app"], cache).tsx);
});

test("a cache directory writable by others, or another's, is refused: tsx loads the config, correctly", () => {
  for (const mode of [0o777, 0o770, 0o722]) {
    const cache = freshCache();
    mkdirSync(join(cache, "pkgkit/config-v1"), { recursive: true });
    chmodSync(join(cache, "pkgkit/config-v1"), mode);
    const r = pkgkit(["show-tag", "plain"], cache);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, pkgkit(["show-tag", "plain"], "tsx").stdout);
    assert.ok(r.tsx, `mode ${mode.toString(8)}: through tsx`);
    assert.equal(cacheFiles(cache), [], `mode ${mode.toString(8)}: nothing written`);
  }
  // A directory above it writable by others (not sticky).
  const open = freshCache();
  chmodSync(open, 0o777);
  const r = pkgkit(["show-tag", "plain"], open);
  assert.ok(r.tsx);
  assert.equal(cacheFiles(open), []);
  // Another user's (where this test may give one away: as root).
  if (process.getuid?.() === 0) {
    const theirs = freshCache();
    mkdirSync(join(theirs, "pkgkit/config-v1"), { recursive: true, mode: 0o700 });
    chownSync(join(theirs, "pkgkit/config-v1"), 65534, 65534);
    const t = pkgkit(["show-tag", "plain"], theirs);
    assert.is(t.code, 0, t.stderr);
    assert.ok(t.tsx, "another user's cache: through tsx");
    assert.equal(cacheFiles(theirs), []);
  }
  // Readable by others is not refused.
  const readable = freshCache();
  mkdirSync(join(readable, "pkgkit/config-v1"), { recursive: true });
  chmodSync(join(readable, "pkgkit/config-v1"), 0o755);
  assert.is(pkgkit(["show-tag", "plain"], readable).compiled.length, 1, "readable by others: compiled");
});

test("an eligible and an ineligible config importing it, in one process: the shared file loads once, one way or the other", () => {
  const cache = freshCache();
  for (let i = 0; i < 2; i++) {
    const r = pkgkit(["plan", "--json", "base", "other"], cache);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, pkgkit(["plan", "--json", "base", "other"], "tsx").stdout);
    const baseSource = r.loaded.filter((u) => u === pathToFileURL(join(real, "base/pkg.config.ts")).href).length;
    assert.is(baseSource + r.compiled.length, 1, `base once: ${r.loaded.filter((u) => !u.startsWith("node:")).join(" ")}`);
  }
});

test.run();
