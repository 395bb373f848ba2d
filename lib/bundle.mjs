#!/usr/bin/env node
// Bundles the CLI into lib/dist/cli.mjs so the pkgkit bin starts without compiling TypeScript
// (about half its start-up time on Node). Runs on `npm ci` (prepare) and before `npm test`.
// Beside it, lib/dist/cli.sources.json records the source files it was built from and their
// digest (bundle-sources.mjs): the bin uses the bundle only while the files on disk give that
// digest; otherwise it loads the sources through tsx, so a stale bundle never runs.
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { SOURCES_RECORD, sourcesDigest } from "./bundle-sources.mjs";

const root = new URL("../", import.meta.url);
const { metafile } = await build({
  entryPoints: [fileURLToPath(new URL("./cli/main.ts", import.meta.url))],
  outfile: fileURLToPath(new URL("./dist/cli.mjs", import.meta.url)),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
  metafile: true,
});
// The metafile names inputs relative to the working directory; the record, relative to the package root.
const files = Object.keys(metafile.inputs).map((f) => relative(fileURLToPath(root), f)).sort();
writeFileSync(SOURCES_RECORD, `${JSON.stringify({ files, sha256: sourcesDigest(root, files) }, null, 1)}\n`);
