#!/usr/bin/env node
// Bundles the CLI into lib/dist/cli.mjs so the pkgkit bin starts without compiling TypeScript
// (about half its start-up time on Node). Runs on `npm ci` (prepare) and before `npm test`.
// What the CLI imports lazily (import()) goes to chunks of its own beside it, so a command loads
// only what it uses: show-tag of a pkg.config.ts package never loads YAML, nor show-tag and plan the
// registry client or the signers (an external package imported by a chunk loads with that chunk).
// Beside it, the public entry (lib/index.ts) as one CommonJS file with the CLI in it,
// lib/dist/index.cjs, for `tsx pkg.config.ts` (lib/index.node.cjs, lib/index.node.mjs), and
// lib/dist/cli.sources.json, which records the source files both were built from and their
// digest (bundle-sources.cjs): the bundle is used only while the files on disk give that digest;
// otherwise the sources load through tsx, so a stale bundle never runs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { SOURCES_RECORD, sourcesRecord } from "./bundle-sources.cjs";

const root = new URL("../", import.meta.url);
const BUNDLED = ["zod", "yaml", "fflate", "zx"];
/** The name of the Bun build's entry (bunBuild), which is no file. */
const BUN_ENTRIES = "pkgkit-bun-entries.mjs";
/** esbuild plugin for the Bun build (bunBuild): `import process from "node:process"` is the global process. */
const PROCESS_GLOBAL = "pkgkit-process-global";
const processGlobal = {
  name: PROCESS_GLOBAL,
  setup(b) {
    b.onResolve({ filter: /^node:process$/ }, () => ({ path: "process", namespace: PROCESS_GLOBAL }));
    b.onLoad({ filter: /.*/, namespace: PROCESS_GLOBAL }, () => ({ contents: "export default globalThis.process;", loader: "js" }));
  },
};

/** Every package import (a dependency's own dependencies too) stays external, but those of `bundled`. */
function externalPackagesBut(bundled) {
  const packageName = (path) => path.split("/").slice(0, path.startsWith("@") ? 2 : 1).join("/");
  return {
    name: "external-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => (bundled.includes(packageName(args.path)) ? undefined : { path: args.path, external: true }));
    },
  };
}
/**
 * The end of every shim this script writes: `export const { <names> } = pkgkit;`, the names sorted.
 * An ES module cannot pick what it re-exports at run time (`export *` is static), so each shim
 * names the exports of `what` (an entry of a build), which must be plain identifiers.
 */
function exportsOf(names, what) {
  const list = [...names].sort();
  if (list.length === 0 || list.some((n) => !/^[A-Za-z_$][\w$]*$/.test(n) || n === "default")) throw new Error(`bundle: unexpected exports of ${what}: ${list.join(", ")}`);
  return `export const {\n${list.map((n) => `  ${n},`).join("\n")}\n} = pkgkit;\n`;
}

/** lib/index.node.mjs: re-exports `names`, the public entry's, from the bundle or the sources. */
function esmShim(names) {
  return `// Written by lib/bundle.mjs from the exports of its build of lib/index.ts: edit lib/index.ts, then
// run \`node lib/bundle.mjs\`. test/unit/entry-shims.test.ts checks these names are lib/index.ts's.
//
// \`import "pkgkit"\` on Node (package.json exports: "node", "import"). While the bundle was built
// from the sources on disk (lib/bundle.mjs), the bundle's public entry: in the bin, the one inside
// the bin's own build (lib/dist/bin-index.mjs stands for it), so that a config file shares the
// CLI's modules; elsewhere (\`tsx pkg.config.ts\`), the CommonJS build with the CLI in it, loaded as
// one file (lib/index.node.cjs). Otherwise the sources (lib/index.ts, which tsx compiles). Deno
// and Bun have entries of their own (lib/index.deno-bun.mjs).
import { createRequire } from "node:module";
import { bundleIsFresh, binIsMain } from "./bundle-sources.cjs";

const pkgkit = !bundleIsFresh()
  ? await import("./index.ts")
  : binIsMain()
    ? await import("./dist/bin-index.mjs")
    : createRequire(import.meta.url)("./index.node.cjs");

${exportsOf(names, "lib/dist/index.mjs")}`;
}

/** What each source module of the bin's build runs last: its name, noted (see lib/bin-entry.ts). */
const EVALUATED = 'Symbol.for("pkgkit.evaluated")';
/** esbuild plugin: each module of the bundle (pkgkit's, and those of the packages bundled in) ends by noting that it ran. */
function evaluatedMarkers() {
  const rootPath = fileURLToPath(root);
  return {
    name: "evaluated-markers",
    setup(b) {
      b.onLoad({ filter: /\.(ts|js|cjs|mjs)$/ }, (args) => {
        const name = relative(rootPath, args.path);
        if (name.startsWith("..")) return undefined;
        const code = readFileSync(args.path, "utf8");
        return { contents: `${code}\n;(globalThis[${EVALUATED}] ??= []).push(${JSON.stringify(name)});\n`, loader: name.endsWith(".ts") ? "ts" : "js" };
      });
    },
  };
}
/** lib/dist/bin-index.mjs or bin-define.mjs: `names`, the exports of `entry` inside lib/dist/bin.cjs. */
function binShim(loader, entry, names) {
  return `// Written by lib/bundle.mjs: ${entry} for a config file the pkgkit bin loads, from the bin's own
// build (lib/dist/bin.cjs, which lib/bin-node.cjs lends as pkgkit.bin), so that it shares the CLI's modules.
const pkgkit = await globalThis[Symbol.for("pkgkit.bin")].${loader}();

${exportsOf(names, entry)}`;
}

const dist = new URL("./dist/", import.meta.url);
// What both builds share. zod and yaml are bundled in: loading their many small modules one by one
// (zod's 90-odd ES modules, yaml's 70-odd CommonJS ones) costs more than their code. fflate too:
// image.ts (gzip) is in the CLI's first chunk. zx (the shell on Node) too: as a package, Node loads
// its CommonJS files through the ES module loader (cjs-module-lexer over each), about 17 ms of a
// 0.16 s show-tag. So a build.yml show-tag loads no package at all. The rest stay packages.
// charset "ascii" (esbuild's default, spelled out): every non-ASCII character of the code is
// escaped, which lib/code-cache.cjs relies on to read the bin's build as latin1 (checked below).
const common = { bundle: true, platform: "node", target: "node20", charset: "ascii", plugins: [externalPackagesBut(BUNDLED)], logLevel: "warning", metafile: true };
// Chunks of an earlier build would stay behind, named by their content hashes.
rmSync(dist, { recursive: true, force: true });
const { metafile } = await build({
  // cli: what lib/index.ts imported by path runs (lib/cli/entry.ts). index and define: nothing
  // loads them (the bin gives a config file the entries inside its own build, lib/dist/bin.cjs);
  // built for their export names, which the shims below spell out (lib/index.node.mjs,
  // lib/dist/bin-index.mjs, lib/dist/bin-define.mjs).
  entryPoints: {
    cli: fileURLToPath(new URL("./cli/main.ts", import.meta.url)),
    index: fileURLToPath(new URL("./index.ts", import.meta.url)),
    define: fileURLToPath(new URL("./define-entry.ts", import.meta.url)),
  },
  outdir: fileURLToPath(dist),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  format: "esm",
  // yaml's CommonJS requires Node built-ins ("process"), which an ES module does through createRequire.
  banner: { js: 'import { createRequire as pkgkitCreateRequire } from "node:module"; const require = pkgkitCreateRequire(import.meta.url);' },
  ...common,
});

/** The ES module build's output for lib/index.ts. */
function indexOut() {
  const out = Object.entries(metafile.outputs).find(([o, m]) => m.entryPoint && o.endsWith("/index.mjs"));
  if (!out) throw new Error("bundle: no lib/dist/index.mjs in the ES module build's outputs");
  return out;
}

// The public entry again, as one CommonJS file with the CLI in it (what lib/cli/entry.ts imports
// when a config file is run): what `tsx pkg.config.ts` gets on Node while the bundle is fresh,
// through lib/index.node.cjs (`require("pkgkit")`, where tsx compiles a config to CommonJS) or
// lib/index.node.mjs (`import "pkgkit"`). One file that lib/index.node.cjs compiles as Node
// does, outside tsx's hooks: tsx would otherwise run each module of the bundle through its own
// transform, with a source map Node then parses, and the ES module chunks one by one through
// its module hooks thread. The packages bundled in are those of the ES module build.
const cjs = await build({
  entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
  outfile: fileURLToPath(new URL("./index.cjs", dist)),
  format: "cjs",
  // Compiled through node:vm with a code cache, as the bin's build below (lib/index.node.cjs).
  supported: { "dynamic-import": false },
  // define.ts and runtime.ts read their own file from import.meta.url (see callerFile): this one.
  define: { "import.meta.url": "pkgkitImportMetaUrl" },
  banner: { js: 'const pkgkitImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  ...common,
});

// The bin's build (lib/bin-entry.ts: the CLI, and the public entries a config file imports, each
// evaluated on first use), one CommonJS file, lib/dist/bin.cjs, which the bin loads with a V8 code
// cache (lib/code-cache.cjs): Node 20 caches compiled code for no ES module, and compiling the
// chunks above was a sixth of a show-tag. esbuild lowers import() to require() here (a script
// compiled through node:vm has no loader for import()): the few imports that must load an ES
// module (a config file, esbuild) go through the bin's own import() (lib/runtime.ts, importModule).
// Each module in it notes its name once it has run (pkgkit.evaluated, see EVALUATED): how
// test/integration/startup.test.ts sees what a command evaluated inside the one file.
const bin = await build({
  entryPoints: [fileURLToPath(new URL("./bin-entry.ts", import.meta.url))],
  outfile: fileURLToPath(new URL("./bin.cjs", dist)),
  format: "cjs",
  supported: { "dynamic-import": false },
  define: { "import.meta.url": "pkgkitImportMetaUrl" },
  banner: { js: 'const pkgkitImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  ...common,
  plugins: [evaluatedMarkers(), ...common.plugins],
});
for (const script of ["bin.cjs", "index.cjs"]) {
  const text = readFileSync(new URL(script, dist), "utf8");
  if (/\bimport\(/.test(text)) throw new Error(`bundle: lib/dist/${script} still calls import(), which a script compiled through node:vm cannot`);
  // lib/code-cache.cjs reads these as latin1 (a plain copy, where UTF-8 is decoded: about 2 ms of
  // a start), the same text only while every byte is ASCII. esbuild escapes the code's; what it
  // cannot escape is a comment it keeps (a property's doc comment): spell those in ASCII.
  const line = text.split("\n").findIndex((l) => /[^\x00-\x7f]/.test(l));
  if (line >= 0) throw new Error(`bundle: lib/dist/${script} line ${line + 1} has a non-ASCII character (in a comment kept from the sources?); write it in ASCII: ${text.split("\n")[line].trim()}`);
}
// `pkgkit` for a config file the bin loads (lib/config-cache.ts, lib/esm-hooks.mjs,
// lib/index.node.mjs): ES modules naming the exports of the entries in lib/dist/bin.cjs.
const defineOut = Object.entries(metafile.outputs).find(([out, o]) => o.entryPoint && out.endsWith("/define.mjs"));
if (!defineOut) throw new Error("bundle: no lib/dist/define.mjs in the ES module build's outputs");
writeFileSync(new URL("./bin-index.mjs", dist), binShim("publicEntry", "lib/index.ts", indexOut()[1].exports));
writeFileSync(new URL("./bin-define.mjs", dist), binShim("defineEntry", "lib/define-entry.ts", defineOut[1].exports));

// `import "pkgkit"` on Node gets lib/index.node.mjs (package.json exports), which re-exports
// the bundle's public entry while it is fresh, else the sources'. An ES module cannot re-export
// a module it picks at run time (`export *` is static), so it names each export: written here
// from what the bundle's index.mjs exports, so the list cannot drift from lib/index.ts's (a unit
// test checks the file against lib/index.ts). Written only when it differs: it is committed.
const shim = new URL("./index.node.mjs", import.meta.url);
const shimText = esmShim(indexOut()[1].exports);
let shimBefore;
try {
  shimBefore = readFileSync(shim, "utf8");
} catch {}
if (shimBefore !== shimText) writeFileSync(shim, shimText);

// The metafile names inputs relative to the working directory; the record, relative to the package root.
const inputs = new Set([...Object.keys(metafile.inputs), ...Object.keys(cjs.metafile.inputs), ...Object.keys(bin.metafile.inputs)]);
const files = [...inputs].map((f) => relative(fileURLToPath(root), f)).filter((f) => !f.startsWith("node_modules/")).sort();
writeFileSync(SOURCES_RECORD, `${JSON.stringify(sourcesRecord(root, files), null, 1)}\n`);

// Deno and Bun: the package's entries again (the public one, "pkgkit/recipes", "pkgkit/registry",
// "pkgkit/cli"), as ES modules of their own in lib/dist/deno-bun/, which `import "pkgkit"` (and
// the others) get there (package.json exports: "deno", "bun", import; lib/*.deno-bun.mjs) while
// they were built from the sources on disk, else the sources. A pkg.config.ts run directly
// (`deno run -A pkg.config.ts show-tag`, `bun pkg.config.ts show-tag`) then loads a few chunks
// instead of some 70 TypeScript modules and zod's and yaml's many small ones. One build for all four
// entries, so that they share one copy of each module. Besides the Node builds' packages, dax (the
// shell on Deno) is bundled in, with the Deno namespace it takes from @deno/shim-deno (a Node
// polyfill of it: node:net, node:tls, node:dns, ... and `which`) being Deno's own: dax is a Deno
// library, and this build runs only where Deno (or Bun, which loads zx, never dax) runs it. Its
// own record of its sources, so the Node builds above stay as they are.
{
  const out = new URL("./deno-bun/", dist);
  /** Each entry: its source and the shim package.json's exports name for Deno and Bun (both relative to lib/). */
  const entries = {
    index: { source: "./index.ts", shim: "./index.deno-bun.mjs", spec: '"pkgkit"' },
    recipes: { source: "../recipes/index.ts", shim: "./recipes.deno-bun.mjs", spec: '"pkgkit/recipes"' },
    registry: { source: "./registry/index.ts", shim: "./registry.deno-bun.mjs", spec: '"pkgkit/registry"' },
    cli: { source: "./cli/main.ts", shim: "./cli.deno-bun.mjs", spec: '"pkgkit/cli"' },
  };
  const denoShim = {
    name: "deno-namespace",
    setup(b) {
      b.onResolve({ filter: /^@deno\/shim-deno$/ }, (args) => ({ path: args.path, namespace: "deno-namespace" }));
      b.onLoad({ filter: /.*/, namespace: "deno-namespace" }, () => ({ contents: "export const Deno = globalThis.Deno;", loader: "js" }));
    },
  };
  const denoBun = await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, e]) => [name, fileURLToPath(new URL(e.source, import.meta.url))])),
    outdir: fileURLToPath(out),
    outExtension: { ".js": ".mjs" },
    splitting: true,
    format: "esm",
    banner: { js: 'import { createRequire as pkgkitCreateRequire } from "node:module"; const require = pkgkitCreateRequire(import.meta.url);' },
    ...common,
    target: "esnext",
    plugins: [denoShim, externalPackagesBut([...BUNDLED, "dax-sh"])],
    write: false,
  });
  // Deno reads every module a string literal names in an import() before it runs anything (so
  // that they are ready when imported): every chunk of this build, each command's and each lazily
  // loaded library's, where show-tag needs a few. A chunk named by an expression is read when it
  // is imported, as on Bun. The chunks' names are esbuild's (`./<name>-<hash>.mjs`), so nothing
  // else in the code has their form.
  const chunkImport = /\bimport\("(\.\/[\w-]+\.mjs)"\)/g;
  mkdirSync(out, { recursive: true });
  for (const file of denoBun.outputFiles) writeFileSync(file.path, file.text.replace(chunkImport, (_, chunk) => `import(new URL(${JSON.stringify(chunk)}, import.meta.url).href)`));
  for (const [name, entry] of Object.entries(entries)) {
    const built = Object.entries(denoBun.metafile.outputs).find(([path, o]) => o.entryPoint && path.endsWith(`/deno-bun/${name}.mjs`));
    if (!built) throw new Error(`bundle: no lib/dist/deno-bun/${name}.mjs in the Deno and Bun build's outputs`);
    const shimText = `// Written by lib/bundle.mjs from the exports of its Deno and Bun build of ${entry.source.replace(/^\.\//, "lib/").replace(/^\.\.\//, "")}: edit
// that, then run \`node lib/bundle.mjs\`. test/unit/entry-shims.test.ts checks these names are its.
//
// \`import ${entry.spec}\` on Deno and Bun (package.json exports: "deno", "bun"): that entry of
// lib/dist/deno-bun/ while it was built from the sources on disk (see lib/bundle.mjs), else the
// sources, which Deno and Bun compile themselves. Every entry decides alike (lib/deno-bun-fresh.mjs,
// once a process), so that a process has one copy of each module: the CLI that runs a config file
// is the one its definePackage came from.
// On Bun, the bytecode build of the same entries (lib/dist/deno-bun/bun.js) comes first, while the
// Bun running it is the one that built it.
import { bunEntry, denoBunBundleIsFresh } from "./deno-bun-fresh.mjs";

// Named by expressions, not string literals: Deno would read every module of both (the bundle's
// chunks and the sources) before running anything, whichever is taken.
const at = (path) => new URL(path, import.meta.url).href;
const pkgkit = denoBunBundleIsFresh() ? ((await bunEntry("${name}")) ?? (await import(at("./dist/deno-bun/${name}.mjs")))) : await import(at(${JSON.stringify(entry.source)}));

${exportsOf(built[1].exports, `lib/dist/deno-bun/${name}.mjs`)}`;
    const shimFile = new URL(entry.shim, import.meta.url);
    let before;
    try {
      before = readFileSync(shimFile, "utf8");
    } catch {}
    if (before !== shimText) writeFileSync(shimFile, shimText);
  }
  // The bytecode build is a start-up gain only: if Bun fails to make it, the chunks serve Bun as
  // they serve Deno, and the install goes on (the startup tests fail on a checkout without it).
  let forBun;
  try {
    forBun = await bunBuild(out, entries);
  } catch (e) {
    for (const f of ["./bun.js", "./bun.js.jsc", "../bun-input/"]) rmSync(new URL(f, out), { recursive: true, force: true });
    const why = e instanceof Error ? e.message : String(e);
    console.error(`${why.startsWith("bundle: ") ? why : `bundle: ${why}`}\nbundle: so no bytecode build for Bun (it loads lib/dist/deno-bun/'s ES modules)`);
  }
  const inputs = new Set([...Object.keys(denoBun.metafile.inputs), ...(forBun?.inputs ?? [])]);
  const sources = [...inputs].filter((f) => !f.startsWith("deno-namespace:")).map((f) => relative(fileURLToPath(root), f)).filter((f) => !f.startsWith("node_modules/")).sort();
  // `bun`: the Bun (version+revision) that built bun.js's bytecode, which only that Bun takes.
  writeFileSync(new URL("./sources.json", out), `${JSON.stringify({ ...sourcesRecord(root, sources), ...(forBun && { bun: forBun.bun }) }, null, 1)}\n`);
}

/**
 * Bun: the Deno and Bun build's four entries once more, as one CommonJS file with JavaScriptCore
 * bytecode beside it, lib/dist/deno-bun/bun.js (and bun.js.jsc), which the shims take on Bun
 * instead of the ES module chunks while the Bun running them is the one that built it
 * (lib/deno-bun-fresh.mjs). Bun then neither parses nor compiles pkgkit's code on a start
 * (bench/README.md, "startup": `bun pkg.config.ts show-tag` 51.8 -> 35.0 ms). Bun caches bytecode
 * for no ES module outside a single executable, hence CommonJS. Made in two steps: esbuild bundles
 * as for the chunks (the same packages bundled in, each module's evaluated marker as in the bin's
 * build, every entry evaluated on first use: `entries.index()`), then `bun build --bytecode`
 * compiles that file. esbuild writes CommonJS too: in one ES module file every module's imports
 * of Node's modules would head the file, so a show-tag would load node:stream, node:tls and
 * node:zlib, which only a push's modules use (11 ms); in CommonJS each lazily evaluated module
 * requires its own. `import process from "node:process"` becomes the global process (the same
 * object on Bun), not esbuild's copy of node:process's properties, whose reading makes Bun
 * build each lazy one (12 ms). Bun's bundler would write import.meta.url (and __filename) as the
 * path of the file it read, here on the building machine: the code reads its own location from
 * pkgkitImportMetaUrl instead, which the banner takes from the loaded file's __filename (Bun
 * leaves a banner's code as it is). Without Bun (node_modules/.bin/bun) there is no such build,
 * and Bun loads the chunks; a failure throws, and the caller leaves no part of the build behind.
 * @param {URL} out lib/dist/deno-bun/
 * @param {Record<string, { source: string }>} entries the Deno and Bun build's, sources relative to lib/
 * @returns {Promise<{ bun: string, inputs: string[] } | undefined>}
 */
async function bunBuild(out, entries) {
  const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));
  if (!existsSync(bun)) {
    console.error(`bundle: no ${relative(fileURLToPath(root), bun)}, so no bytecode build for Bun (it loads lib/dist/deno-bun/'s ES modules)`);
    return undefined;
  }
  // bun build names its output after its input: lib/dist/bun-input/bun.cjs -> lib/dist/deno-bun/bun.js.
  const input = fileURLToPath(new URL("../bun-input/bun.cjs", out));
  const outfile = fileURLToPath(new URL("./bun.js", out));
  const bundled = await build({
    stdin: {
      contents: `export const entries = {\n${Object.entries(entries).map(([name, e]) => `  ${name}: () => import(${JSON.stringify(e.source)}),\n`).join("")}};\n`,
      resolveDir: fileURLToPath(new URL(".", import.meta.url)),
      sourcefile: BUN_ENTRIES,
      loader: "js",
    },
    outfile: input,
    format: "cjs",
    define: { "import.meta.url": "pkgkitImportMetaUrl" },
    ...common,
    target: "esnext",
    plugins: [evaluatedMarkers(), processGlobal, externalPackagesBut(BUNDLED)],
  });
  const run = (args) => {
    const r = spawnSync(bun, args, { cwd: fileURLToPath(root), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`bundle: ${bun} ${args.join(" ")} failed (exit ${r.status ?? r.signal}): ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  run(["build", input, "--target=bun", "--format=cjs", "--bytecode", "--packages=external", "--banner", 'var pkgkitImportMetaUrl = require("node:url").pathToFileURL(__filename).href;', "--outdir", fileURLToPath(out)]);
  rmSync(dirname(input), { recursive: true });
  const text = readFileSync(outfile, "utf8");
  if (!existsSync(`${outfile}.jsc`)) throw new Error(`bundle: bun build wrote no ${outfile}.jsc`);
  if (!text.startsWith("// @bun @bytecode @bun-cjs\n")) throw new Error(`bundle: ${outfile} does not start as Bun's bytecode build does`);
  for (const [file, content] of [[outfile, text], [`${outfile}.jsc`, readFileSync(`${outfile}.jsc`, "latin1")]]) {
    if (content.includes(fileURLToPath(root))) throw new Error(`bundle: ${file} names this checkout's path (${fileURLToPath(root)}): import.meta.url or __filename left for Bun to fill in?`);
  }
  return { bun: run(["-e", 'process.stdout.write(Bun.version + "+" + Bun.revision)']), inputs: Object.keys(bundled.metafile.inputs).filter((f) => !f.endsWith(BUN_ENTRIES) && !f.startsWith(`${PROCESS_GLOBAL}:`)) };
}
