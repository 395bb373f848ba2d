// Start-up on Deno and Bun: what `deno run -A pkg.config.ts show-tag` and `bun pkg.config.ts
// show-tag` load, where the config imports "pkgkit" as a user's does (node_modules/pkgkit, its
// "deno" and "bun" exports: lib/index.deno-bun.mjs). Modules actually evaluated, counted as Deno's
// coverage lists them (each script V8 ran) and as a Bun plugin sees them load
// (test/module-log-bun.mjs); inside the bytecode build Bun takes (lib/dist/deno-bun/bun.js), as
// each module notes once it ran (`bundle:<path>`). Not timed: bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledCopy, checkoutCopy, ROOT, sh, tmpRepo } from "../helpers.ts";

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
      : readFileSync(out, "utf8").trim().split("\n").map((p) => (p.startsWith("bundle:") ? p : `file://${p}`));
  const loaded = urls.map((u) => u.replace(`file://${pkgkit}/`, ""));
  return { loaded, stdout: r.stdout, stderr: r.stderr };
}

const sources = (loaded: string[]) => loaded.filter((u) => /^(lib|recipes)\/.*\.ts$/.test(u));
const chunks = (loaded: string[]) => loaded.filter((u) => u.startsWith("lib/dist/deno-bun/") && u !== BUN_BUILD);
/** Bun's bytecode build of the four entries (lib/bundle.mjs), and the modules in it that ran. */
const BUN_BUILD = "lib/dist/deno-bun/bun.js";
const evaluated = (loaded: string[]) => loaded.flatMap((u) => (u.startsWith("bundle:") ? [u.slice("bundle:".length)] : []));
/** Whatever of pkgkit's bundles ran: Deno's chunks, or Bun's bytecode build and the modules it evaluated. */
const bundled = (loaded: string[]) => [...chunks(loaded), ...loaded.filter((u) => u === BUN_BUILD), ...evaluated(loaded)];
/** The chunks of the Deno and Bun build in `pkgkit` holding `text` (esbuild names chunks by content hash; not Bun's one file, which holds everything). */
const chunksWith = (pkgkit: string, text: string) =>
  readdirSync(join(pkgkit, "lib/dist/deno-bun"))
    .filter((f) => f.endsWith(".mjs") && readFileSync(join(pkgkit, "lib/dist/deno-bun", f), "utf8").includes(text))
    .map((f) => `lib/dist/deno-bun/${f}`);

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a pkg.config.ts run directly gets pkgkit from ${runtime === "deno" ? "the Deno and Bun bundle's chunks" : "the bytecode build (lib/dist/deno-bun/bun.js)"}, none of its .ts sources, and prints what the sources print`, () => {
    const fresh = showTag(runtime, repo.dir, ROOT);
    assert.match(fresh.stdout, TAG);
    assert.ok(fresh.loaded.includes("lib/index.deno-bun.mjs"), fresh.loaded.join(" "));
    assert.equal(sources(fresh.loaded), []);
    const dax = chunksWith(ROOT, "KillController = class");
    const zx = chunksWith(ROOT, "ProcessPromise = class");
    assert.is(dax.length, 1, dax.join(" "));
    assert.is(zx.length, 1, zx.join(" "));
    if (runtime === "deno") {
      assert.ok(fresh.loaded.includes("lib/dist/deno-bun/index.mjs"), fresh.loaded.join(" "));
      assert.not.ok(fresh.loaded.includes(BUN_BUILD), fresh.loaded.join(" "));
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
      // nor zx, loads for a show-tag.
      assert.equal(fresh.loaded.filter((u) => dax.includes(u) || zx.includes(u)), []);
    } else {
      // One file, none of the chunks; inside it, show-tag's command and no other's.
      assert.ok(fresh.loaded.includes(BUN_BUILD), fresh.loaded.join(" "));
      assert.equal(chunks(fresh.loaded), []);
      const ran = evaluated(fresh.loaded);
      for (const mod of ["lib/index.ts", "lib/cli/main.ts", "lib/cli/show.ts", "lib/git.ts"]) assert.ok(ran.includes(mod), `${mod} ran: ${ran.join(" ")}`);
      for (const mod of ["lib/cli/doctor.ts", "lib/cli/sbom.ts", "lib/cli/migrate.ts"]) assert.not.ok(ran.includes(mod), mod);
      // Neither shell library: zx (bundled in) never ran; dax is not in it, and never loaded.
      assert.equal(ran.filter((m) => m.includes("node_modules/zx/")), []);
      assert.equal(fresh.loaded.filter((u) => u.includes("/dax-sh/")), []);
    }
    // Nor @deno/shim-deno's polyfill of Deno's namespace.
    assert.equal(fresh.loaded.filter((u) => /(^|\/)node_modules\/@deno\/shim-deno/.test(u)), []);
    // Without the bundle, the sources: the checks above can see them.
    const plain = showTag(runtime, repo.dir, ROOT, { PKGKIT_NO_BUNDLE: "1" });
    assert.is(plain.stdout, fresh.stdout);
    assert.ok(plain.loaded.includes("lib/index.ts"), plain.loaded.join(" "));
    assert.ok(plain.loaded.includes("lib/cli/show.ts"), plain.loaded.join(" "));
    assert.equal(bundled(plain.loaded), []);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: plan asks the engine through the steps' shell, the runtime's own: ${runtime === "deno" ? "dax, with Deno's namespace (not @deno/shim-deno's polyfill of it)" : "zx"}; the other stays unloaded`, () => {
    const r = showTag(runtime, repo.dir, ROOT, {}, "dn", "plan");
    assert.match(r.stdout, "docker buildx build");
    const dax = chunksWith(ROOT, "KillController = class");
    const zx = chunksWith(ROOT, "ProcessPromise = class");
    if (runtime === "deno") assert.equal(r.loaded.filter((u) => dax.includes(u) || zx.includes(u)), dax);
    else {
      // zx inside the bytecode build ran; dax, which it does not hold, never loaded.
      assert.ok(r.loaded.includes(BUN_BUILD), r.loaded.join(" "));
      assert.ok(evaluated(r.loaded).some((m) => m.startsWith("node_modules/zx/")), evaluated(r.loaded).join(" "));
      assert.equal(r.loaded.filter((u) => dax.includes(u) || zx.includes(u) || u.includes("/dax-sh/")), []);
    }
    assert.equal(r.loaded.filter((u) => /(^|\/)node_modules\/@deno\/shim-deno/.test(u)), []);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  test(`${runtime}: a config importing "pkgkit" and "pkgkit/recipes" gets both from the bundle, or both from the sources: one copy of each module`, () => {
    const fresh = showTag(runtime, repo.dir, ROOT, {}, "dr");
    assert.match(fresh.stdout, RECIPES_TAG);
    assert.ok(fresh.loaded.includes("lib/recipes.deno-bun.mjs"), fresh.loaded.join(" "));
    if (runtime === "deno") assert.ok(fresh.loaded.includes("lib/dist/deno-bun/recipes.mjs") && fresh.loaded.includes("lib/dist/deno-bun/index.mjs"), fresh.loaded.join(" "));
    else {
      assert.equal(chunks(fresh.loaded), []);
      assert.ok(evaluated(fresh.loaded).includes("recipes/index.ts") && evaluated(fresh.loaded).includes("lib/index.ts"), fresh.loaded.join(" "));
    }
    assert.equal(sources(fresh.loaded), []);
    const plain = showTag(runtime, repo.dir, ROOT, { PKGKIT_NO_BUNDLE: "1" }, "dr");
    assert.is(plain.stdout, fresh.stdout);
    assert.ok(plain.loaded.includes("recipes/index.ts") && plain.loaded.includes("lib/index.ts"), plain.loaded.join(" "));
    assert.equal(bundled(plain.loaded), []);
  });
}

test("bun: each entry's shim gives the bytecode build's entry, the same names and the same values (one copy of each module)", () => {
  const script = join(logs, "entries.mjs");
  writeFileSync(
    script,
    `import { bunEntry } from ${JSON.stringify(join(ROOT, "lib/deno-bun-fresh.mjs"))};
const out = {};
for (const name of ["index", "recipes", "registry", "cli"]) {
  const shim = await import(${JSON.stringify(join(ROOT, "lib"))} + "/" + name + ".deno-bun.mjs");
  const built = await bunEntry(name);
  out[name] = { shim: Object.keys(shim).sort(), built: built ? Object.keys(built).sort() : null, same: !!built && Object.keys(shim).every((k) => shim[k] === built[k]) };
}
console.log(JSON.stringify(out));
`,
  );
  const r = sh([BUN, script], logs);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { shim: string[]; built: string[] | null; same: boolean }>;
  for (const [name, e] of Object.entries(out)) {
    assert.ok(e.shim.length > 0, name);
    assert.equal(e.built, e.shim, name);
    assert.ok(e.same, `${name}: every export is the bytecode build's`);
  }
});

test("bun: a bytecode build another Bun made (its record names another version) is not taken: the chunks run, and print the same", () => {
  const record = join(copy, "lib/dist/deno-bun/sources.json");
  const text = readFileSync(record, "utf8");
  const built = showTag("bun", copyRepo.dir, copy);
  assert.ok(built.loaded.includes(BUN_BUILD), built.loaded.join(" "));
  try {
    const r = JSON.parse(text) as { bun: string };
    assert.match(r.bun, /^\d+\.\d+\.\d+.*\+[0-9a-f]{40}$/);
    writeFileSync(record, JSON.stringify({ ...r, bun: r.bun.replace(/\+.*/, "+0000000000000000000000000000000000000000") }));
    const other = showTag("bun", copyRepo.dir, copy);
    assert.is(other.stdout, built.stdout);
    assert.not.ok(other.loaded.includes(BUN_BUILD), other.loaded.join(" "));
    assert.equal(evaluated(other.loaded), []);
    assert.ok(other.loaded.includes("lib/dist/deno-bun/index.mjs"), other.loaded.join(" "));
    assert.equal(sources(other.loaded), []);
  } finally {
    writeFileSync(record, text);
  }
});

// A node_modules/.bin/bun that fails, and two that "build" a file naming the checkout's path (as
// Bun's bundler would fill in import.meta.url), in the JavaScript or in the bytecode beside it.
const fakeBuild = (js: string, jsc: string) => `#!/bin/sh
[ "$1" = build ] || { printf '1.0.0+0000000000000000000000000000000000000000'; exit 0; }
while [ $# -gt 0 ]; do [ "$1" = --outdir ] && out=$2; shift; done
printf '// @bun @bytecode @bun-cjs\\n%s\\n' "${js}" > "$out/bun.js"
printf '%s' "${jsc}" > "$out/bun.js.jsc"
`;
for (const [what, script, why] of [
  ["exits 3", "#!/bin/sh\necho 'pkgkit-test: this bun fails' >&2\nexit 3\n", "pkgkit-test: this bun fails"],
  ["leaves the checkout's path in bun.js", fakeBuild('var where = \\"$PWD/\\";', "bytecode"), "bun.js names this checkout's path"],
  ["leaves the checkout's path in bun.js.jsc", fakeBuild("var where;", "$PWD/"), "bun.js.jsc names this checkout's path"],
] as const) {
  test(`bun: when Bun's bytecode build ${what}, lib/bundle.mjs says why and goes on: none of the build is left, the record names no Bun, and Bun takes the chunks`, () => {
    const broken = checkoutCopy("pkgkit-startup-no-bytecode-", { bun: script });
    const brokenRepo = repoUsing(broken);
    try {
      const r = sh([process.execPath, join(broken, "lib/bundle.mjs")], tmpdir());
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stderr, why);
      assert.match(r.stderr, "so no bytecode build for Bun");
      assert.not.match(r.stderr, "bundle: bundle:");
      for (const f of ["lib/dist/deno-bun/bun.js", "lib/dist/deno-bun/bun.js.jsc", "lib/dist/bun-input"]) assert.not.ok(existsSync(join(broken, f)), f);
      const record = JSON.parse(readFileSync(join(broken, "lib/dist/deno-bun/sources.json"), "utf8")) as { files: string[]; bun?: string };
      assert.ok(record.files.includes("lib/index.ts"), record.files.join(" "));
      assert.is(record.bun, undefined);
      const ran = showTag("bun", brokenRepo.dir, broken);
      assert.match(ran.stdout, TAG);
      assert.ok(ran.loaded.includes("lib/dist/deno-bun/index.mjs"), ran.loaded.join(" "));
      assert.not.ok(ran.loaded.includes(BUN_BUILD), ran.loaded.join(" "));
      assert.equal(evaluated(ran.loaded), []);
      assert.equal(sources(ran.loaded), []);
    } finally {
      rmSync(broken, { recursive: true, force: true });
      brokenRepo.rm();
    }
  });
}

test("deno and bun: a bundle older than a source it was built from never runs: the edited sources do", () => {
  for (const runtime of ["deno", "bun"] as const) {
    const before = showTag(runtime, copyRepo.dir, copy);
    assert.match(before.stdout, TAG);
    assert.ok(bundled(before.loaded).length > 0, `${runtime}: the copy's bundle ran: ${before.loaded.join(" ")}`);
  }
  // The edit shows itself when it runs.
  appendFileSync(join(copy, "lib/cli/show.ts"), '\nconsole.error("pkgkit-test: the edited show.ts ran");\n');
  for (const runtime of ["deno", "bun"] as const) {
    const after = showTag(runtime, copyRepo.dir, copy);
    assert.match(after.stdout, TAG);
    assert.match(after.stderr, "pkgkit-test: the edited show.ts ran");
    assert.equal(bundled(after.loaded), [], runtime);
    assert.ok(after.loaded.includes("lib/index.ts") && after.loaded.includes("lib/cli/show.ts"), `${runtime}: ${after.loaded.join(" ")}`);
  }
});

test.run();
