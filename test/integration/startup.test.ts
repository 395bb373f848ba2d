// Start-up: what `show-tag` and `plan` load, counted as the modules Node actually loads (a loader
// hook, test/module-log.mjs), so it holds for the bundle and the sources alike. Not timed:
// bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT, sh, tmpRepo } from "../helpers.ts";

// The pkg.config.ts imports "pkgkit" as a user's does, through node_modules/pkgkit (a link to this checkout).
const repo = tmpRepo({
  ".gitignore": "node_modules\n",
  "yml/build.yml": "image: yml\norg: startup\n",
  "yml/Dockerfile": "FROM scratch\n",
  "ts/pkg.config.ts": `import { definePackage } from "pkgkit";\nexport default definePackage({ image: "ts", org: "startup" });\n`,
  "ts/Dockerfile": "FROM scratch\n",
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
        if (dir === "yml") assert.equal(loaded.filter(registryClient), [], `${command} ${dir}`);
      }
    });
  }
}

test("a build.yml-only run on the bundle loads no TypeScript compiler and no package but zx (the shell)", () => {
  for (const command of ["show-tag", "plan"]) {
    const loaded = modulesLoaded([command, "yml"]);
    assert.ok(loaded.includes("lib/dist/cli.mjs"), `the bundle ran: ${loaded.join(" ")}`);
    assert.equal(loaded.filter((u) => typeScript.test(u)), [], command);
    assert.equal(loaded.filter((u) => /(^|\/)node_modules\//.test(u) && !/(^|\/)node_modules\/zx\//.test(u)), [], `${command}: no package but zx, the shell`);
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

test("a pkg.config.ts run on the bundle gets pkgkit's entry from the bundle, compiling none of pkgkit's sources", () => {
  const loaded = modulesLoaded(["show-tag", "ts"]);
  assert.ok(loaded.includes("lib/dist/index.mjs"), loaded.join(" "));
  // The check for the registry client sees it where it is loaded (lib/index.ts exports createRegistry).
  assert.ok(loaded.some(registryClient), loaded.join(" "));
  assert.equal(loaded.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u)), []);
});

test.run();
