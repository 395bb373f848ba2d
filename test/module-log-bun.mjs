// `bun --preload ./test/module-log-bun.mjs ...`: appends the path of every .ts and .mjs module Bun
// loads to the file $PKGKIT_MODULE_LOG, one a line, as test/module-log.mjs does on Node. A runtime
// plugin that reads the file and hands it back as it is (TypeScript or JavaScript); .js and .cjs
// files (packages' CommonJS) are left to Bun, unlogged as they load.
//
// At exit, as on Node: every module in Bun's require.cache (which lists ES modules too, and the
// bytecode build, lib/dist/deno-bun/bun.js, where Bun loads it), and the name each module of that
// build noted once it ran (lib/bundle.mjs, pkgkit.evaluated), as `bundle:<path from the package root>`.
import { plugin } from "bun";
import { appendFileSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const log = process.env.PKGKIT_MODULE_LOG;
if (!log) throw new Error("module-log-bun: set PKGKIT_MODULE_LOG to the file to log to");
plugin({
  name: "pkgkit-module-log",
  setup(build) {
    build.onLoad({ filter: /\.(ts|mjs)$/ }, (/** @type {{ path: string }} */ args) => {
      appendFileSync(log, `${args.path}\n`);
      return { contents: readFileSync(args.path, "utf8"), loader: args.path.endsWith(".ts") ? "ts" : "js" };
    });
  },
});

const requireCache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  const evaluated = globalThis[Symbol.for("pkgkit.evaluated")] ?? [];
  const lines = [...Object.keys(requireCache), ...evaluated.map((name) => `bundle:${name}`)];
  if (lines.length) appendFileSync(log, lines.map((l) => `${l}\n`).join(""));
});
