/**
 * `definePackage()`: the typed, validated replacement for LinuxKit's build.yml.
 *
 * Like Vite's `defineConfig` it exists for types and editor help, and it validates eagerly.
 * It also makes the config file runnable: when the file that calls it is the entry script
 * (`npx tsx pkg.config.ts build`), the package CLI runs once the module has finished loading.
 * Imported from anywhere else, it only returns the definition.
 */
import { basename, dirname } from "node:path";
import process from "node:process";
import { SpecError } from "./errors.ts";
import { isPackageDefinition, PACKAGE_KIND, parseSpec, type PackageSpec, type PackageSpecInput } from "./spec.ts";
import { callerFile, mainFile } from "./runtime.ts";

export interface PackageDefinition {
  readonly kind: "pkgkit.package";
  readonly spec: PackageSpec;
  /** The file that declared it (pkg.config.ts or build.yml), absolute. */
  readonly file: string;
  /** The package directory, absolute. */
  readonly dir: string;
  /** The fields the file sets; the others hold defaults (which a workspace may override). */
  readonly fields: readonly (keyof PackageSpec)[];
}

export { isPackageDefinition };

/** Validate and freeze a spec declared in `file`. Throws SpecError naming the file and fields. */
export function makeDefinition(raw: unknown, file: string): PackageDefinition {
  const parsed = parseSpec(raw);
  if ("problems" in parsed) throw new SpecError(file, parsed.problems);
  const fields = Object.keys(raw as object).filter((k) => k in parsed.spec) as (keyof PackageSpec)[];
  return Object.freeze({ kind: PACKAGE_KIND, spec: parsed.spec, file, dir: dirname(file), fields });
}

const mainDefinitions: PackageDefinition[] = [];

// A pkg.config.ts run directly that never calls definePackage leaves nothing to run: say so
// rather than exit without a word (Node: 13, for a top-level await that never settles). Bun
// never gets here then (it spins: oven-sh/bun#14951); Deno reports such an await itself.
// Shared across copies of this module (tsx may load one as CommonJS, the CLI another as ESM).
const entryState = ((globalThis as Record<symbol, { defined: number; hooked: boolean } | undefined>)[Symbol.for("pkgkit.entry")] ??= { defined: 0, hooked: false });
const entry = mainFile();
if (entry !== undefined && basename(entry) === "pkg.config.ts" && !entryState.hooked) {
  entryState.hooked = true;
  process.once("beforeExit", () => {
    if (entryState.defined > 0) return;
    console.error(`pkgkit: ${entry}: defined no package: a top-level await in it (or in a file it imports) never settled, or it has no \`export default definePackage({ ... })\``);
    process.exitCode = 2;
  });
}

export function definePackage(spec: PackageSpecInput): PackageDefinition {
  const file = callerFile(import.meta.url) ?? "pkg.config.ts";
  const isMain = file === mainFile();
  if (!isMain) return makeDefinition(spec, file);
  // Entry script: report bad input as the CLI does (no stack, exit 2), else run the CLI once
  // the module has finished evaluating.
  let def: PackageDefinition;
  try {
    def = makeDefinition(spec, file);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    console.error(`pkgkit: ${err.message}`);
    process.exit(err.exitCode);
  }
  entryState.defined++;
  // A file that defines several packages gets one CLI run over all of them.
  if (mainDefinitions.push(def) === 1)
    setTimeout(() => void import("./cli.ts").then((m) => m.runPackageFile(mainDefinitions)), 0);
  return def;
}
