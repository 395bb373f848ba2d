// Start-up: what `show-tag` and `plan` load, counted as the modules actually evaluated, so it holds
// for the bundle and the sources alike: the files Node loads (a loader hook, test/module-log.mjs),
// and inside the bin's build (lib/dist/bin.cjs, one file) the modules that ran, each noted by
// itself and logged as `bundle:<path>` (lib/bundle.mjs). Not timed: bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, PACKAGE_BIN, ROOT, sh, tmpRepo } from "../helpers.ts";
import { BUILD_YML, CONFIG_FILE } from "../../lib/load.ts";

// The pkg.config.ts imports "pkgkit" as a user's does, through node_modules/pkgkit (a link to this checkout).
const repo = tmpRepo({
  ".gitignore": "node_modules\n",
  "yml/build.yml": "image: yml\norg: startup\n",
  "yml/Dockerfile": "FROM scratch\n",
  "ts/pkg.config.ts": `import { definePackage } from "pkgkit";\nexport default definePackage({ image: "ts", org: "startup" });\n`,
  "ts/Dockerfile": "FROM scratch\n",
  "ts-more/pkg.config.ts": `import { archRef, definePackage } from "pkgkit";\nexport default definePackage({ image: typeof archRef === "function" ? "ts-more" : "x", org: "startup" });\n`,
  "ts-more/Dockerfile": "FROM scratch\n",
});
mkdirSync(join(repo.dir, "node_modules"));
symlinkSync(ROOT, join(repo.dir, "node_modules/pkgkit"));
const logs = mkdtempSync(join(tmpdir(), "pkgkit-startup-"));
test.after(() => {
  repo.rm();
  rmSync(logs, { recursive: true, force: true });
});

let runs = 0;
/** A fresh, empty cache for compiled config files (lib/config-cache.ts). */
const freshCache = () => ({ XDG_CACHE_HOME: mkdtempSync(join(logs, "cache-")) });
/** One pkgkit command through `bin`: its result, and the module URLs Node loaded, relative to the checkout where inside it. */
function logged(bin: string, args: string[], env: Record<string, string> = {}) {
  const log = join(logs, `${++runs}.txt`);
  const r = sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), bin, ...args], repo.dir, { ...freshCache(), ...env, PKGKIT_MODULE_LOG: log });
  return { ...r, loaded: readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, "")) };
}
/** The module URLs Node loads for one pkgkit command (lib/bin.mjs, exit 0 asserted); its stdout. */
function run(args: string[], env: Record<string, string> = {}): { loaded: string[]; stdout: string } {
  const r = logged(BIN, args, env);
  assert.is(r.code, 0, `pkgkit ${args.join(" ")}: ${r.stderr}`);
  return r;
}
const modulesLoaded = (args: string[], env: Record<string, string> = {}) => run(args, env).loaded;

// The libraries of the registry client (its transport, undici) and of the signers.
const clientLibraries = /node_modules\/(undici|@sigstore\/[^/]+)\//;
/** A module that ran inside the bin's build, by its path (see above); undefined for a file loaded. */
const inBundle = (u: string) => (u.startsWith("bundle:") ? u.slice("bundle:".length) : undefined);
/** The files loaded, without the modules that ran inside the bin's build. */
const filesOnly = (loaded: string[]) => loaded.filter((u) => inBundle(u) === undefined);
/** The module's source path, whether it was loaded as a file or ran inside the bin's build. */
const sourceOf = (u: string) => inBundle(u) ?? u;
// pkgkit's own registry client, as sources or inside the bundle. A pkg.config.ts imports "pkgkit",
// whose entry (lib/index.ts) re-exports createRegistry, so only a build.yml package can go without it.
const registryClient = (u: string) => /^lib\/registry\/(client|transport|auth|credentials)\.ts$/.test(sourceOf(u));
/** The bin's build ran: its entry noted itself. */
const BIN_BUILD = "bundle:lib/bin-entry.ts";
const typeScript = /node_modules\/(tsx|typescript|esbuild)\//;

for (const mode of ["bundle", "sources"] as const) {
  const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
  for (const command of ["show-tag", "plan"]) {
    test(`${command} (${mode}) evaluates neither the registry client nor the signing libraries`, () => {
      for (const dir of ["yml", "ts"]) {
        const loaded = modulesLoaded([command, dir], env);
        assert.ok(loaded.includes("lib/bin.mjs"), `the hook saw the bin: ${loaded.join(" ")}`);
        assert.equal(loaded.filter((u) => clientLibraries.test(sourceOf(u))), [], `${command} ${dir}`);
        // A pkg.config.ts importing definePackage alone gets it from the bundle's light entry
        // (lib/define-entry.ts) when the bin compiles it; through tsx, from lib/index.ts.
        if (dir === "yml" || mode === "bundle") assert.equal(loaded.filter(registryClient), [], `${command} ${dir}`);
      }
    });
  }
}

// What show-tag and plan have no use for: each command's implementation loads where the command
// runs (lib/cli/main.ts imports it with `await import()`). Each part is found by its modules' paths,
// loaded as sources or run inside the bin's build (lib/sign/schema.ts is not signing: it is the
// package spec's `signer` field, which spec.ts validates). The last test below checks that each
// part's modules are in the bin's build under those paths, so a moved file cannot make its check
// pass unseen.
const parts: Record<string, RegExp> = {
  "signing (the signers, recipes/sign, lib/cli/sign)": /^(lib\/sign\/(?!schema\.ts$)|recipes\/sign\.ts$|lib\/cli\/sign\.ts$)/,
  "sbom (recipes/sbom, the SBOM documents, lib/cli/sbom)": /^(recipes\/sbom|lib\/attest\/(sbom|spdx|cyclonedx|inventory)|lib\/cli\/sbom)\.ts$/,
  "doctor (recipes/doctor, lib/doctor, lib/cli/doctor)": /^(recipes\/doctor\.ts|lib\/doctor\/.*|lib\/cli\/doctor\.ts)$/,
  "apply (recipes/apply, lib/apply, lib/cli/apply)": /^(recipes\/apply|lib\/apply|lib\/cli\/apply)\.ts$/,
  "a run's reports (recipes/report)": /^recipes\/report\.ts$/,
  "the plan runner (lib/run.ts)": /^lib\/run\.ts$/,
  "plan formatting (lib/plan/format)": /^lib\/plan\/format\.ts$/,
  "the push and its image export (lib/push, lib/image, lib/gzip and fflate)": /^(lib\/(push|image|gzip)\.ts|node_modules\/fflate\/.*)$/,
  "the attestations a push attaches (lib/attest/attach, documents)": /^lib\/attest\/(attach|documents)\.ts$/,
  "assembled contexts and the scratch directory (lib/context, lib/scratch)": /^lib\/(context|scratch)\.ts$/,
  // git's tag queries start git itself (lib/shell.ts, directShell); zx runs the steps a plan has.
  "the steps' shell library (zx)": /^node_modules\/zx\//,
};
/** The loaded modules (sources, or modules that ran inside the bin's build) of each part. */
function partsIn(loaded: string[], which: string[]): Record<string, string[]> {
  return Object.fromEntries(which.map((name) => [name, loaded.filter((u) => parts[name]!.test(sourceOf(u)))]));
}
const unused: Record<string, string[]> = {
  "show-tag": Object.keys(parts),
  // plan prints a plan (lib/plan/format); it runs nothing and reports no run. It asks the engine
  // what it can do through the steps' shell.
  plan: Object.keys(parts).filter((p) => !p.startsWith("plan formatting") && !p.startsWith("the steps' shell")),
};

for (const mode of ["bundle", "sources"] as const) {
  const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
  for (const command of ["show-tag", "plan"]) {
    test(`${command} of a build.yml package (${mode}) evaluates none of signing, sbom, doctor, apply, nor ${command === "plan" ? "a run's reports" : "plan or run reports"}`, () => {
      const loaded = modulesLoaded([command, "yml"], env);
      assert.ok(loaded.includes(mode === "bundle" ? BIN_BUILD : "lib/cli/main.ts"), loaded.join(" "));
      const none = Object.fromEntries(unused[command]!.map((p) => [p, [] as string[]]));
      assert.equal(partsIn(loaded, unused[command]!), none);
    });
  }
}

// A build runs a plan of build steps: lib/run.ts loads what push, attest, sign and context steps
// need when such a step runs (lib/image.ts makes fflate's tables as it loads).
const unusedByBuild = Object.keys(parts).filter((p) => !/^(a run's reports|the plan runner|plan formatting|the steps' shell)/.test(p));
for (const mode of ["bundle", "sources"] as const) {
  test(`build of a build.yml package (${mode}) evaluates none of the push and its image export, the attestations, assembled contexts, signing, sbom, doctor, apply`, () => {
    const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
    const org = `startup-build-${process.pid}`;
    try {
      const loaded = modulesLoaded(["build", "--force", "--arches", "amd64", "--org", org, "yml"], env);
      assert.ok(loaded.includes(mode === "bundle" ? BIN_BUILD : "lib/cli/main.ts"), loaded.join(" "));
      assert.ok(partsIn(loaded, ["the plan runner (lib/run.ts)"])["the plan runner (lib/run.ts)"]!.length > 0, `the build ran a plan: ${loaded.join(" ")}`);
      const none = Object.fromEntries(unusedByBuild.map((p) => [p, [] as string[]]));
      assert.equal(partsIn(loaded, unusedByBuild), none);
    } finally {
      const refs = sh(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${org}/yml`]).stdout.split("\n").filter(Boolean);
      if (refs.length) sh(["docker", "image", "rm", ...refs]);
    }
  });
}

test("the checks above see each part where it is loaded: the bin's build holds modules of each under those paths, and a push plan loads signing", () => {
  // The names the bin's build notes (lib/bundle.mjs): one per module in it.
  const noted = [...readFileSync(join(ROOT, "lib/dist/bin.cjs"), "utf8").matchAll(/\]\s*\?\?=\s*\[\]\)\.push\("([^"]+)"\);/g)].map((m) => m[1]!);
  assert.ok(noted.includes("lib/bin-entry.ts") && noted.includes("lib/registry/client.ts"), noted.join(" "));
  for (const [name, part] of Object.entries(parts)) assert.ok(noted.some((n) => part.test(n)), `${name}: no module of lib/dist/bin.cjs under those paths`);
  // plan --push signs what it pushes: its chunks hold the signers (it fails at the registry, a
  // docker.io org nobody logged in to, after they are loaded; only what was loaded matters here).
  const log = join(logs, "push-plan.txt");
  sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, "plan", "--push", "yml"], repo.dir, { PKGKIT_MODULE_LOG: log, PKGKIT_ORG: "startup" });
  const loaded = readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, ""));
  assert.ok(partsIn(loaded, ["signing (the signers, recipes/sign, lib/cli/sign)"])["signing (the signers, recipes/sign, lib/cli/sign)"]!.length > 0, loaded.join(" "));
  // And the libraries the first checks look for, required by the bin's build: the registry's transport.
  assert.ok(loaded.some((u) => /node_modules\/undici\//.test(u)), loaded.join(" "));
});

test("`pkgkit --help` on the bundle evaluates neither zod nor the package model, and says what migrate reads and writes as lib/load.ts names them", () => {
  const log = join(logs, "help.txt");
  const r = sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, "--help"], repo.dir, { PKGKIT_MODULE_LOG: log });
  assert.is(r.code, 0, r.stderr);
  const loaded = readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, ""));
  assert.ok(loaded.includes(BIN_BUILD), loaded.join(" "));
  // zod (bundled in), the spec, and the package model.
  assert.equal(loaded.filter((u) => /^node_modules\/zod\/|^lib\/(spec|package|load)\.ts$/.test(sourceOf(u))), []);
  // The check can see them where they run.
  assert.ok(modulesLoaded(["show-tag", "yml"]).some((u) => /^node_modules\/zod\//.test(sourceOf(u))));
  // main.ts spells these file names itself (lib/load.ts imports zod through the spec).
  assert.match(r.stdout, `migrate   write the ${CONFIG_FILE} equivalent of a LinuxKit ${BUILD_YML}\n`);
});

test("a build.yml-only run on the bundle loads no TypeScript compiler and no package (zod, yaml, fflate and zx are bundled in)", () => {
  for (const command of ["show-tag", "plan"]) {
    const loaded = modulesLoaded([command, "yml"]);
    assert.ok(loaded.includes(BIN_BUILD), `the bundle ran: ${loaded.join(" ")}`);
    assert.equal(loaded.filter((u) => typeScript.test(sourceOf(u))), [], command);
    assert.equal(filesOnly(loaded).filter((u) => /(^|\/)node_modules\//.test(u)), [], `${command}: no package`);
  }
});

test("show-tag of a clean build.yml package on the bundle loads neither node:crypto, node:fs/promises nor the steps' shell; a dirty one hashes its files, and the check sees those two then", () => {
  const clean = run(["show-tag", "yml"]);
  assert.ok(clean.loaded.includes("builtin:child_process"), `the log holds Node's modules: ${clean.loaded.join(" ")}`);
  assert.equal(clean.loaded.filter((u) => u === "builtin:crypto" || u === "builtin:fs/promises" || /^node_modules\/zx\//.test(sourceOf(u))), []);
  writeFileSync(join(repo.dir, "yml/untracked.txt"), "dirty\n");
  try {
    const dirty = run(["show-tag", "yml"]);
    assert.match(dirty.stdout, /-dirty-[0-9a-f]{7}\n$/);
    assert.ok(dirty.loaded.includes("builtin:crypto") && dirty.loaded.includes("builtin:fs/promises"), dirty.loaded.join(" "));
  } finally {
    rmSync(join(repo.dir, "yml/untracked.txt"));
  }
});

test("the bin package.json names, lib/bin.cjs, starts without lib/bin.mjs (no ES module entry) and prints what lib/bin.mjs prints: the bundle while fresh, the sources else; Deno and Bun get lib/bin.mjs through it", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
  assert.equal(pkg.bin, { pkgkit: "./lib/bin.cjs" });
  const CJS_BIN = PACKAGE_BIN;
  const runCjs = (args: string[], env: Record<string, string> = {}) => logged(CJS_BIN, args, env);
  const esm = run(["show-tag", "yml", "ts"]);
  const fresh = runCjs(["show-tag", "yml", "ts"]);
  assert.is(fresh.code, 0, fresh.stderr);
  assert.is(fresh.stdout, esm.stdout);
  assert.ok(fresh.loaded.includes(BIN_BUILD), fresh.loaded.join(" "));
  assert.ok(esm.loaded.includes("lib/bin.mjs"), `the check sees lib/bin.mjs: ${esm.loaded.join(" ")}`);
  assert.equal(fresh.loaded.filter((u) => u === "lib/bin.mjs"), []);
  const sources = runCjs(["show-tag", "yml", "ts"], { PKGKIT_NO_BUNDLE: "1" });
  assert.is(sources.stdout, esm.stdout);
  assert.ok(sources.loaded.includes("lib/cli/main.ts") && !sources.loaded.includes(BIN_BUILD), sources.loaded.join(" "));
  // Bad input: the same error and exit code as lib/bin.mjs's.
  const bad = runCjs(["show-tag", "no-such-dir"]);
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, "no-such-dir: not a directory");
  for (const runtime of [join(ROOT, "node_modules/.bin/bun"), join(ROOT, "node_modules/.bin/deno")]) {
    const argv = runtime.endsWith("deno") ? [runtime, "run", "-A", "--quiet", CJS_BIN] : [runtime, CJS_BIN];
    const r = sh([...argv, "show-tag", "yml"], repo.dir);
    assert.is(r.code, 0, `${runtime}: ${r.stderr}`);
    assert.is(r.stdout, esm.stdout.split("\n")[0] + "\n", runtime);
  }
});

test("a pkg.config.ts run on the bundle: the first (cold cache) compiles it with esbuild, without tsx; the second (cache hit) loads no compiler and none of pkgkit's .ts sources, and prints the same", () => {
  for (const command of ["show-tag", "plan"]) {
    const cache = freshCache();
    const cold = run([command, "ts"], cache);
    const warm = run([command, "ts"], cache);
    // The check can see a compiler when one is loaded.
    assert.ok(cold.loaded.some((u) => /node_modules\/esbuild\//.test(u)), `${command} cold: ${cold.loaded.join(" ")}`);
    assert.equal(cold.loaded.filter((u) => /node_modules\/tsx\//.test(u)), [], `${command} cold: no tsx`);
    assert.equal(warm.loaded.filter((u) => typeScript.test(sourceOf(u))), [], `${command} warm`);
    assert.equal(filesOnly(warm.loaded).filter((u) => /\.ts$/.test(u)), [], `${command} warm: no .ts module`);
    // What it loaded instead: the compiled config, from the cache.
    assert.ok(warm.loaded.some((u) => u.startsWith(`file://${cache.XDG_CACHE_HOME}/pkgkit/`) && u.endsWith(".mjs")), warm.loaded.join(" "));
    assert.is(warm.stdout, cold.stdout, command);
    assert.is(cold.stdout, run([command, "ts"], { PKGKIT_NO_BUNDLE: "1" }).stdout, `${command}: as through tsx`);
  }
});

test("a pkg.config.ts run from the sources (no bundle) loads it through tsx, as before", () => {
  assert.ok(modulesLoaded(["show-tag", "ts"], { PKGKIT_NO_BUNDLE: "1" }).some((u) => /node_modules\/tsx\//.test(u)));
});

test("a pkg.config.ts run on the bundle gets pkgkit from the bundle, compiling none of its sources: definePackage alone from the light entry, more from the whole public entry", () => {
  const light = modulesLoaded(["show-tag", "ts"]);
  assert.ok(light.includes("lib/dist/bin-define.mjs"), light.join(" "));
  assert.not.ok(light.includes("lib/dist/bin-index.mjs") || light.includes("bundle:lib/index.ts"), light.join(" "));
  assert.ok(light.includes("bundle:lib/define-entry.ts"), light.join(" "));
  assert.equal(light.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u)), []);
  const more = modulesLoaded(["show-tag", "ts-more"]);
  assert.ok(more.includes("lib/dist/bin-index.mjs") && more.includes("bundle:lib/index.ts"), more.join(" "));
  // The check for the registry client sees it where it is loaded (lib/index.ts exports createRegistry).
  assert.ok(more.some(registryClient), more.join(" "));
  assert.equal(more.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u)), []);
});

test.run();
