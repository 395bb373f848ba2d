/**
 * What makes a pkg.config.ts runnable (`npx tsx pkg.config.ts build`): a definition hook
 * (see lib/define.ts) that, for packages declared by the entry script, runs the package CLI once
 * the script has finished loading. Installed by the public entry module (lib/index.ts); the rest of
 * the CLI loads only when a config file is run, so importing pkgkit from a script costs nothing more.
 */
import { basename } from "node:path";
import process from "node:process";
import { setDefinitionHook, type PackageDefinition } from "../define.ts";
import { mainFile, runtime } from "../runtime.ts";

interface Cli {
  runPackageFile(defs: PackageDefinition[]): Promise<void>;
}

/**
 * The CLI that runs a config file. This module's own copy of it, but where this copy is the
 * sources' (lib/cli/entry.ts, which tsx compiles) on Node and the bundle (lib/bundle.mjs) was
 * built from the sources on disk: then the bundle's CLI, which loads in a fraction of the time
 * the sources take through tsx's hooks. The bundle's own copies of this module (lib/dist/) import
 * their own build's CLI: `./main.ts` is lib/dist/cli.mjs in the ES module build, and inside
 * lib/dist/index.cjs in the CommonJS one. On Deno and Bun, `import "pkgkit"` gives the sources or
 * their own bundle (lib/index.deno-bun.mjs) as a whole, this module with the CLI beside it.
 */
async function loadCli(): Promise<Cli> {
  if (runtime === "node" && import.meta.url.endsWith("/lib/cli/entry.ts")) {
    // Built at run time, so that esbuild bundles neither file into the bundle's copies.
    const at = (path: string) => new URL(path, import.meta.url).href;
    const { bundleIsFresh } = (await import(at("../bundle-sources.cjs"))) as { bundleIsFresh(): boolean };
    if (bundleIsFresh()) return (await import(at("../dist/cli.mjs"))) as Cli;
  }
  return import("./main.ts");
}

interface EntryState {
  installed: boolean;
  defs: PackageDefinition[];
}

// One state for every copy of this module (tsx may load one as CommonJS, the CLI another as ESM).
const state = ((globalThis as Record<symbol, EntryState | undefined>)[Symbol.for("pkgkit.entry")] ??= { installed: false, defs: [] });

export function installEntryHook(): void {
  if (state.installed) return;
  state.installed = true;
  const entry = mainFile();
  if (entry === undefined) return;
  setDefinitionHook({
    defined(def) {
      if (def.file !== entry) return;
      // A file that defines several packages gets one CLI run over all of them.
      if (state.defs.push(def) === 1) setTimeout(() => void loadCli().then((m) => m.runPackageFile(state.defs)), 0);
    },
    invalid(file, err) {
      if (file !== entry) return;
      // Bad input in the entry script: reported as the CLI reports it (no stack, exit 2).
      console.error(`pkgkit: ${err.message}`);
      process.exit(err.exitCode);
    },
  });
  // A pkg.config.ts run directly that never calls definePackage leaves nothing to run: say so
  // rather than exit without a word (Node: 13, for a top-level await that never settles). Bun
  // never gets here then (it spins: oven-sh/bun#14951); Deno reports such an await itself.
  if (basename(entry) === "pkg.config.ts")
    process.once("beforeExit", () => {
      if (state.defs.length > 0) return;
      console.error(`pkgkit: ${entry}: defined no package: a top-level await in it (or in a file it imports) never settled, or it has no \`export default definePackage({ ... })\``);
      process.exitCode = 2;
    });
}
