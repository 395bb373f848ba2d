#!/usr/bin/env node
// The test command of the mutation run (bench/stryker.config.mjs): runs each unit suite named in
// argv under Node (tsx), one after another, and exits non-zero at the first failure, so a killed
// mutant costs only the suites up to the one that kills it.
//   node bench/mutate-tests.mjs spec tag ...   (test/unit/<name>.test.ts)
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const tsx = join(root, "node_modules/.bin/tsx");
const suites = process.argv.slice(2);
if (suites.length === 0) {
  process.stderr.write("usage: node bench/mutate-tests.mjs <suite>... (names of test/unit/<suite>.test.ts)\n");
  process.exit(2);
}
for (const suite of suites) {
  const { status } = spawnSync(tsx, [join("test/unit", `${suite}.test.ts`)], { cwd: root, stdio: "inherit", env: { ...process.env, FORCE_COLOR: "0" } });
  if (status !== 0) process.exit(1);
}
