/** Find and load the package file in a directory: pkg.config.ts, else LinuxKit's build.yml. */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { InputError, isPkgkitError, SpecError } from "./errors.ts";
import { isPackageDefinition, type PackageDefinition } from "./define.ts";
import { canonical } from "./runtime.ts";

export const CONFIG_FILE = "pkg.config.ts";
export const BUILD_YML = "build.yml";

// Synchronous on purpose: thousands of tiny stats queue behind libuv's few threads when async.
const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

/** The package file in `dir`, preferring pkg.config.ts over build.yml. */
export async function findPackageFile(dir: string): Promise<string> {
  const abs = canonical(resolve(dir));
  if (statSync(abs, { throwIfNoEntry: false })?.isDirectory() !== true)
    throw new InputError(`${dir}: not a directory; expected a package directory holding ${CONFIG_FILE} or ${BUILD_YML}`);
  for (const name of [CONFIG_FILE, BUILD_YML]) if (isFile(join(abs, name))) return join(abs, name);
  throw new InputError(`${dir}: no ${CONFIG_FILE} or ${BUILD_YML} found; create one (see \`pkgkit --help\`)`);
}

export async function loadPackage(dir: string): Promise<PackageDefinition> {
  const file = await findPackageFile(dir);
  // yaml is loaded only when a build.yml is.
  if (file.endsWith(BUILD_YML)) return (await import("./buildyml.ts")).loadBuildYml(file);
  let mod: { default?: unknown };
  try {
    // The bundled bin registers TypeScript support only when it is needed: here.
    await (globalThis as Record<symbol, (() => Promise<void>) | undefined>)[Symbol.for("pkgkit.loadTypeScript")]?.();
    mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (err) {
    // Errors from the config's own copy of pkgkit (e.g. a SpecError from definePackage) pass as they are.
    if (isPkgkitError(err)) throw err;
    throw new InputError(`${file}: failed to load: ${(err as Error).message}`);
  }
  // A pkg.config.ts outside an ESM package ("type": "module") is compiled to CommonJS by tsx:
  // its default export then sits one level down.
  const exported = isPackageDefinition(mod.default) ? mod.default : (mod.default as { default?: unknown } | undefined)?.default;
  if (!isPackageDefinition(exported))
    throw new SpecError(file, [{ field: "", message: "expected `export default definePackage({ ... })`" }]);
  return exported;
}

/** Load several directories; all problems are reported together. */
export async function loadPackages(dirs: string[]): Promise<PackageDefinition[]> {
  const results = await Promise.allSettled(dirs.map(loadPackage));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) throw new InputError(failed.map((e) => e.message).join("\n"));
  return results.map((r) => (r as PromiseFulfilledResult<PackageDefinition>).value);
}
