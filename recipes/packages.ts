/** Recipe: directories in, resolved packages out (load each file, then one batched git query). */
import process from "node:process";
import { dirname } from "node:path";
import { loadPackages } from "../lib/load.ts";
import { resolveGraph, resolvePackages, type Package, type ResolvedGraph, type ResolveOptions } from "../lib/package.ts";
import { findWorkspace, selectPackageDirs, workspaceDefaults } from "../lib/workspace.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import type { PackageDefinition } from "../lib/define.ts";

/** Load the package files in `dirs` and resolve them (`loadPackages`, then `resolvePackages`), in the order given. */
export async function packagesFromDirs(dirs: string[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return packagesFromDefinitions(await loadPackages(dirs), options, shell);
}

/** Resolve already loaded definitions (`resolvePackages` with the default shell unless one is given). */
export async function packagesFromDefinitions(defs: PackageDefinition[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return resolvePackages(shell ?? (await defaultShell()), defs, options);
}

/**
 * Command-line arguments in, the resolved graph out, with the defaults of the workspace around
 * `cwd` (pkgkit.config.ts). Arguments are package directories, directory globs, or none for
 * every package of the workspace. Found packages (no arguments, or globs) come in dependency
 * order; named ones in the order given. Dependencies not selected are in `packages`, not `roots`.
 */
export async function graphFromArgs(args: string[], options: ResolveOptions = {}, cwd = process.cwd(), shell?: Shell): Promise<ResolvedGraph> {
  const sh = shell ?? (await defaultShell());
  const { dirs, workspace, found } = await selectPackageDirs(args, { cwd, shell: sh });
  const graph = await resolveGraph(sh, await loadPackages(dirs), { workspace: workspace && workspaceDefaults(workspace), checkPaths: true, ...options });
  if (!found) return graph;
  const order = new Map(graph.packages.map((p, i) => [p, i]));
  return { ...graph, roots: [...new Set(graph.roots)].sort((a, b) => order.get(a)! - order.get(b)!) };
}

/** The resolved graph of already loaded definitions, with the defaults of the workspace around the first. */
export async function graphFromDefinitions(defs: PackageDefinition[], options: ResolveOptions = {}, shell?: Shell): Promise<ResolvedGraph> {
  const workspace = defs.length > 0 ? await findWorkspace(dirname(defs[0]!.file)) : undefined;
  return resolveGraph(shell ?? (await defaultShell()), defs, { workspace: workspace && workspaceDefaults(workspace), checkPaths: true, ...options });
}
