// StrykerJS over the tag, plan, apply and index-merging modules, with the unit suites that cover
// them as the test command (Node only: Deno and Bun run the same suites). A benchmark of the
// tests, not part of the suite: `npm run mutate` (all files) or
// `MUTATE=lib/names.ts npm run mutate` (one file, only its suites). See bench/README.md.

/** Each mutated file and the unit suites (test/unit/<name>.test.ts) that exercise it, fastest first. */
const suitesByFile = {
  "lib/spec.ts": ["spec", "tag"],
  "lib/names.ts": ["names", "push", "skip", "scheduler", "merge", "options"],
  "lib/package.ts": ["plan", "names", "tag", "deps"],
  "lib/plan/plan.ts": ["plan", "skip", "scheduler", "apply", "plan-schema", "sign"],
  "lib/plan/sign.ts": ["plan", "sign", "plan-schema", "apply"],
  "lib/apply.ts": ["apply", "plan-schema"],
  "lib/push.ts": ["push", "merge"],
};

const chosen = process.env.MUTATE ? process.env.MUTATE.split(",") : Object.keys(suitesByFile);
for (const file of chosen) {
  if (!suitesByFile[file]) throw new Error(`MUTATE=${process.env.MUTATE}: ${file} is not one of ${Object.keys(suitesByFile).join(", ")}`);
}
const suites = [...new Set(chosen.flatMap((file) => suitesByFile[file]))];
const scope = chosen.length === 1 ? chosen[0].replace(/^lib\//, "").replace(/[/.]/g, "-") : "all";

export default {
  mutate: chosen,
  testRunner: "command",
  commandRunner: { command: `node bench/mutate-tests.mjs ${suites.join(" ")}` },
  coverageAnalysis: "off",
  concurrency: 2,
  // The cores are shared: suites that take 5 s alone take 20 s under other runs' load, which the
  // default allowance (5 s over 1.5 × the first run) counts as a timeout, that is as killed.
  timeoutMS: 60_000,
  incremental: true,
  incrementalFile: `.scratch/stryker/incremental-${scope}.json`,
  tempDirName: ".scratch/stryker/tmp",
  cleanTempDir: "always",
  ignorePatterns: [".scratch", "lib/dist"],
  // Stryker would rewrite tsconfig.json's paths to the sandbox with TypeScript's JS API, which the
  // TypeScript 7 compiler lacks; ours names nothing outside the project, so nothing needs rewriting.
  tsconfigFile: "",
  // Error messages are asserted where they matter (a file, a field, a value); a mutant that empties a
  // message string is a change of wording, not of behaviour.
  mutator: { excludedMutations: ["StringLiteral"] },
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: `.scratch/stryker/report-${scope}.json` },
  thresholds: { high: 90, low: 80, break: null },
};
