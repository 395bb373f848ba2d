/**
 * The bin's build of pkgkit on Node (lib/dist/bin.cjs, see lib/bundle.mjs and lib/code-cache.cjs):
 * the CLI, and the two public entries a config file the bin loads imports as `pkgkit`, each
 * evaluated on first use (lib/dist/bin-index.mjs, lib/dist/bin-define.mjs stand for them), from
 * this one build: a config file shares the CLI's modules.
 */
export { main } from "./cli/main.ts";

/** lib/index.ts, which `pkgkit` stands for in a config file the bin loads. */
export const publicEntry = () => import("./index.ts");

/** lib/define-entry.ts, for a config file importing `definePackage` / `defineWorkspace` alone (lib/config-cache.ts). */
export const defineEntry = () => import("./define-entry.ts");
