// lib/index.node.mjs, what `import "pkgkit"` gets on Node, names each export of the public entry
// (an ES module cannot re-export a module picked at run time). lib/bundle.mjs writes the list from
// its build of lib/index.ts; this checks it is lib/index.ts's, so it cannot drift unnoticed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as pkgkit from "../../lib/index.ts";

const shim = readFileSync(new URL("../../lib/index.node.mjs", import.meta.url), "utf8");

test("lib/index.node.mjs re-exports exactly what lib/index.ts exports at run time", () => {
  const block = /^export const \{\n([\s\S]*?)\n\} = pkgkit;$/m.exec(shim);
  assert.ok(block, "the shim ends with `export const { ... } = pkgkit;`");
  const names = block[1]!.split("\n").map((l) => l.trim().replace(/,$/, ""));
  assert.equal(names, Object.keys(pkgkit).sort(), "run `node lib/bundle.mjs` to rewrite lib/index.node.mjs");
});

test("it takes the sources unless the bundle is fresh; then the bin's ES module entry in the bin, else the CommonJS build", () => {
  assert.match(shim, /= !bundleIsFresh\(\)\s*\? await import\("\.\/index\.ts"\)\s*: binIsMain\(\)\s*\? await import\("\.\/dist\/index\.mjs"\)\s*: createRequire\(import\.meta\.url\)\("\.\/index\.node\.cjs"\);/);
});

// lib/index.deno-bun.mjs, what `import "pkgkit"` gets on Deno and Bun, names them too (lib/bundle.mjs
// writes it from its Deno and Bun build of lib/index.ts).
const denoBunShim = readFileSync(new URL("../../lib/index.deno-bun.mjs", import.meta.url), "utf8");

test("lib/index.deno-bun.mjs re-exports exactly what lib/index.ts exports at run time", () => {
  const block = /^export const \{\n([\s\S]*?)\n\} = pkgkit;$/m.exec(denoBunShim);
  assert.ok(block, "the shim ends with `export const { ... } = pkgkit;`");
  const names = block[1]!.split("\n").map((l) => l.trim().replace(/,$/, ""));
  assert.equal(names, Object.keys(pkgkit).sort(), "run `node lib/bundle.mjs` to rewrite lib/index.deno-bun.mjs");
});

test("it takes the Deno and Bun bundle while it is fresh, else the sources, both named by expressions (Deno reads every module a literal import() names before it runs)", () => {
  assert.match(denoBunShim, /= denoBunBundleIsFresh\(\) \? await import\(at\("\.\/dist\/deno-bun\/index\.mjs"\)\) : await import\(at\("\.\/index\.ts"\)\);/);
  assert.not.match(denoBunShim, /import\("/);
});

test.run();
