/**
 * The dependency graph of package definitions. A build arg whose value is another package is an
 * edge from the package to that dependency; the value may be:
 *   - the imported default export of its pkg.config.ts (`buildArgs: { BASE: base }`),
 *   - a function returning it (`BASE: () => base`), read only once every file has loaded,
 *   - LinuxKit's "@lkt:pkg:<path>": the package in that directory (relative to the package's), or
 *   - LinuxKit's "@lkt:pkgs:<glob>": every package directory the glob matches (hidden ones and the
 *     package itself excepted), one build arg each, named after the arg with "%" replaced by the
 *     dependency's ORG/IMAGE in capitals with "/", "-" and other characters not allowed in a name
 *     as "_" (`DEP_%` → `DEP_LINUXKIT_ALPINE`). LinuxKit does the same, and does not join them.
 * Building the graph loads only the package files "@lkt:" values name; it is otherwise pure.
 * A cycle is an error that lists every member, with its file and the build arg that closes it.
 */
import { basename, relative, resolve } from "node:path";
import { InputError, isPkgkitError, SpecError } from "./errors.ts";
import { formatPath, isPackageDefinition, LKT_PKG, LKT_PKGS } from "./spec.ts";
import { resolveOrg } from "./options.ts";
import { BUILD_YML, loadPackage } from "./load.ts";
import { globDirs } from "./glob.ts";
import { canonical } from "./runtime.ts";
import type { PackageDefinition } from "./define.ts";

/** One build arg after expansion: a plain value, or another package (resolved to its reference later). */
export type GraphArg = { name: string; value: string } | { name: string; dependency: GraphNode };

export interface GraphNode {
  /** Stable key: the package directory, or `<dir>#<image>` when several packages in the graph share one. */
  id: string;
  def: PackageDefinition;
  /** Build args in declaration order, "@lkt:pkgs:" ones expanded. */
  args: GraphArg[];
}

export interface DefinitionGraph {
  /** Every package involved, dependencies before their dependents (ties broken by directory, then image). */
  nodes: GraphNode[];
  /** The nodes of the definitions asked for, in the order given. */
  roots: GraphNode[];
}

export interface GraphOptions {
  /** Loads the package in a directory, for "@lkt:" values (default: `loadPackage`). */
  load?: (dir: string) => Promise<PackageDefinition>;
  /** The org "@lkt:pkgs:" names a dependency by (default: its file's org, else linuxkit). */
  orgOf?: (def: PackageDefinition) => string;
}

export const dependenciesOf = (n: GraphNode): { name: string; dependency: GraphNode }[] =>
  n.args.filter((a): a is { name: string; dependency: GraphNode } => "dependency" in a);

export async function buildGraph(defs: PackageDefinition[], options: GraphOptions = {}): Promise<DefinitionGraph> {
  const orgOf = options.orgOf ?? ((d: PackageDefinition) => resolveOrg(undefined, { file: d.file, value: d.spec.org }).value);
  const loaded = new Map<string, Promise<PackageDefinition>>();
  // A build.yml given as a root is not parsed a second time when an "@lkt:" value names its directory.
  for (const d of defs) if (d.file.endsWith(`/${BUILD_YML}`)) loaded.set(d.dir, Promise.resolve(d));
  const load = (dir: string) => {
    const key = canonical(dir);
    if (!loaded.has(key)) loaded.set(key, (options.load ?? loadPackage)(key));
    return loaded.get(key)!;
  };

  const nodes = new Map<string, GraphNode>();
  let pending: GraphNode[] = [];
  // Keyed by file and image: the same package reached as an object, a function and an "@lkt:" path is one node.
  const nodeFor = (def: PackageDefinition) => {
    const key = `${def.file}\0${def.spec.image}`;
    let n = nodes.get(key);
    if (!n) {
      n = { id: def.dir, def, args: [] };
      nodes.set(key, n);
      pending.push(n);
    }
    return n;
  };
  const roots = defs.map(nodeFor);
  while (pending.length > 0) {
    const batch = pending;
    pending = [];
    await Promise.all(batch.map(async (n) => void (n.args = await expandArgs(n.def, load, nodeFor, orgOf))));
  }

  const all = [...nodes.values()];
  const perDir = new Map<string, number>();
  for (const n of all) perDir.set(n.def.dir, (perDir.get(n.def.dir) ?? 0) + 1);
  for (const n of all) if (perDir.get(n.def.dir)! > 1) n.id = `${n.def.dir}#${n.def.spec.image}`;
  return { nodes: topologicalOrder(all), roots };
}

async function expandArgs(
  def: PackageDefinition,
  load: (dir: string) => Promise<PackageDefinition>,
  nodeFor: (def: PackageDefinition) => GraphNode,
  orgOf: (def: PackageDefinition) => string,
): Promise<GraphArg[]> {
  const out: GraphArg[] = [];
  for (const [name, value] of Object.entries(def.spec.buildArgs)) {
    const field = formatPath(["buildArgs", name]);
    const fail = (message: string) => new SpecError(def.file, [{ field, message }]);
    const loadFrom = async (dir: string) => {
      try {
        return await load(dir);
      } catch (err) {
        if (!isPkgkitError(err)) throw err;
        throw new InputError(`${def.file}: field "${field}": ${JSON.stringify(value)}: ${err.message}`);
      }
    };
    if (typeof value === "function") {
      let dep: unknown;
      try {
        dep = value();
      } catch (err) {
        throw fail(`the function threw: ${(err as Error).message}`);
      }
      if (!isPackageDefinition(dep))
        throw fail(`expected the function to return a package, the default export of another pkg.config.ts (got ${dep === undefined ? "nothing" : typeof dep})`);
      out.push({ name, dependency: nodeFor(dep) });
    } else if (isPackageDefinition(value)) {
      out.push({ name, dependency: nodeFor(value) });
    } else if (value.startsWith(LKT_PKGS)) {
      const pattern = value.slice(LKT_PKGS.length);
      const dirs = globDirs(def.dir, pattern).filter((d) => canonical(d) !== canonical(def.dir) && !basename(d).startsWith("."));
      if (dirs.length === 0) throw fail(`${JSON.stringify(value)}: no directory matches ${resolve(def.dir, pattern)}`);
      for (const dep of await Promise.all(dirs.map(loadFrom)))
        out.push({ name: name.replaceAll("%", argKey(`${orgOf(dep)}/${dep.spec.image}`)), dependency: nodeFor(dep) });
    } else if (value.startsWith(LKT_PKG)) {
      out.push({ name, dependency: nodeFor(await loadFrom(resolve(def.dir, value.slice(LKT_PKG.length)))) });
    } else {
      out.push({ name, value });
    }
  }
  const seen = new Set<string>();
  for (const a of out) {
    if (seen.has(a.name))
      throw new SpecError(def.file, [{ field: "buildArgs", message: `the build arg ${a.name} is set twice (an "${LKT_PKGS}" expansion gives it too); rename one` }]);
    seen.add(a.name);
  }
  return out;
}

/** LinuxKit's "%" replacement: `org/image` in capitals, "/" and "-" (and anything else not allowed in a name) as "_". */
export const argKey = (name: string) => name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");

const compareNodes = (a: GraphNode, b: GraphNode) =>
  a.def.dir < b.def.dir ? -1 : a.def.dir > b.def.dir ? 1 : a.def.spec.image < b.def.spec.image ? -1 : a.def.spec.image > b.def.spec.image ? 1 : 0;

/** Dependencies first; an iterative depth-first search, so long chains do not exhaust the stack. */
function topologicalOrder(all: GraphNode[]): GraphNode[] {
  const state = new Map<GraphNode, "visiting" | "done">();
  const out: GraphNode[] = [];
  const next = (n: GraphNode) => [...new Set(dependenciesOf(n).map((a) => a.dependency))].sort(compareNodes);
  for (const start of [...all].sort(compareNodes)) {
    if (state.has(start)) continue;
    state.set(start, "visiting");
    const stack = [{ node: start, deps: next(start), i: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.deps.length) {
        const dep = top.deps[top.i++]!;
        const s = state.get(dep);
        if (s === "visiting") throw cycleError(stack.slice(stack.findIndex((f) => f.node === dep)).map((f) => f.node));
        if (s === undefined) {
          state.set(dep, "visiting");
          stack.push({ node: dep, deps: next(dep), i: 0 });
        }
      } else {
        state.set(top.node, "done");
        out.push(top.node);
        stack.pop();
      }
    }
  }
  return out;
}

/** `members[i]` depends on `members[i + 1]`, and the last on the first. Listed from the first file by name. */
function cycleError(members: GraphNode[]): InputError {
  const first = members.reduce((best, n, i) => (n.def.file < members[best]!.def.file ? i : best), 0);
  const ring = [...members.slice(first), ...members.slice(0, first)];
  const lines = ring.map((n, i) => {
    const to = ring[(i + 1) % ring.length]!;
    const arg = dependenciesOf(n).find((a) => a.dependency === to)!.name;
    return `  ${n.def.file}: field "buildArgs.${arg}" → ${to.def.file}`;
  });
  const what = ring.length === 1 ? "a package depends on itself" : `${ring.length} packages depend on each other`;
  return new InputError(`dependency cycle: ${what}, so none can be tagged first; remove one of these build args:\n${lines.join("\n")}`);
}
