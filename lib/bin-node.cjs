// How the pkgkit command starts on Node, for both of its entries: lib/bin.cjs (package.json's bin,
// what `pkgkit` and `npx pkgkit` run) and lib/bin.mjs. While the bin's build of the bundle
// (lib/dist/bin.cjs, see lib/bundle.mjs) was built from the sources on disk, it is compiled with a V8
// code cache (lib/code-cache.cjs) and run; TypeScript support (tsx) is registered only when a .ts
// file must be loaded: the sources, or a user's pkg.config.ts that the bundle cannot load compiled
// from its cache (lib/config-cache.ts). CommonJS, so that lib/bin.cjs starts without Node's ES
// module loader (about 5 ms of a show-tag).
"use strict";
const { join } = require("node:path");
const { fileURLToPath, pathToFileURL } = require("node:url");
const { freshRecord } = require("./bundle-sources.cjs");

const self = pathToFileURL(__filename);

// Mixing the two ways a config loads, in one process: compiled from the cache (no tsx), or
// through tsx. Decided per config load, but one-way: once tsx is registered (a config whose
// graph is not eligible, see lib/config-cache.ts), every later config loads through tsx, and the
// source files loaded compiled before (`compiled`, claimed by config-cache.ts just before each
// import) resolve, through esm-hooks.mjs, to the very modules already loaded. So one source file
// is never two module instances, whichever way its importers came.
let typeScriptChosen = false;
/** @type {Map<string, string>} source file URL → the compiled module loaded for it */
const compiled = new Map();

/** @type {Promise<void> | undefined} */
let typeScriptReady;
/** @param {URL | undefined} bundle the fresh bundle's directory, whose public entry then stands in for the sources' */
function loadTypeScript(bundle) {
  typeScriptChosen = true;
  typeScriptReady ??= (async () => {
    const { register } = await import("tsx/esm/api");
    register();
    // Registered after tsx, so it sees (and adjusts) what tsx resolves.
    const index = bundle && { source: new URL("./index.ts", self).href, bundle: new URL("./bin-index.mjs", bundle).href };
    (await import("node:module")).register("./esm-hooks.mjs", { parentURL: self.href, data: { index, compiled: Object.fromEntries(compiled) } });
  })();
  return typeScriptReady;
}

/**
 * The CLI module of the fresh bundle, set up for config files (load.ts and config-cache.ts find
 * what they need on globalThis); undefined when the bundle is missing or stale (then startSources).
 * @returns {{ main(): unknown } | undefined}
 */
function startBundle() {
  const record = freshRecord();
  const bundle = record ? new URL("./dist/", self) : undefined;
  // load.ts calls this before importing a pkg.config.ts.
  globalThis[Symbol.for("pkgkit.loadTypeScript")] = () => loadTypeScript(bundle);
  if (!record) return undefined;
  // load.ts asks config-cache.ts for a compiled config first, with this (its ConfigLoader).
  globalThis[Symbol.for("pkgkit.configLoader")] = {
    bundleDigest: record.sha256,
    index: new URL("./bin-index.mjs", bundle).href,
    define: new URL("./bin-define.mjs", bundle).href,
    root: join(__dirname, "../"),
    /** @param {[string, string][]} modules */
    claim(modules) {
      if (typeScriptChosen) return false;
      for (const [source, url] of modules) compiled.set(source, url);
      return true;
    },
    typeScriptChosen: () => typeScriptChosen,
  };
  // The bundle is compiled as a script, which lends it no import() (see lib/runtime.ts, importModule).
  globalThis[Symbol.for("pkgkit.import")] = (/** @type {string} */ url) => import(url);
  /** @type {typeof import("./code-cache.cjs")} */
  const { requireWithCodeCache } = require("./code-cache.cjs");
  const cli = /** @type {{ main(): unknown }} */ (requireWithCodeCache(fileURLToPath(new URL("./bin.cjs", bundle)), process.argv[2] ?? ""));
  // The entries a config file gets as `pkgkit` (lib/dist/bin-index.mjs, bin-define.mjs).
  globalThis[Symbol.for("pkgkit.bin")] = cli;
  return cli;
}

/** The CLI from its TypeScript sources, through tsx (no fresh bundle). */
async function startSources() {
  await loadTypeScript(undefined);
  return /** @type {{ main(): unknown }} */ (await import(new URL("./cli/main.ts", self).href));
}

module.exports = { startBundle, startSources };
