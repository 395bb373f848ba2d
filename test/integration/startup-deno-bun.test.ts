// Start-up on Deno and Bun: what `deno run -A pkg.config.ts show-tag` and `bun pkg.config.ts
// show-tag` load, where the config imports "pkgkit" as a user's does (node_modules/pkgkit, its
// "deno" and "bun" exports: lib/index.deno-bun.mjs). Modules actually evaluated, counted as Deno's
// coverage lists them (each script V8 ran) and as a Bun plugin sees them load
// (test/module-log-bun.mjs). Not timed: bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledCopy, ROOT, sh, tmpRepo } from "../helpers.ts";

const DENO = join(ROOT, "node_modules/.bin/deno");
const BUN = join(ROOT, "node_modules/.bin/bun");
const TAG = /^startup\/dn:[0-9a-f]{40}\n$/;
const RECIPES_TAG = /^startup\/dr:[0-9a-f]{40}\n$/;

/** A repository whose package's pkg.config.ts imports "pkgkit" from node_modules/pkgkit, a link to `pkgkit`. */
function repoUsing(pkgkit: string) {
  const repo = tmpRepo({
    ".gitignore": "node_modules\n",
    "dn/pkg.config.ts": `import { definePackage } from "pkgkit";\nexport default definePackage({ image: "dn", org: "startup" });\n`,
    "dn/Dockerfile": "FROM scratch\n",
    // Deno finds an npm package in node_modules only as a dependency a package.json declares.
    "dn/package.json": `{ "private": true, "dependencies": { "pkgkit": "*" } }\n`,
    // A config that takes a recipe too: "pkgkit/recipes" comes from the same side as "pkgkit".
    "dr/pkg.config.ts": `import { definePackage } from "pkgkit";\nimport { packagesFromDefinitions } from "pkgkit/recipes";\nexport default definePackage({ image: typeof packagesFromDefinitions === "function" ? "dr" : "x", org: "startup" });\n`,
    "dr/Dockerfile": "FROM scratch\n",
    "dr/package.json": `{ "private": true, "dependencies": { "pkgkit": "*" } }\n`,
  });
  mkdirSync(join(repo.dir, "node_modules"));
  symlinkSync(pkgkit, join(repo.dir, "node_modules/pkgkit"));
  return repo;
}

const logs = mkdtempSync(join(tmpdir(), "pkgkit-startup-deno-bun-"));
const repo = repoUsing(ROOT);
// A copy of the package with a bundle of its own, whose sources a test edits.
const copy = bundledCopy("pkgkit-startup-deno-bun-copy-");
const copyRepo = repoUsing(copy);
test.after(() => {
  for (const dir of [logs, copy]) rmSync(dir, { recursive: true, force: true });
  repo.rm();
  copyRepo.rm();
});

let runs = 0;
/**
 * `show-tag` (or `command`) of the package, run as its pkg.config.ts under `runtime`: the modules
 * evaluated (file URLs; those inside `pkgkit` relative to it), its stdout and stderr.
 */
function showTag(runtime: "deno" | "bun", dir: string, pkgkit: string, env: Record<string, string> = {}, pkg = "dn", command = "show-tag") {
  const out = join(logs, `${++runs}`);
  const argv =
    runtime === "deno"
      ? [DENO, "run", "-A", "--quiet", `--coverage=${out}`, `${pkg}/pkg.config.ts`, command]
      : [BUN, "--preload", join(ROOT, "test/module-log-bun.mjs"), `${pkg}/pkg.config.ts`, command];
  const r = sh(argv, dir, { ...env, PKGKIT_MODULE_LOG: out });
  assert.is(r.code, 0, `${runtime} ${command}: ${r.stderr}`);
  const urls =
    runtime === "deno"
      ? readdirSync(out).map((f) => JSON.parse(readFileSync(join(out, f), "utf8")) as { url: string; functions: { ranges: { count: number }[] }[] })
          // The script's own function (its top level) ran at least once.
          .filter((s) => s.functions[0]?.ranges[0]?.count)
          .map((s) => s.url)
      : readFileSync(out, "utf8").trim().split("\n").map((p) => `file://${p}`);
  const loaded = urls.map((u) => u.replace(`file://${pkgkit}/`, ""));
  return { loaded, stdout: r.stdout, stderr: r.stderr };
}

const sources = (loaded: string[]) => loaded.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u));
const chunks = (loaded: string[]) => loaded.filter((u) => u.startsWith("lib/dist/deno-bun/"));
/** The chunks of the Deno and Bun build in `pkgkit` holding `text` (esbuild names chunks by content hash). */
const chunksWith = (pkgkit: string, text: string) =>
  readdirSync(join(pkgkit, "lib/dist/deno-bun")).filter((f) => readFileSync(join(pkgkit, "lib/dist/deno-bun", f), "utf8").includes(text)).map((f) => `lib/dist/deno-bun/${f}`);

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a pkg.config.ts run directly gets pkgkit from the Deno and Bun bundle, none of its .ts sources, and prints what the sources print`, () => {
    const fresh = showTag(runtime, repo.dir, ROOT);
    assert.match(fresh.stdout, TAG);
    assert.ok(fresh.loaded.includes("lib/index.deno-bun.mjs"), fresh.loaded.join(" "));
    assert.ok(fresh.loaded.includes("lib/dist/deno-bun/index.mjs"), fresh.loaded.join(" "));
    assert.equal(sources(fresh.loaded), []);
    // The CLI is the bundle's too: show-tag's chunk, and no other command's.
    const show = chunksWith(ROOT, "function showTag(");
    assert.is(show.length, 1, show.join(" "));
    assert.ok(fresh.loaded.includes(show[0]!), fresh.loaded.join(" "));
    for (const other of ["function formatDoctor(", "function packageSbom(", "function migrate("]) {
      const theirs = chunksWith(ROOT, other);
      assert.ok(theirs.length > 0, `a chunk declares ${other}`);
      assert.equal(fresh.loaded.filter((u) => theirs.includes(u)), [], other);
    }
    // git's tag queries start git itself (lib/shell.ts, directShell): neither shell library, dax
    // nor zx, loads for a show-tag, nor @deno/shim-deno's polyfill of Deno's namespace.
    const dax = chunksWith(ROOT, "KillController = class");
    const zx = chunksWith(ROOT, "ProcessPromise = class");
    assert.is(dax.length, 1, dax.join(" "));
    assert.is(zx.length, 1, zx.join(" "));
    assert.equal(fresh.loaded.filter((u) => dax.includes(u) || zx.includes(u)), []);
    assert.equal(fresh.loaded.filter((u) => /(^|\/)node_modules\/@deno\/shim-deno/.test(u)), []);
    // Without the bundle, the sources: the checks above can see them.
    const plain = showTag(runtime, repo.dir, ROOT, { PKGKIT_NO_BUNDLE: "1" });
    assert.is(plain.stdout, fresh.stdout);
    assert.ok(plain.loaded.includes("lib/index.ts"), plain.loaded.join(" "));
    assert.ok(plain.loaded.includes("lib/cli/show.ts"), plain.loaded.join(" "));
    assert.equal(chunks(plain.loaded), []);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: plan asks the engine through the steps' shell, the runtime's own: ${runtime === "deno" ? "dax, with Deno's namespace (not @deno/shim-deno's polyfill of it)" : "zx"}; the other stays unloaded`, () => {
    const r = showTag(runtime, repo.dir, ROOT, {}, "dn", "plan");
    assert.match(r.stdout, "docker buildx build");
    const dax = chunksWith(ROOT, "KillController = class");
    const zx = chunksWith(ROOT, "ProcessPromise = class");
    assert.equal(r.loaded.filter((u) => dax.includes(u) || zx.includes(u)), runtime === "deno" ? dax : zx);
    assert.equal(r.loaded.filter((u) => /(^|\/)node_modules\/@deno\/shim-deno/.test(u)), []);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a config importing "pkgkit" and "pkgkit/recipes" gets both from the bundle, or both from the sources: one copy of each module`, () => {
    const fresh = showTag(runtime, repo.dir, ROOT, {}, "dr");
    assert.match(fresh.stdout, RECIPES_TAG);
    assert.ok(fresh.loaded.includes("lib/recipes.deno-bun.mjs") && fresh.loaded.includes("lib/dist/deno-bun/recipes.mjs"), fresh.loaded.join(" "));
    assert.ok(fresh.loaded.includes("lib/dist/deno-bun/index.mjs"), fresh.loaded.join(" "));
    assert.equal(sources(fresh.loaded), []);
    const plain = showTag(runtime, repo.dir, ROOT, { PKGKIT_NO_BUNDLE: "1" }, "dr");
    assert.is(plain.stdout, fresh.stdout);
    assert.ok(plain.loaded.includes("recipes/index.ts") && plain.loaded.includes("lib/index.ts"), plain.loaded.join(" "));
    assert.equal(chunks(plain.loaded), []);
  });
}

test("deno and bun: a bundle older than a source it was built from never runs: the edited sources do", () => {
  for (const runtime of ["deno", "bun"] as const) {
    const before = showTag(runtime, copyRepo.dir, copy);
    assert.match(before.stdout, TAG);
    assert.ok(chunks(before.loaded).length > 0, `${runtime}: the copy's bundle ran: ${before.loaded.join(" ")}`);
  }
  // The edit shows itself when it runs.
  appendFileSync(join(copy, "lib/cli/show.ts"), '\nconsole.error("pkgkit-test: the edited show.ts ran");\n');
  for (const runtime of ["deno", "bun"] as const) {
    const after = showTag(runtime, copyRepo.dir, copy);
    assert.match(after.stdout, TAG);
    assert.match(after.stderr, "pkgkit-test: the edited show.ts ran");
    assert.equal(chunks(after.loaded), [], runtime);
    assert.ok(after.loaded.includes("lib/index.ts") && after.loaded.includes("lib/cli/show.ts"), `${runtime}: ${after.loaded.join(" ")}`);
  }
});

test.run();
