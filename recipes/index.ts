/**
 * pkgkit/recipes: pipelines composed from the SDK, the same pieces the pkgkit CLI is built from.
 *
 * Each command comes as pieces a script can stop between: `observe*` makes the read-only
 * look-ups and returns the options `plan()` takes, `plan*` returns the plan (and what running it
 * needs), and `buildPackages`/`pushPackages` plan and run in one call. `applyPlan` runs a plan
 * read back from a file once it has checked that it still holds.
 *
 * @module
 */
export { packagesFromDirs, packagesFromDefinitions, graphFromArgs } from "./packages.ts";
export { observeBuild, planBuild, buildPackages, type BuildOptions } from "./build.ts";
export { observePush, planPush, pushPackages, type PushOptions } from "./push.ts";
export { checkPlan, applyPlan, type ApplyOptions } from "./apply.ts";
export { resolveSigning, verifyPackages, type Signing, type SigningOptions } from "./sign.ts";
export { consoleReporter, summarize, type ConsoleReporterOptions } from "./report.ts";
