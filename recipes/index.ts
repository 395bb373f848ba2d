/** Reusable pipeline pieces. The pkgkit CLI is composed from these; so can your own scripts. */
export { packagesFromDirs, packagesFromDefinitions, graphFromArgs, graphFromDefinitions } from "./packages.ts";
export { lookupLocal, lookupImages, observeBuild, planBuild, buildPackages, type BuildOptions } from "./build.ts";
export { consoleReporter, summarize, type ConsoleReporterOptions } from "./report.ts";
export { lookupRegistry, observePush, planPush, pushPackages, type PushOptions, type RegistryState } from "./push.ts";
export { checkPlan, applyPlan, type ApplyOptions, type CheckedPlan } from "./apply.ts";
export { resolveSigning, signPlan, lookupSignatures, signedRefs, verifyPackages, type SigningOptions, type Signing, type VerifiedRef } from "./sign.ts";
