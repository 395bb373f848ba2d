/** `pkgkit verify --rebuild`: the rebuild's report (recipes/rebuild.ts compares), text or --json; exit 0 all match, 1 any differs. */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { ExitCode } from "../errors.ts";
import type { Package } from "../package.ts";
import type { Registry } from "../registry/types.ts";
import { resolveVerbosity, type Settings } from "../options.ts";
import { createSession } from "../session.ts";
import { rebuildAndCompare, type RebuildRow } from "../../recipes/rebuild.ts";
import { consoleReporter } from "../../recipes/report.ts";

const short = (digest?: string) => (digest ? digest.slice(0, 19) : "none");

/** The text report of one per-arch image. */
export function formatRebuildRow(r: RebuildRow): string {
  if (r.match) return `match    ${r.ref}  ${r.rebuilt}`;
  if (!r.registry) return `MISSING  ${r.ref}  not in the registry (rebuilt: ${r.rebuilt})`;
  const lines = [`DIFFERS  ${r.ref}  registry ${r.registry}, rebuilt ${r.rebuilt}`];
  if (r.config.length) lines.push(`         config: ${r.config.join(", ")}`);
  for (const l of r.layers) {
    lines.push(`         layer ${l.layer} (registry ${short(l.registry)}, rebuilt ${short(l.rebuilt)}): ${l.files.length} file(s) differ`);
    for (const f of l.files) lines.push(`           ${f.change.padEnd(9)}${f.path}${f.fields ? ` (${f.fields.join(", ")})` : ""}`);
  }
  return lines.join("\n");
}

/** Rebuild `packages` in the engines `settings` name and report against `registry`; the exit code (0 all match, 1 one differs). */
export async function verifyRebuild(packages: Package[], registry: Registry, settings: Settings, o: ParsedOptions): Promise<number> {
  const verbosity = resolveVerbosity(o);
  const session = await createSession(settings, { builders: "now" });
  const reporter = consoleReporter({ verbose: verbosity.buildOutput, quiet: true });
  const rows = await rebuildAndCompare(packages, { ...session, registry, reporter });
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else for (const r of rows) console.log(formatRebuildRow(r));
  const bad = rows.filter((r) => !r.match);
  process.stderr.write(bad.length ? `${bad.length} of ${rows.length} rebuilt images differ from the registry: ${bad.map((r) => r.ref).join(", ")}\n` : `${rows.length} rebuilt, each identical to the registry's\n`);
  return bad.length ? ExitCode.failed : ExitCode.ok;
}
