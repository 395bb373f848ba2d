/**
 * The part of pkgkit's public entry (lib/index.ts) a package or workspace file most often imports:
 * `definePackage` and `defineWorkspace`. The bin on Node gives a config file it loads compiled
 * (lib/config-cache.ts) this entry, from the bin's build (lib/dist/bin-define.mjs), for an `import { definePackage }
 * from "pkgkit"` that names nothing else, sparing it the rest of the API's modules (the plan
 * runner, the registry client, the builders, the signers). The functions are the same ones
 * lib/index.ts exports: the bundle shares their modules between both entries.
 */
import { installEntryHook } from "./cli/entry.ts";

// As lib/index.ts does: a config file run directly (`npx tsx pkg.config.ts`) gets the CLI.
installEntryHook();

export { definePackage } from "./define.ts";
export { defineWorkspace } from "./workspace.ts";
