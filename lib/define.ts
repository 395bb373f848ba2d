/**
 * `definePackage()`: the typed, validated replacement for LinuxKit's build.yml.
 *
 * Like Vite's `defineConfig` it exists for types and editor help: it validates, freezes and
 * returns. The one thing it reads besides its argument is the stack, to learn which file declared
 * the package (its directory is the package's). Making a config file runnable
 * (`npx tsx pkg.config.ts build`) is not its business: the public entry module installs a hook
 * (lib/cli/entry.ts) that is told of each definition.
 */
import { dirname } from "node:path";
import { SpecError } from "./errors.ts";
import { isPackageDefinition, PACKAGE_KIND, parseSpec, type PackageDefinition, type PackageSpec, type PackageSpecInput } from "./spec.ts";
import { callerFile } from "./runtime.ts";

export { isPackageDefinition, type PackageDefinition };

/** Told of each `definePackage` call, valid or not. */
export interface DefinitionHook {
  defined(def: PackageDefinition): void;
  invalid(file: string, err: SpecError): void;
}

// Shared by every copy of this module (tsx may load one as CommonJS, the CLI another as ESM).
const HOOK = Symbol.for("pkgkit.definitionHook");
const hooks = globalThis as { [HOOK]?: DefinitionHook };

/** Install (or with undefined, remove) the hook `definePackage` tells of each definition. */
export function setDefinitionHook(hook: DefinitionHook | undefined): void {
  hooks[HOOK] = hook;
}

/**
 * Validate and freeze a spec declared in `file`, for the package in `dir` (the file's directory,
 * unless a build.yml was named by LinuxKit's --build-yml). Throws SpecError naming the file and fields.
 */
export function makeDefinition(raw: unknown, file: string, dir = dirname(file)): PackageDefinition {
  const parsed = parseSpec(raw);
  if ("problems" in parsed) throw new SpecError(file, parsed.problems);
  const fields = Object.keys(raw as object).filter((k) => k in parsed.spec) as (keyof PackageSpec)[];
  return Object.freeze({ kind: PACKAGE_KIND, spec: parsed.spec, file, dir, fields });
}

/**
 * Declare a package: the default export of a `pkg.config.ts`. Validated now, frozen and returned;
 * the file that calls it is the package's file, its directory the package directory. Throws
 * SpecError naming the file and each bad field.
 *
 * @example
 * ```ts
 * // pkg/app/pkg.config.ts
 * import { definePackage } from "pkgkit";
 * import base from "../base/pkg.config.ts";
 *
 * export default definePackage({
 *   image: "app",
 *   org: "example",
 *   arches: ["amd64", "arm64"],
 *   buildArgs: { BASE: base }, // another package: its tag, folded into this one's hash
 * });
 * ```
 */
export function definePackage(spec: PackageSpecInput): PackageDefinition {
  const file = callerFile(import.meta.url) ?? "pkg.config.ts";
  let def: PackageDefinition;
  try {
    def = makeDefinition(spec, file);
  } catch (err) {
    if (err instanceof SpecError) hooks[HOOK]?.invalid(file, err);
    throw err;
  }
  hooks[HOOK]?.defined(def);
  return def;
}
