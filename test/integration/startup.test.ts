// Start-up: what `show-tag` and `plan` load, counted as the modules Node actually loads (a loader
// hook, test/module-log.mjs), so it holds for the bundle and the sources alike. Not timed:
// bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT, sh, tmpRepo } from "../helpers.ts";
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
/** The module URLs Node loads for one pkgkit command, relative to the checkout where inside it; its stdout. */
function run(args: string[], env: Record<string, string> = {}): { loaded: string[]; stdout: string } {
  const log = join(logs, `${++runs}.txt`);
  const r = sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, ...args], repo.dir, { ...freshCache(), ...env, PKGKIT_MODULE_LOG: log });
  assert.is(r.code, 0, `pkgkit ${args.join(" ")}: ${r.stderr}`);
  return { loaded: readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, "")), stdout: r.stdout };
}
const modulesLoaded = (args: string[], env: Record<string, string> = {}) => run(args, env).loaded;

// The libraries of the registry client (its transport, undici) and of the signers.
const clientLibraries = /node_modules\/(undici|@sigstore\/[^/]+)\//;
// pkgkit's own registry client: its sources, or its chunk of the bundle (see lib/bundle.mjs). A
// pkg.config.ts imports "pkgkit", whose entry (lib/index.ts) re-exports createRegistry, so only a
// build.yml package can go without it.
const registryClientSources = /^lib\/registry\/(client|transport|auth|credentials)\.ts$/;
// In the bundle, esbuild puts the client in whichever chunk the lazy imports that need it share
// (registry-*.mjs, or a chunk with a hashed name): found by its code.
const registryClient = (u: string) =>
  registryClientSources.test(u) || (/^lib\/dist\/.*\.mjs$/.test(u) && readFileSync(join(ROOT, u), "utf8").includes("function createRegistry("));
const typeScript = /node_modules\/(tsx|typescript|esbuild)\//;

for (const mode of ["bundle", "sources"] as const) {
  const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
  for (const command of ["show-tag", "plan"]) {
    test(`${command} (${mode}) evaluates neither the registry client nor the signing libraries`, () => {
      for (const dir of ["yml", "ts"]) {
        const loaded = modulesLoaded([command, dir], env);
        assert.ok(loaded.includes("lib/bin.mjs"), `the hook saw the bin: ${loaded.join(" ")}`);
        assert.equal(loaded.filter((u) => clientLibraries.test(u)), [], `${command} ${dir}`);
        // A pkg.config.ts importing definePackage alone gets it from the bundle's light entry
        // (lib/define-entry.ts) when the bin compiles it; through tsx, from lib/index.ts.
        if (dir === "yml" || mode === "bundle") assert.equal(loaded.filter(registryClient), [], `${command} ${dir}`);
      }
    });
  }
}

// What show-tag and plan have no use for: each command's implementation loads where the command
// runs (lib/cli/main.ts imports it with `await import()`). Each part is found two ways. In the
// sources, by the module URLs the hook logs (lib/sign/schema.ts is not signing: it is the package
// spec's `signer` field, which spec.ts validates). In the bundle, by a function the part declares:
// esbuild names chunks by content hash and puts a module in whichever chunk the lazy imports that
// need it share, but keeps function names (as registryClient above finds the client); the last
// test below checks that each name is still declared somewhere in the bundle, so a renamed
// function cannot make its check pass unseen.
const parts: Record<string, { sources: RegExp; declares: string[] }> = {
  "signing (the signers, recipes/sign, lib/cli/sign)": { sources: /^(lib\/sign\/(?!schema\.ts$)|recipes\/sign\.ts$|lib\/cli\/sign\.ts$)/, declares: ["createSigner", "verifyPackages", "signingOptions"] },
  "sbom (recipes/sbom, the SBOM documents, lib/cli/sbom)": { sources: /^(recipes\/sbom|lib\/attest\/(sbom|spdx|cyclonedx|inventory)|lib\/cli\/sbom)\.ts$/, declares: ["packageSbom", "sbomPredicate"] },
  "doctor (recipes/doctor, lib/doctor, lib/cli/doctor)": { sources: /^(recipes\/doctor\.ts|lib\/doctor\/.*|lib\/cli\/doctor\.ts)$/, declares: ["formatDoctor", "runChecks"] },
  "apply (recipes/apply, lib/apply, lib/cli/apply)": { sources: /^(recipes\/apply|lib\/apply|lib\/cli\/apply)\.ts$/, declares: ["applyPlan", "parsePlanFile"] },
  "a run's reports (recipes/report)": { sources: /^recipes\/report\.ts$/, declares: ["summaryTable", "consoleReporter"] },
  "the plan runner (lib/run.ts)": { sources: /^lib\/run\.ts$/, declares: ["runSteps"] },
  "plan formatting (lib/plan/format)": { sources: /^lib\/plan\/format\.ts$/, declares: ["formatPlan"] },
  "the push and its image export (lib/push, lib/image, lib/gzip and fflate)": { sources: /^(lib\/(push|image|gzip)\.ts|node_modules\/fflate\/.*)$/, declares: ["pushImage", "imageBlobsFromArchive", "deterministicGzip"] },
  "the attestations a push attaches (lib/attest/attach, documents)": { sources: /^lib\/attest\/(attach|documents)\.ts$/, declares: ["attachAttestations", "attestationDocuments"] },
  "assembled contexts and the scratch directory (lib/context, lib/scratch)": { sources: /^lib\/(context|scratch)\.ts$/, declares: ["assembleContext", "createScratch"] },
};
const declaring = (u: string, names: string[]) => /^lib\/dist\/.*\.mjs$/.test(u) && names.some((n) => readFileSync(join(ROOT, u), "utf8").includes(`function ${n}(`));
/** The loaded modules (sources, or chunks of the bundle) of each part. */
function partsIn(loaded: string[], which: string[]): Record<string, string[]> {
  return Object.fromEntries(which.map((name) => [name, loaded.filter((u) => parts[name]!.sources.test(u) || declaring(u, parts[name]!.declares))]));
}
const unused: Record<string, string[]> = {
  "show-tag": Object.keys(parts),
  // plan prints a plan (lib/plan/format); it runs nothing and reports no run.
  plan: Object.keys(parts).filter((p) => !p.startsWith("plan formatting")),
};

for (const mode of ["bundle", "sources"] as const) {
  const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
  for (const command of ["show-tag", "plan"]) {
    test(`${command} of a build.yml package (${mode}) evaluates none of signing, sbom, doctor, apply, nor ${command === "plan" ? "a run's reports" : "plan or run reports"}`, () => {
      const loaded = modulesLoaded([command, "yml"], env);
      assert.ok(loaded.includes(mode === "bundle" ? "lib/dist/cli.mjs" : "lib/cli/main.ts"), loaded.join(" "));
      const none = Object.fromEntries(unused[command]!.map((p) => [p, [] as string[]]));
      assert.equal(partsIn(loaded, unused[command]!), none);
    });
  }
}

// A build runs a plan of build steps: lib/run.ts loads what push, attest, sign and context steps
// need when such a step runs (lib/image.ts makes fflate's tables as it loads).
const unusedByBuild = Object.keys(parts).filter((p) => !/^(a run's reports|the plan runner|plan formatting)/.test(p));
for (const mode of ["bundle", "sources"] as const) {
  test(`build of a build.yml package (${mode}) evaluates none of the push and its image export, the attestations, assembled contexts, signing, sbom, doctor, apply`, () => {
    const env: Record<string, string> = mode === "sources" ? { PKGKIT_NO_BUNDLE: "1" } : {};
    const org = `startup-build-${process.pid}`;
    try {
      const loaded = modulesLoaded(["build", "--force", "--arches", "amd64", "--org", org, "yml"], env);
      assert.ok(loaded.includes(mode === "bundle" ? "lib/dist/cli.mjs" : "lib/cli/main.ts"), loaded.join(" "));
      assert.ok(partsIn(loaded, ["the plan runner (lib/run.ts)"])["the plan runner (lib/run.ts)"]!.length > 0, `the build ran a plan: ${loaded.join(" ")}`);
      const none = Object.fromEntries(unusedByBuild.map((p) => [p, [] as string[]]));
      assert.equal(partsIn(loaded, unusedByBuild), none);
    } finally {
      const refs = sh(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", `${org}/yml`]).stdout.split("\n").filter(Boolean);
      if (refs.length) sh(["docker", "image", "rm", ...refs]);
    }
  });
}

test("the checks above see each part where it is loaded: every name they look for is declared in the bundle, and a push plan loads signing", () => {
  const chunks = readdirSync(join(ROOT, "lib/dist")).filter((f) => f.endsWith(".mjs")).map((f) => `lib/dist/${f}`);
  for (const [name, part] of Object.entries(parts))
    for (const n of part.declares) assert.ok(chunks.some((u) => declaring(u, [n])), `${name}: no chunk of lib/dist declares function ${n}`);
  // plan --push signs what it pushes: its chunks hold the signers (it fails at the registry, a
  // docker.io org nobody logged in to, after they are loaded; only what was loaded matters here).
  const log = join(logs, "push-plan.txt");
  sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, "plan", "--push", "yml"], repo.dir, { PKGKIT_MODULE_LOG: log, PKGKIT_ORG: "startup" });
  const loaded = readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, ""));
  assert.ok(partsIn(loaded, ["signing (the signers, recipes/sign, lib/cli/sign)"])["signing (the signers, recipes/sign, lib/cli/sign)"]!.length > 0, loaded.join(" "));
});

test("`pkgkit --help` on the bundle evaluates neither zod nor the package model, and says what migrate reads and writes as lib/load.ts names them", () => {
  const log = join(logs, "help.txt");
  const r = sh([process.execPath, "--import", join(ROOT, "test/module-log.mjs"), BIN, "--help"], repo.dir, { PKGKIT_MODULE_LOG: log });
  assert.is(r.code, 0, r.stderr);
  const loaded = readFileSync(log, "utf8").trim().split("\n").map((u) => u.replace(`file://${ROOT}/`, ""));
  assert.ok(loaded.includes("lib/dist/cli.mjs"), loaded.join(" "));
  // zod's chunk, found by zod's own error class; the spec by its parser.
  assert.equal(loaded.filter((u) => /^lib\/dist\//.test(u) && /\bZodError\b/.test(readFileSync(join(ROOT, u), "utf8"))), []);
  assert.equal(loaded.filter((u) => declaring(u, ["parseSpec", "resolvePackages", "loadPackages"])), []);
  // main.ts spells these file names itself (lib/load.ts imports zod through the spec).
  assert.match(r.stdout, `migrate   write the ${CONFIG_FILE} equivalent of a LinuxKit ${BUILD_YML}\n`);
});

test("a build.yml-only run on the bundle loads no TypeScript compiler and no package (zod, yaml, fflate and zx are bundled in)", () => {
  for (const command of ["show-tag", "plan"]) {
    const loaded = modulesLoaded([command, "yml"]);
    assert.ok(loaded.includes("lib/dist/cli.mjs"), `the bundle ran: ${loaded.join(" ")}`);
    assert.equal(loaded.filter((u) => typeScript.test(u)), [], command);
    assert.equal(loaded.filter((u) => /(^|\/)node_modules\//.test(u)), [], `${command}: no package`);
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
    assert.equal(warm.loaded.filter((u) => typeScript.test(u)), [], `${command} warm`);
    assert.equal(warm.loaded.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u) || /\.ts$/.test(u)), [], `${command} warm: no .ts module`);
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
  assert.ok(light.includes("lib/dist/define.mjs"), light.join(" "));
  assert.not.ok(light.includes("lib/dist/index.mjs"), light.join(" "));
  assert.equal(light.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u)), []);
  const more = modulesLoaded(["show-tag", "ts-more"]);
  assert.ok(more.includes("lib/dist/index.mjs"), more.join(" "));
  // The check for the registry client sees it where it is loaded (lib/index.ts exports createRegistry).
  assert.ok(more.some(registryClient), more.join(" "));
  assert.equal(more.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u)), []);
});

test.run();
