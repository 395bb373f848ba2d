#!/usr/bin/env node
// The pkgkit command (package.json's bin): on Node, CommonJS, so that it starts without Node's ES
// module loader (lib/bin-node.cjs: the bundle with its code cache while it is fresh, else the
// sources through tsx). Deno and Bun, and anything else, run lib/bin.mjs.
"use strict";
if (typeof globalThis.Deno !== "undefined" || typeof globalThis.Bun !== "undefined") {
  import("./bin.mjs");
} else {
  /** @type {typeof import("./bin-node.cjs")} */
  const node = require("./bin-node.cjs");
  const cli = node.startBundle();
  // Not awaited (see lib/bin.mjs).
  if (cli) cli.main();
  else node.startSources().then((sources) => sources.main());
}
