#!/usr/bin/env node
// Bundles the CLI into lib/dist/cli.mjs so the pkgkit bin starts without compiling TypeScript
// (about half its start-up time on Node). Runs on `npm ci` (prepare) and before `npm test`.
// The bin uses the bundle only while it is newer than every source file; otherwise it loads
// the sources through tsx, so a stale bundle never runs.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("./cli/main.ts", import.meta.url).pathname],
  outfile: new URL("./dist/cli.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
