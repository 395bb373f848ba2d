// `require("pkgkit")` on Node (package.json exports: "node", "require"), as in a pkg.config.ts that
// tsx compiles to CommonJS (no package.json around it says "type": "module"): the bundle's public
// entry built as one CommonJS file (lib/dist/index.cjs, see lib/bundle.mjs) while the bundle was
// built from the sources on disk, else the sources (lib/index.ts, which tsx compiles, with every
// source it imports). Deno and Bun have an entry of their own (lib/index.deno-bun.mjs).
"use strict";
const Module = require("node:module");
const { readFileSync } = require("node:fs");
const { dirname, join } = require("node:path");
const { bundleIsFresh } = require("./bundle-sources.cjs");

/**
 * The bundle's CommonJS entry, compiled as Node compiles a .cjs file (read, then Module's
 * `_compile`) rather than through require(): tsx's require hook would run the 1 MB of plain
 * JavaScript through esbuild and attach a source map, which Node then parses (~0.3 s, against
 * ~60 ms). It is cached like any module, so a second require() gets the same one.
 */
function requireBundle() {
  const file = join(__dirname, "dist", "index.cjs");
  const cached = Module._cache[file];
  if (cached) return cached.exports;
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = bundle;
  try {
    bundle._compile(readFileSync(file, "utf8"), file);
  } catch (err) {
    delete Module._cache[file];
    throw err;
  }
  bundle.loaded = true;
  return bundle.exports;
}

module.exports = bundleIsFresh() ? requireBundle() : require("./index.ts");
