/**
 * What build, push and plan share: LinuxKit's flags checked, the packages left with an arch, the
 * build plan (push's: lib/cli/push.ts), and the plan printed.
 */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import { indexRef, type Package } from "../package.ts";
import { DEFAULT_HASH_COMMIT } from "../git.ts";
import { formatPlan } from "../plan/format.ts";
import type { Plan, ResolvedWith } from "../plan/schema.ts";
import type { PlanMatrix } from "../apply.ts";
import { resolveAttestations, resolveBuildMode, resolveVerbosity, type Settings } from "../options.ts";
import { createSession } from "../session.ts";
import type { Builder } from "../builder.ts";
import { graphOfTargets, resolveRunSet, targetsDir, type Targets } from "../../recipes/packages.ts";
import { planBuild } from "../../recipes/build.ts";
import { checkLinuxkitFlags } from "./linuxkit.ts";
import { settingsFor } from "./settings.ts";

/**
 * LinuxKit's flags of a build or push, checked before anything is looked up: refused ones, the
 * conflicts, the verbosity; the notes on flags accepted without effect are printed under `-v`.
 */
export function checkBuildFlags(o: ParsedOptions, pushing: boolean) {
  const verbosity = resolveVerbosity(o);
  const notes = checkLinuxkitFlags(o, pushing);
  const mode = resolveBuildMode(o);
  if (pushing && !mode.manifest && typeof o.release === "string")
    throw new InputError(`--release with --manifest=false: the release tag points at the multi-arch index, which --manifest=false does not make`);
  if (verbosity.notes) for (const n of notes) process.stderr.write(`note: ${n}\n`);
  return { mode, attestations: resolveAttestations(o).value ? {} : { attestations: false as const } };
}

/**
 * Packages left with no arch (`--skip-platforms` named all they declare) are skipped, as LinuxKit
 * skips them, with its line; the rest are the run's.
 */
export function withArches(packages: Package[]): Package[] {
  for (const p of packages) if (p.arches.length === 0) process.stderr.write(`Skipping ${indexRef(p)} with no architectures to build\n`);
  const kept = packages.filter((p) => p.arches.length > 0);
  if (kept.length === 0) throw new NothingToBuild();
  return kept;
}

/** Every package was skipped: LinuxKit's build and push then succeed, doing nothing; a plan is refused (it would have no package). */
class NothingToBuild extends InputError {
  constructor() {
    super("--skip-platforms skips every arch of every package: nothing to plan");
  }
}

/** A build or push where every package was skipped (see NothingToBuild): exit 0, as LinuxKit. */
export async function unlessNothingToBuild(run: () => Promise<number>): Promise<number> {
  return run().catch((err: unknown) => {
    if (err instanceof NothingToBuild) return ExitCode.ok;
    throw err;
  });
}

/** Resolve the packages while the builder is detected, then look up what exists and plan. */
export async function planFor(t: Targets, o: ParsedOptions): Promise<Awaited<ReturnType<typeof planBuild>> & { settings: Settings }>;
export async function planFor(t: Targets, o: ParsedOptions, by: "arch"): Promise<PlanMatrix>;
export async function planFor(t: Targets, o: ParsedOptions, by?: "arch") {
  const { attestations } = checkBuildFlags(o, false);
  const { workspace, settings } = await settingsFor(t, o, { builders: true });
  buildsAtHead(settings);
  const [graph, session] = await Promise.all([graphOfTargets(t, settings.packages, workspace), createSession(settings, { builders: "now" }).then(askEngineArch)]);
  const { packages: all, force } = resolveRunSet(graph, o.force === true);
  const packages = withArches(all);
  const options = { ...session, force, resolved: resolvedWith(t, settings), ...attestations };
  if (!by) return { ...(await planBuild(packages, options)), settings };
  const { planByArch } = await import("../apply.ts");
  return planByArch(packages, async (pkgs) => (await planBuild(pkgs, options)).plan);
}

/**
 * The plan's look-ups (lookupEngines) ask the local engine's arch, which the engine is the slowest
 * to answer (`GET /version`: milliseconds where an image inspect takes one), and which needs no
 * package: asked as soon as the builder exists, it is answered while git runs, and the look-ups
 * get the same answer (Builder.engineArch asks once).
 */
function askEngineArch<S extends { builder?: Builder }>(session: S): S {
  session.builder?.engineArch().catch(() => {});
  return session;
}

/** Builds use the work tree, so their tags are taken at HEAD (LinuxKit refuses the same). */
export function buildsAtHead(settings: Settings): void {
  const commit = settings.packages.hashCommit;
  if (commit !== undefined && commit !== DEFAULT_HASH_COMMIT)
    throw new InputError(`--hash-commit ${JSON.stringify(commit)}: build, push and plan work on the files as they are, so their tags are taken at HEAD; use --hash-commit with show-tag only`);
}

/** Recorded in plans, so `apply` resolves the packages as the plan did. */
export function resolvedWith(t: Targets, settings: Settings): ResolvedWith {
  // Arches are the plan's packages' own (`--skip-platforms` included); apply selects them again.
  const { workspace: _, arches: __, orgSource: ___, skipArches: ____, ...overrides } = settings.packages;
  return { from: targetsDir(t), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

export function printPlan(plan: Plan, o: ParsedOptions): number {
  console.log(o.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
  return ExitCode.ok;
}
