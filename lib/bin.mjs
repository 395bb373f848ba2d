#!/usr/bin/env node
// The pkgkit command as an ES module: what Deno and Bun run (they load the TypeScript sources
// natively), and on Node the same as lib/bin.cjs, package.json's bin, which starts without Node's
// ES module loader; both start through lib/bin-node.cjs there (the bundle with its code cache
// while it is fresh, else the sources through tsx).
import { createRequire } from "node:module";

let cli;
if (typeof globalThis.Deno !== "undefined" || typeof globalThis.Bun !== "undefined") {
  cli = await import("./cli/main.ts");
} else {
  // Required rather than imported: Node would otherwise scan the CommonJS module for its exports.
  /** @type {typeof import("./bin-node.cjs")} */
  const node = createRequire(import.meta.url)("./bin-node.cjs");
  cli = node.startBundle() ?? (await node.startSources());
}
// Not awaited: a config file whose top-level await never settles must not keep this module
// pending, or Bun spins instead of emitting beforeExit, which load.ts waits for to report it.
cli.main();
