#!/usr/bin/env node
// Bundles the CLI into lib/dist/cli.mjs so the pkgkit bin starts without compiling TypeScript
// (about half its start-up time on Node). Runs on `npm ci` (prepare) and before `npm test`.
// What the CLI imports lazily (import()) goes to chunks of its own beside it, so a command loads
// only what it uses: show-tag of a pkg.config.ts package never loads YAML, nor show-tag and plan the
// registry client or the signers (an external package imported by a chunk loads with that chunk).
// Beside it, lib/dist/cli.sources.json records the source files it was built from and their
// digest (bundle-sources.mjs): the bin uses the bundle only while the files on disk give that
// digest; otherwise it loads the sources through tsx, so a stale bundle never runs.
import { rmSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { SOURCES_RECORD, sourcesRecord } from "./bundle-sources.mjs";

const root = new URL("../", import.meta.url);
const BUNDLED = ["zod", "yaml", "fflate", "zx"];

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
const dist = new URL("./dist/", import.meta.url);
// Chunks of an earlier build would stay behind, named by their content hashes.
rmSync(dist, { recursive: true, force: true });
const { metafile } = await build({
  // index: the public entry, which the bin gives a pkg.config.ts it loads (see esm-hooks.mjs).
  // define: what most package files import from it (lib/define-entry.ts, see lib/config-cache.ts).
  entryPoints: {
    cli: fileURLToPath(new URL("./cli/main.ts", import.meta.url)),
    index: fileURLToPath(new URL("./index.ts", import.meta.url)),
    define: fileURLToPath(new URL("./define-entry.ts", import.meta.url)),
  },
  outdir: fileURLToPath(dist),
  outExtension: { ".js": ".mjs" },
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // yaml's CommonJS requires Node built-ins ("process"), which an ES module does through createRequire.
  banner: { js: 'import { createRequire as pkgkitCreateRequire } from "node:module"; const require = pkgkitCreateRequire(import.meta.url);' },
  // zod and yaml are bundled in: loading their many small modules one by one (zod's 90-odd ES
  // modules, yaml's 70-odd CommonJS ones) costs more than their code. fflate too: image.ts (gzip)
  // is in the CLI's first chunk. zx (the shell on Node) too: as a package, Node loads its
  // CommonJS files through the ES module loader (cjs-module-lexer over each), about 17 ms of a
  // 0.16 s show-tag. So a build.yml show-tag loads no package at all. The rest stay packages.
  plugins: [externalPackagesBut(BUNDLED)],
  logLevel: "warning",
  metafile: true,
});
// The metafile names inputs relative to the working directory; the record, relative to the package root.
const files = Object.keys(metafile.inputs).map((f) => relative(fileURLToPath(root), f)).filter((f) => !f.startsWith("node_modules/")).sort();
writeFileSync(SOURCES_RECORD, `${JSON.stringify(sourcesRecord(root, files), null, 1)}\n`);
