// `require("pkgkit")` on Node (package.json exports: "node", "require"), as in a pkg.config.ts that
// tsx compiles to CommonJS (no package.json around it says "type": "module"): the bundle's public
// entry built as one CommonJS file (lib/dist/index.cjs, see lib/bundle.mjs) while the bundle was
// built from the sources on disk, else the sources (lib/index.ts, which tsx compiles, with every
// source it imports). Deno and Bun have an entry of their own (lib/index.deno-bun.mjs).
"use strict";
const Module = require("node:module");
const { dirname, join } = require("node:path");
const { bundleIsFresh } = require("./bundle-sources.cjs");
const { requireWithCodeCache } = require("./code-cache.cjs");

/**
 * The bundle's CommonJS entry, compiled here (lib/code-cache.cjs, with a V8 code cache, as the
 * bin's is) rather than through require(): tsx's require hook would run the 1 MB of plain
 * JavaScript through esbuild and attach a source map, which Node then parses (~0.3 s, against
 * ~60 ms). It is cached like any module, so a second require() gets the same one. The bundle
 * lends no import() (a script compiled through node:vm has no loader for it): this module's
 * import() loads what must be an ES module (a config file; lib/runtime.ts, importModule).
 */
function requireBundle() {
  const file = join(__dirname, "dist", "index.cjs");
  const cached = Module._cache[file];
  if (cached) return cached.exports;
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = bundle;
  globalThis[Symbol.for("pkgkit.import")] ??= (url) => import(url);
  try {
    requireWithCodeCache(file, "index", bundle);
  } catch (err) {
    delete Module._cache[file];
    throw err;
  }
  return bundle.exports;
}

module.exports = bundleIsFresh() ? requireBundle() : require("./index.ts");
