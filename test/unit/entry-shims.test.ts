// lib/index.node.mjs, what `import "pkgkit"` gets on Node, names each export of the public entry
// (an ES module cannot re-export a module picked at run time). lib/bundle.mjs writes the list from
// its build of lib/index.ts; this checks it is lib/index.ts's, so it cannot drift unnoticed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as pkgkit from "../../lib/index.ts";
import * as recipes from "../../recipes/index.ts";
import * as registry from "../../lib/registry/index.ts";
import * as cli from "../../lib/cli/main.ts";

const shim = readFileSync(new URL("../../lib/index.node.mjs", import.meta.url), "utf8");

test("lib/index.node.mjs re-exports exactly what lib/index.ts exports at run time", () => {
  const block = /^export const \{\n([\s\S]*?)\n\} = pkgkit;$/m.exec(shim);
  assert.ok(block, "the shim ends with `export const { ... } = pkgkit;`");
  const names = block[1]!.split("\n").map((l) => l.trim().replace(/,$/, ""));
  assert.equal(names, Object.keys(pkgkit).sort(), "run `node lib/bundle.mjs` to rewrite lib/index.node.mjs");
});

test("it takes the sources unless the bundle is fresh; then, in the bin, the public entry of the bin's own build, else the CommonJS build", () => {
  assert.match(shim, /= !bundleIsFresh\(\)\s*\? await import\("\.\/index\.ts"\)\s*: binIsMain\(\)\s*\? await import\("\.\/dist\/bin-index\.mjs"\)\s*: createRequire\(import\.meta\.url\)\("\.\/index\.node\.cjs"\);/);
});

// lib/index.deno-bun.mjs, what `import "pkgkit"` gets on Deno and Bun, names them too, as do the
// shims of the package's other entries there (lib/bundle.mjs writes each from its Deno and Bun
// build of the entry).
const denoBunShims = [
  { shim: "lib/index.deno-bun.mjs", entry: pkgkit, bundle: "./dist/deno-bun/index.mjs", source: "./index.ts" },
  { shim: "lib/recipes.deno-bun.mjs", entry: recipes, bundle: "./dist/deno-bun/recipes.mjs", source: "../recipes/index.ts" },
  { shim: "lib/registry.deno-bun.mjs", entry: registry, bundle: "./dist/deno-bun/registry.mjs", source: "./registry/index.ts" },
  { shim: "lib/cli.deno-bun.mjs", entry: cli, bundle: "./dist/deno-bun/cli.mjs", source: "./cli/main.ts" },
];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

for (const { shim, entry, bundle, source } of denoBunShims) {
  const text = readFileSync(new URL(`../../${shim}`, import.meta.url), "utf8");

  test(`${shim} re-exports exactly what ${source.replace(/^\.\//, "lib/").replace(/^\.\.\//, "")} exports at run time`, () => {
    const block = /^export const \{\n([\s\S]*?)\n\} = pkgkit;$/m.exec(text);
    assert.ok(block, "the shim ends with `export const { ... } = pkgkit;`");
    const names = block[1]!.split("\n").map((l) => l.trim().replace(/,$/, ""));
    assert.equal(names, Object.keys(entry).sort(), `run \`node lib/bundle.mjs\` to rewrite ${shim}`);
  });

  test(`${shim} takes the Deno and Bun bundle while it is fresh (on Bun its bytecode build first, while that Bun built it), else the sources, both named by expressions (Deno reads every module a literal import() names before it runs)`, () => {
    const name = /\.\/dist\/deno-bun\/(\w+)\.mjs$/.exec(bundle)![1]!;
    assert.match(
      text,
      new RegExp(`= denoBunBundleIsFresh\\(\\) \\? \\(\\(await bunEntry\\("${name}"\\)\\) \\?\\? \\(await import\\(at\\("${escape(bundle)}"\\)\\)\\)\\) : await import\\(at\\("${escape(source)}"\\)\\);`),
    );
    assert.not.match(text, /import\("/);
  });
}

test.run();
