/** Recipe: directories in, resolved packages out (load each file, then one batched git query). */
import { loadPackages } from "../lib/load.ts";
import { resolvePackages, type Package, type ResolveOptions } from "../lib/package.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import type { PackageDefinition } from "../lib/define.ts";

export async function packagesFromDirs(dirs: string[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return packagesFromDefinitions(await loadPackages(dirs), options, shell);
}

export async function packagesFromDefinitions(defs: PackageDefinition[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return resolvePackages(shell ?? (await defaultShell()), defs, options);
}
