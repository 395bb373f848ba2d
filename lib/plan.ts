/**
 * plan(): packages + what already exists → the steps a command will take, as plain data.
 * It is pure: the existence look-ups happen before (see `lookupLocal`) and their answers are
 * recorded in the plan, so `plan`, `--dry-run` and `run()` all see the same decisions.
 */
import { archRef, type Package } from "./package.ts";
import { platformString, type Arch } from "./spec.ts";
import type { Builder, BuildCommand, LocalImage } from "./builder.ts";

export type Command = "build";

export interface BuildStep {
  kind: "build";
  id: string;
  package: string;
  dir: string;
  arch: Arch;
  platform: string;
  ref: string;
  builder: string;
  /** The build context: the package directory, or an assembled one when there are extra sources. */
  context: string;
  command: BuildCommand;
  reason: string;
}

export interface SkipStep {
  kind: "skip";
  id: string;
  package: string;
  arch: Arch;
  ref: string;
  reason: string;
  /** What was found, e.g. the local image id. */
  found?: string;
}

/** Copy the package and its extra sources into one context directory. */
export interface ContextStep {
  kind: "context";
  id: string;
  package: string;
  context: string;
  sources: { src: string; dst: string }[];
  reason: string;
}

export type Step = BuildStep | SkipStep | ContextStep;

export interface Plan {
  version: 1;
  command: Command;
  packages: { name: string; dir: string; tag: string; dirty: boolean; arches: Arch[] }[];
  steps: Step[];
}

export interface PlanOptions {
  command: Command;
  builder: Builder;
  /** Local images found by the look-up, keyed by ref. */
  local: Map<string, LocalImage>;
  /** Rebuild even what exists. */
  force?: boolean;
  /** Where assembled contexts go (for packages with extra sources). */
  scratchDir: string;
}

export function plan(packages: Package[], options: PlanOptions): Plan {
  const steps: Step[] = [];
  for (const pkg of packages) {
    const name = `${pkg.repository}:${pkg.tag}`;
    let context = pkg.dir;
    const needsContext = pkg.extraSources.length > 0;
    let contextPlanned = false;
    for (const arch of pkg.arches) {
      const ref = archRef(pkg, arch);
      const id = `${pkg.repository}:${pkg.tag}/${arch}`;
      const existing = options.local.get(ref);
      if (existing && !options.force) {
        steps.push({ kind: "skip", id, package: name, arch, ref, reason: "exists in local engine", found: existing.id });
        continue;
      }
      if (needsContext && !contextPlanned) {
        context = `${options.scratchDir}/${pkg.repository.replaceAll("/", "_").replaceAll(":", "_")}-${pkg.tag}`;
        steps.push({
          kind: "context",
          id: `${name}/context`,
          package: name,
          context,
          sources: [{ src: pkg.dir, dst: "/" }, ...pkg.extraSources],
          reason: `package has ${pkg.extraSources.length} extra source(s)`,
        });
        contextPlanned = true;
      }
      const dockerfile = needsContext ? `${context}/${relativeTo(pkg.dir, pkg.dockerfile)}` : pkg.dockerfile;
      steps.push({
        kind: "build",
        id,
        package: name,
        dir: pkg.dir,
        arch,
        platform: platformString(arch),
        ref,
        builder: options.builder.name,
        context,
        command: options.builder.command({
          context,
          dockerfile,
          arch,
          ref,
          network: pkg.network,
          cache: pkg.cache,
          buildArgs: pkg.buildArgs,
          labels: pkg.labels,
        }),
        reason: existing ? "--force: rebuild although it exists locally" : "not in local engine",
      });
    }
  }
  return {
    version: 1,
    command: options.command,
    packages: packages.map((p) => ({ name: `${p.repository}:${p.tag}`, dir: p.dir, tag: p.tag, dirty: p.dirty, arches: p.arches })),
    steps,
  };
}

function relativeTo(dir: string, file: string): string {
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Human-readable plan, one line per step. */
export function formatPlan(p: Plan): string {
  const lines = [`plan: ${p.command} (${p.steps.filter((s) => s.kind === "build").length} to build, ${p.steps.filter((s) => s.kind === "skip").length} to skip)`];
  for (const s of p.steps) {
    if (s.kind === "build") {
      lines.push(`  build  ${s.ref}  [${s.platform}, ${s.builder}]  ${s.reason}`);
      lines.push(`         $ ${[...Object.entries(s.command.env ?? {}).map(([k, v]) => `${k}=${v}`), ...s.command.argv].map(quoteForDisplay).join(" ")}`);
    } else if (s.kind === "skip") lines.push(`  skip   ${s.ref}  ${s.reason}${s.found ? ` (${s.found.slice(0, 19)})` : ""}`);
    else lines.push(`  context ${s.context}  ${s.reason}`);
  }
  return lines.join("\n");
}

/** Quote for display only: plans are executed from argv arrays, never from this text. */
function quoteForDisplay(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
}
