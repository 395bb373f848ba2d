/**
 * Recipe: build packages. Look up what each arch's engine already has (one query per engine),
 * plan, run. Each piece is exported so a pipeline can stop after planning, edit the plan, or run
 * its own.
 */
import { archRef, indexRef, type Package } from "../lib/package.ts";
import { plan, type PlanOptions } from "../lib/plan/plan.ts";
import type { Plan, ResolvedWith } from "../lib/plan/schema.ts";
import type { Reporter, Result } from "../lib/run.ts";
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

/** The look-ups a plan's local engines rest on (see PlanOptions: local, nativeArch, localEngine). */
export interface EngineLookup {
  /** Each per-arch image in its arch's engine, and each package's plain `org/image:<tag>` in the local engine. */
  local: Map<string, LocalImage>;
  nativeArch?: string;
  /** Per-arch images missing in their arch's engine of its own, found in the local engine. */
  localEngine: Map<string, LocalImage>;
  /** Each ref asked → the image id found, or null: the plan's `observed.local`, `.plain` and `.localEngine`. */
  observed: { local: Record<string, string | null>; plain: Record<string, string | null>; localEngine?: Record<string, string | null> };
}

/**
 * The engine look-ups, one query per engine, in parallel: each per-arch image in its arch's engine;
 * in the local engine also each package's plain `org/image:<tag>` and the per-arch images of the
 * arches that build in an engine of their own (copied over when only the local engine has them);
 * and the local engine's native arch.
 */
export async function lookupEngines(packages: Package[], images: { ref: string; arch: Arch }[], builder: Builder, builders: ArchBuilders = {}): Promise<EngineLookup> {
  const plain = packages.map(indexRef);
  const elsewhere = images.filter((i) => builders[i.arch]?.engine).map((i) => i.ref);
  const asks = new Map<Builder, string[]>([[builder, []]]);
  for (const { ref, arch } of images) {
    const b = builderFor(arch, builder, builders);
    asks.set(b, [...(asks.get(b) ?? []), ref]);
  }
  asks.get(builder)!.push(...plain, ...elsewhere);
  const [answers, nativeArch] = await Promise.all([Promise.all([...asks].map(([b, refs]) => b.inspect(refs))), builder.engineArch()]);
  const inEngine = new Map([...asks.keys()].map((b, i) => [b, answers[i]!]));
  const inLocal = inEngine.get(builder)!;
  const found = (refs: string[], where: (ref: string) => Map<string, LocalImage>) =>
    new Map(refs.flatMap((r) => (where(r).has(r) ? [[r, where(r).get(r)!] as const] : [])));
  const archOf = new Map(images.map((i) => [i.ref, i.arch]));
  const local = found([...images.map((i) => i.ref), ...plain], (r) => (archOf.has(r) ? inEngine.get(builderFor(archOf.get(r)!, builder, builders))! : inLocal));
  const copyable = elsewhere.filter((r) => !local.has(r));
  return {
    local,
    ...(nativeArch ? { nativeArch } : {}),
    localEngine: found(copyable, () => inLocal),
    observed: {
      local: observedLocal(images.map((i) => i.ref), local),
      plain: observedLocal(plain, local),
      ...(copyable.length ? { localEngine: observedLocal(copyable, inLocal) } : {}),
    },
  };
}

/** Each ref looked up in an engine → the image id found, or null. */
export const observedLocal = (refs: string[], found: Map<string, LocalImage>): Record<string, string | null> =>
  Object.fromEntries(refs.map((r) => [r, found.get(r)?.id ?? null]));

/** The look-ups a build plan rests on, made now, as the options plan() takes, and the session to run it with. */
export async function observeBuild(packages: Package[], options: BuildOptions = {}): Promise<{ options: PlanOptions; session: Session }> {
  checkPackages(packages);
  const session = await completeSession(options);
  const { builder, builders = {} } = session;
  const images = packages.flatMap((p) => p.arches.map((arch) => ({ ref: archRef(p, arch), arch })));
  const { local, nativeArch, localEngine, observed } = await lookupEngines(packages, images, builder, builders);
  return {
    options: {
      command: "build",
      builder,
      builders,
      local,
      ...(nativeArch ? { nativeArch } : {}),
      localEngine,
      force: options.force,
      ...(options.attestations === false ? { attestations: false as const } : {}),
      observed: { registry: {}, ...observed },
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
  // Loaded here: planning alone (`pkgkit plan`, planBuild) needs none of what runs the steps.
  const { run } = await import("../lib/run.ts");
  const result = await run(p, session, { reporter: options.reporter });
  return { plan: p, result };
}
