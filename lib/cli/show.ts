/** `pkgkit show-tag` and `pkgkit graph`: the packages resolved, printed; nothing else is looked up. */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { ExitCode } from "../errors.ts";
import { resolveVerbosity } from "../options.ts";
import { formatGraph, graphJson, indexRef, type Package } from "../package.ts";
import { canonicalRef } from "../names.ts";
import { graphOfTargets, type Targets } from "../../recipes/packages.ts";
import { settingsFor } from "./settings.ts";

export async function showTag(t: Targets, o: ParsedOptions): Promise<number> {
  resolveVerbosity(o);
  const { workspace, settings } = await settingsFor(t, o);
  // Tags only: no build args nor labels are printed, so git is not asked for HEAD's date nor the remote.
  const packages = (await graphOfTargets(t, { ...settings.packages, tagsOnly: true }, workspace)).roots;
  const ref = (p: Package) => (o.canonical ? canonicalRef(indexRef(p)) : indexRef(p));
  if (o.json)
    console.log(JSON.stringify(packages.map((p) => ({ dir: p.dir, ref: ref(p), repository: p.repository, tag: p.tag, hash: p.hash, dirty: p.dirty, arches: p.arches })), null, 2));
  else console.log(packages.map(ref).join("\n"));
  return ExitCode.ok;
}

export async function graph(t: Targets, o: ParsedOptions): Promise<number> {
  const { workspace, settings } = await settingsFor(t, o);
  const graph = await graphOfTargets(t, settings.packages, workspace);
  console.log(o.json ? JSON.stringify(graphJson(graph), null, 2) : formatGraph(graph, process.cwd()));
  return ExitCode.ok;
}
