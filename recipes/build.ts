/**
 * Recipe: build packages. Look up what each arch's engine already has (one query per engine),
 * plan, run. Each piece is exported so a pipeline can stop after planning, edit the plan, or run
 * its own.
 */
import { archRef, type Package } from "../lib/package.ts";
import { plan, type PlanOptions } from "../lib/plan/plan.ts";
import type { Plan, ResolvedWith } from "../lib/plan/schema.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { builderFor, type ArchBuilders, type Builder, type LocalImage } from "../lib/builder.ts";
import type { Shell } from "../lib/shell.ts";
import { completeSession, type Session } from "../lib/session.ts";
import type { Arch } from "../lib/spec.ts";
import { checkPackages } from "../lib/contain.ts";

/** How to build: the shell and builders (detected when absent), what to rebuild, who reports. */
export interface BuildOptions {
  shell?: Shell;
  builder?: Builder;
  /** Builders for arches that build in another engine (a remote builder); the others use `builder`. */
  builders?: ArchBuilders;
  /** Rebuild images that already exist in their engine: every package, or those with these ids. */
  force?: boolean | string[];
  reporter?: Reporter;
  /** Recorded in the plan: how the packages were resolved (see `pkgkit apply`). */
  resolved?: ResolvedWith;
  /** false: builds make no attestations (LinuxKit's `--sbom-scanner false`). */
  attestations?: false;
}

/**
 * The read-only look-up step: which of these `org/image:<tag>-<arch>` images exist, each asked of
 * the engine its arch builds in (one query per engine, in parallel).
 */
export async function lookupImages(images: { ref: string; arch: Arch }[], builder: Builder, builders: ArchBuilders = {}): Promise<Map<string, LocalImage>> {
  const byBuilder = new Map<Builder, string[]>();
  for (const { ref, arch } of images) {
    const b = builderFor(arch, builder, builders);
    byBuilder.set(b, [...(byBuilder.get(b) ?? []), ref]);
  }
  const found = await Promise.all([...byBuilder].map(([b, refs]) => b.inspect(refs)));
  return new Map(found.flatMap((m) => [...m]));
}

/** Every arch image of the packages, looked up in its arch's engine. */
export async function lookupLocal(packages: Package[], builder: Builder, builders: ArchBuilders = {}): Promise<Map<string, LocalImage>> {
  return lookupImages(packages.flatMap((p) => p.arches.map((arch) => ({ ref: archRef(p, arch), arch }))), builder, builders);
}

/** Each ref looked up in an engine → the image id found, or null. */
export const observedLocal = (refs: string[], found: Map<string, LocalImage>): Record<string, string | null> =>
  Object.fromEntries(refs.map((r) => [r, found.get(r)?.id ?? null]));

/** The look-ups a build plan rests on, made now, as the options plan() takes, and the session to run it with. */
export async function observeBuild(packages: Package[], options: BuildOptions = {}): Promise<{ options: PlanOptions; session: Session }> {
  checkPackages(packages);
  const session = await completeSession(options);
  const { builder, builders = {} } = session;
  const local = await lookupLocal(packages, builder, builders);
  const refs = packages.flatMap((p) => p.arches.map((a) => archRef(p, a)));
  return {
    options: {
      command: "build",
      builder,
      builders,
      local,
      force: options.force,
      ...(options.attestations === false ? { attestations: false as const } : {}),
      observed: { registry: {}, local: observedLocal(refs, local) },
      ...(options.resolved ? { resolved: options.resolved } : {}),
    },
    session,
  };
}

/** The build plan, after the look-ups (`observeBuild`), with the session that runs it. */
export async function planBuild(packages: Package[], options: BuildOptions = {}): Promise<{ plan: Plan; session: Session }> {
  const { options: planOptions, session } = await observeBuild(packages, options);
  return { plan: plan(packages, planOptions), session };
}

/** Build `packages` into their engines: plan, then run. A failed step is in `result`, not thrown. */
export async function buildPackages(packages: Package[], options: BuildOptions = {}): Promise<{ plan: Plan; result: Result }> {
  const { plan: p, session } = await planBuild(packages, options);
  const result = await run(p, session, { reporter: options.reporter });
  return { plan: p, result };
}
