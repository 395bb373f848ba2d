#!/usr/bin/env node
// Compiles pkgkit into one executable (entry lib/sea.ts) with Bun, for this machine's platform:
// `npm run compile`, or `node lib/compile.mjs [<outfile>]` (default lib/dist/pkgkit; note that
// lib/bundle.mjs clears lib/dist/). --bytecode: the executable starts from precompiled bytecode
// instead of parsing its 2 MB of JavaScript on every start (0.02 s instead of 0.08 s for --help).
// --compile-jit-policy: JavaScriptCore's tier-up thresholds times JIT_POLICY, so code a command
// runs a few times (module set-up, parsing one build.yml, starting git) stays in the interpreter
// instead of being compiled by the JIT for one more use; hot loops (gzip, hashing, a thousand
// packages) still reach the thresholds at once. A build.yml show-tag took 42.2 -> 33.4 ms (CPU
// 55 -> 40 ms), one over 1000 packages 17% less CPU, and gzipping 30 MB was no slower; from 8 up
// it changes little (bench/README.md, "The executable's call, taken apart").
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const JIT_POLICY = 8;

const args = process.argv.slice(2);
if (args.length > 1 || args[0]?.startsWith("-")) {
  console.error("usage: node lib/compile.mjs [<outfile>]");
  process.exit(2);
}
const outfile = args[0] ?? fileURLToPath(new URL("./dist/pkgkit", import.meta.url));
const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));
const r = spawnSync(bun, ["build", "--compile", "--minify", "--bytecode", `--compile-jit-policy=${JIT_POLICY}`, fileURLToPath(new URL("./sea.ts", import.meta.url)), "--outfile", outfile], {
  stdio: ["ignore", "ignore", "inherit"],
});
if (r.error) {
  console.error(`lib/compile.mjs: cannot run ${bun}: ${r.error.message} (npm install puts Bun there)`);
  process.exit(1);
}
process.exit(r.status ?? 1);
