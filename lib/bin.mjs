#!/usr/bin/env node
// The pkgkit command. Deno and Bun load the TypeScript sources natively. On Node, the bin's build of
// the bundle, lib/dist/bin.cjs (see bundle.mjs), compiled with a V8 code cache (code-cache.cjs), is
// used while it was built from the sources on disk; TypeScript support (tsx) is registered only
// when a .ts file must be loaded: the sources, or a user's pkg.config.ts that the bundle cannot load
// compiled from its cache (lib/config-cache.ts).
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// CommonJS helpers, required rather than imported: Node would otherwise scan each for its exports.
const require = createRequire(import.meta.url);
/** @type {typeof import("./bundle-sources.cjs")} */
const { freshRecord } = require("./bundle-sources.cjs");

// Mixing the two ways a config loads, in one process: compiled from the cache (no tsx), or
// through tsx. Decided per config load, but one-way: once tsx is registered (a config whose
// graph is not eligible, see lib/config-cache.ts), every later config loads through tsx, and the
// source files loaded compiled before (`compiled`, claimed by config-cache.ts just before each
// import) resolve, through esm-hooks.mjs, to the very modules already loaded. So one source file
// is never two module instances, whichever way its importers came.
let typeScriptChosen = false;
/** @type {Map<string, string>} source file URL → the compiled module loaded for it */
const compiled = new Map();

let typeScriptReady;
/** @param {URL | undefined} bundle the fresh bundle's directory, whose public entry then stands in for the sources' */
async function loadTypeScript(bundle) {
  typeScriptChosen = true;
  typeScriptReady ??= (async () => {
    const { register } = await import("tsx/esm/api");
    register();
    // Registered after tsx, so it sees (and adjusts) what tsx resolves.
    const index = bundle && { source: new URL("./index.ts", import.meta.url).href, bundle: new URL("./bin-index.mjs", bundle).href };
    (await import("node:module")).register("./esm-hooks.mjs", { parentURL: import.meta.url, data: { index, compiled: Object.fromEntries(compiled) } });
  })();
  return typeScriptReady;
}

let bundleDigest;
/** The bundle's directory, if the bundle exists and the source files it was built from are on disk as they were then. */
function freshBundle() {
  const record = freshRecord();
  if (!record) return undefined;
  bundleDigest = record.sha256;
  return new URL("./dist/", import.meta.url);
}

let cli;
if (typeof globalThis.Deno !== "undefined" || typeof globalThis.Bun !== "undefined") {
  cli = await import("./cli/main.ts");
} else {
  const bundle = freshBundle();
  // load.ts calls this before importing a pkg.config.ts.
  globalThis[Symbol.for("pkgkit.loadTypeScript")] = () => loadTypeScript(bundle);
  // load.ts asks config-cache.ts for a compiled config first, with this (its ConfigLoader).
  if (bundle)
    globalThis[Symbol.for("pkgkit.configLoader")] = {
      bundleDigest,
      index: new URL("./bin-index.mjs", bundle).href,
      define: new URL("./bin-define.mjs", bundle).href,
      root: fileURLToPath(new URL("../", import.meta.url)),
      /** @param {[string, string][]} modules */
      claim(modules) {
        if (typeScriptChosen) return false;
        for (const [source, url] of modules) compiled.set(source, url);
        return true;
      },
      typeScriptChosen: () => typeScriptChosen,
    };
  if (bundle) {
    // A script, not a module: the bundle lends no import() (see lib/runtime.ts, importModule).
    globalThis[Symbol.for("pkgkit.import")] = (url) => import(url);
    /** @type {typeof import("./code-cache.cjs")} */
    const { requireWithCodeCache } = require("./code-cache.cjs");
    cli = requireWithCodeCache(fileURLToPath(new URL("./bin.cjs", bundle)), process.argv[2] ?? "");
    // The entries a config file gets as `pkgkit` (lib/dist/bin-index.mjs, bin-define.mjs).
    globalThis[Symbol.for("pkgkit.bin")] = cli;
  } else {
    await loadTypeScript(undefined);
    cli = await import("./cli/main.ts");
  }
}
// Not awaited: a config file whose top-level await never settles must not keep this module
// pending, or Bun spins instead of emitting beforeExit, which load.ts waits for to report it.
cli.main();
