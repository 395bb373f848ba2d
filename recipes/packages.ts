/**
 * Recipe: directories in, resolved packages out (load each file, then one batched git query).
 * Each function takes the Shell git runs through; without one, git is started directly
 * (lib/shell.ts, directShell): no shell, zx or dax for a question that needs none.
 */
import process from "node:process";
import { dirname } from "node:path";
import { loadPackages } from "../lib/load.ts";
import { resolveGraph, resolvePackages, type Package, type ResolvedGraph, type ResolveOptions } from "../lib/package.ts";
import { findWorkspace, selectPackageDirs, workspaceDefaults, type WorkspaceDefinition } from "../lib/workspace.ts";
import { directShell, type Shell } from "../lib/shell.ts";
import type { PackageDefinition } from "../lib/define.ts";
import { InputError } from "../lib/errors.ts";

/** Load the package files in `dirs` and resolve them (`loadPackages`, then `resolvePackages`), in the order given. */
export async function packagesFromDirs(dirs: string[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return packagesFromDefinitions(await loadPackages(dirs), options, shell);
}

/** Resolve already loaded definitions (`resolvePackages`; git runs through `shell` if given, else directly: directShell). */
export async function packagesFromDefinitions(defs: PackageDefinition[], options: ResolveOptions = {}, shell?: Shell): Promise<Package[]> {
  return resolvePackages(shell ?? directShell(), defs, options);
}

/**
 * Command-line arguments in, the resolved graph out, with the defaults of the workspace around
 * `cwd` (pkgkit.config.ts). Arguments are package directories, directory globs, or none for
 * every package of the workspace. Found packages (no arguments, or globs) come in dependency
 * order; named ones in the order given. Dependencies not selected are in `packages`, not `roots`.
 */
export async function graphFromArgs(args: string[], options: ResolveOptions = {}, cwd = process.cwd(), shell?: Shell): Promise<ResolvedGraph> {
  return graphOfArgs(args, options, cwd, shell ?? directShell());
}

/** The resolved graph of already loaded definitions, with the defaults of the workspace around the first. */
export async function graphFromDefinitions(defs: PackageDefinition[], options: ResolveOptions = {}, shell?: Shell): Promise<ResolvedGraph> {
  const workspace = defs.length > 0 ? await findWorkspace(dirname(defs[0]!.file)) : undefined;
  return resolveGraph(shell ?? directShell(), defs, { workspace: workspace && workspaceDefaults(workspace), checkPaths: true, ...options });
}

/** What a command works on: package directories (or globs, or none), or already loaded definitions (a config file run directly). */
export interface Targets {
  dirs: string[];
  defs?: PackageDefinition[];
}

/** Where the workspace of the targets is looked for (findWorkspace): the first definition's directory, else `cwd`. */
export const targetsDir = (t: Targets, cwd = process.cwd()): string => (t.defs?.[0] ? dirname(t.defs[0].file) : cwd);

/**
 * The resolved graph of the targets (see graphFromArgs, graphFromDefinitions), with the workspace
 * the caller found around targetsDir(t) (none: undefined), so that it is looked for once.
 */
export async function graphOfTargets(t: Targets, options: ResolveOptions, workspace: WorkspaceDefinition | undefined, shell?: Shell): Promise<ResolvedGraph> {
  const sh = shell ?? directShell();
  if (t.defs) return resolveGraph(sh, t.defs, { workspace: workspace && workspaceDefaults(workspace), checkPaths: true, ...options });
  return graphOfArgs(t.dirs, options, process.cwd(), sh, workspace ?? null);
}

async function graphOfArgs(args: string[], options: ResolveOptions, cwd: string, shell: Shell, workspace?: WorkspaceDefinition | null): Promise<ResolvedGraph> {
  if (options.buildYml !== undefined && args.length === 0)
    throw new InputError(`--build-yml ${JSON.stringify(options.buildYml)}: name the package directories it is read in, e.g. \`pkgkit show-tag --build-yml ${options.buildYml} .\``);
  const selected = await selectPackageDirs(args, { cwd, shell, ...(workspace !== undefined ? { workspace } : {}) });
  const graph = await resolveGraph(shell, await loadPackages(selected.dirs, { buildYml: options.buildYml }), { workspace: selected.workspace && workspaceDefaults(selected.workspace), checkPaths: true, ...options });
  if (!selected.found) return graph;
  const order = new Map(graph.packages.map((p, i) => [p, i]));
  return { ...graph, roots: [...new Set(graph.roots)].sort((a, b) => order.get(a)! - order.get(b)!) };
}

/**
 * What build and push work on: the packages asked for (the graph's roots) and everything they
 * depend on, dependencies first; with `force`, the ids that --force rebuilds: those asked for
 * (dependencies are built only when missing).
 */
export function resolveRunSet(graph: ResolvedGraph, force: boolean): { packages: Package[]; force: string[] } {
  const { packages, roots } = graph;
  const byId = new Map(packages.map((p) => [p.id, p]));
  const wanted = new Set<string>();
  const visit = (p: Package) => {
    if (wanted.has(p.id)) return;
    wanted.add(p.id);
    for (const d of p.dependencies) visit(byId.get(d.id)!);
  };
  roots.forEach(visit);
  return { packages: packages.filter((p) => wanted.has(p.id)), force: force ? roots.map((p) => p.id) : [] };
}
