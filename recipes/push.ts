/**
 * Recipe: push packages. Look up what the registry has (bounded concurrency), then what each
 * arch's engine has of the rest, plan, run. Builder detection happens only when something must
 * be built, so a push where everything exists never starts a docker process.
 */
import process from "node:process";
import { relative } from "node:path";
import { archRef, indexRef, type Package } from "../lib/package.ts";
import { InputError } from "../lib/errors.ts";
import { forced, plan, type PlanOptions } from "../lib/plan/plan.ts";
import type { Plan, ResolvedWith } from "../lib/plan/schema.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { buildxBuilder, type ArchBuilders, type Builder, type LocalImage } from "../lib/builder.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import { completeSession, type Session } from "../lib/session.ts";
import { mapLimit } from "../lib/concurrency.ts";
import { registryTag, withArch } from "../lib/names.ts";
import type { Descriptor, Manifest, Registry } from "../lib/registry/types.ts";
import type { ManifestFormat } from "../lib/image.ts";
import { lookupEngines } from "./build.ts";
import { checkPackages } from "../lib/contain.ts";
import { planOptionsWithSigning, resolveSigning, type SigningOptions } from "./sign.ts";

/** How to push: the registry, the shell and builders (detected when needed), what to force, the release tag, who signs. */
export interface PushOptions {
  registry: Registry;
  shell?: Shell;
  builder?: Builder;
  /** Builders for arches that build in another engine (a remote builder); their images are pushed from there. */
  builders?: ArchBuilders;
  /** Rebuild and push even what exists: every package, or those with these ids. */
  force?: boolean | string[];
  /** Also point this tag at each index. */
  release?: string;
  format?: ManifestFormat;
  reporter?: Reporter;
  /** Registry look-ups in flight at once (default 16). */
  concurrency?: number;
  /** Recorded in the plan: how the packages were resolved (see `pkgkit apply`). */
  resolved?: ResolvedWith;
  /** Who signs (packages with content trust on); default: package field, pkgkit.yml, then notary. */
  signing?: SigningOptions;
  /** false: push the per-arch images without merging them into an index (LinuxKit's `--manifest=false`). */
  manifest?: false;
  /** false: builds make no attestations (LinuxKit's `--sbom-scanner false`). */
  attestations?: false;
}

export interface RegistryState {
  /** Per-arch and release tags the registry has. */
  remote: Map<string, Descriptor>;
  /** Indexes the registry has. */
  indexes: Map<string, Manifest>;
  /** Every ref looked up → the manifest digest found, or null. */
  observed: Record<string, string | null>;
}

/**
 * Refuses (InputError) to push packages with uncommitted changes unless `allowDirty`: their tags
 * end in -dirty-<hash>. Directories are named relative to `cwd`.
 */
export function refuseDirty(packages: Package[], allowDirty: boolean, cwd = process.cwd()): void {
  const dirty = packages.filter((p) => p.dirty);
  if (dirty.length && !allowDirty)
    throw new InputError(
      `refusing to push ${dirty.length === 1 ? "a package" : `${dirty.length} packages`} with uncommitted changes:\n` +
        dirty.map((p) => `  ${relative(cwd, p.dir) || "."}: tag ${p.tag}`).join("\n") +
        "\ncommit the changes, or pass --allow-dirty to push the -dirty tag anyway",
    );
}

/** The read-only registry look-up: each `<tag>-<arch>` (and release tag) by HEAD, each index by GET. */
export async function lookupRegistry(packages: Package[], registry: Registry, options: { release?: string; concurrency?: number } = {}): Promise<RegistryState> {
  const heads = packages.flatMap((p) => [
    ...p.arches.map((a) => ({ repository: p.repository, ref: archRef(p, a), reference: registryTag(withArch(p.ref, a)) })),
    ...(options.release ? [{ repository: p.repository, ref: `${p.repository}:${options.release}`, reference: options.release }] : []),
  ]);
  const remote = new Map<string, Descriptor>();
  const indexes = new Map<string, Manifest>();
  const observed: Record<string, string | null> = Object.fromEntries([...heads.map((h) => h.ref), ...packages.map(indexRef)].map((r) => [r, null]));
  const limit = options.concurrency ?? 16;
  await Promise.all([
    mapLimit(heads, limit, async (h) => {
      const d = await registry.headManifest(h.repository, h.reference);
      if (d) remote.set(h.ref, d);
      observed[h.ref] = d?.digest ?? null;
    }),
    mapLimit(packages, limit, async (p) => {
      const m = await registry.getManifest(p.repository, p.tag);
      if (m) indexes.set(indexRef(p), m);
      observed[indexRef(p)] = m?.digest ?? null;
    }),
  ]);
  return { remote, indexes, observed };
}

/**
 * The look-ups a push plan rests on (the registry, then each arch's engine for what it lacks),
 * made now, as the options plan() takes, and the session to run it with (its signers included).
 */
export async function observePush(packages: Package[], options: PushOptions): Promise<{ options: PlanOptions; session: Session; registryState: RegistryState }> {
  checkPackages(packages);
  const shell = options.shell ?? (await defaultShell());
  const registryState = await lookupRegistry(packages, options.registry, options);
  const missing = packages
    .flatMap((p) => p.arches.map((arch) => ({ ref: archRef(p, arch), arch, force: forced(p, options.force) })))
    .filter((i) => i.force || !registryState.remote.has(i.ref));
  // Image look-up and export are the engine's, whichever builder builds: any builder serves them.
  const engine = options.builder ?? buildxBuilder(shell);
  const builders = options.builders ?? {};
  // Nothing is asked of an engine when the registry has everything.
  const engines = missing.length ? await lookupEngines(packages.filter((p) => missing.some((i) => i.ref.startsWith(`${indexRef(p)}-`))), missing, engine, builders) : undefined;
  const local: Map<string, LocalImage> = engines?.local ?? new Map();
  const needsBuild = missing.some((i) => i.force || (!local.has(i.ref) && !engines?.localEngine.has(i.ref)));
  // Signing: who signs each package, and whether what the registry has is signed already.
  const signing = await resolveSigning(packages, { registry: options.registry, shell, signing: options.signing });
  // The builder is detected only when something must be built.
  const session = await completeSession({ shell, builder: needsBuild ? options.builder : engine, builders, registry: options.registry, signers: signing.signers });
  const planOptions: PlanOptions = {
    command: "push",
    builder: session.builder,
    builders,
    local,
    ...(engines?.nativeArch ? { nativeArch: engines.nativeArch } : {}),
    ...(engines ? { localEngine: engines.localEngine } : {}),
    remote: registryState.remote,
    indexes: registryState.indexes,
    release: options.release,
    format: options.format,
    force: options.force,
    ...(options.manifest === false ? { manifest: false as const } : {}),
    ...(options.attestations === false ? { attestations: false as const } : {}),
    observed: { registry: registryState.observed, local: {}, ...engines?.observed },
    ...(options.resolved ? { resolved: options.resolved } : {}),
  };
  return { options: await planOptionsWithSigning(packages, planOptions, signing, options.concurrency), session, registryState };
}

/** The push plan, sign steps included, after the look-ups (`observePush`), with the session that runs it (signers included). */
export async function planPush(packages: Package[], options: PushOptions): Promise<{ plan: Plan; session: Session; registryState: RegistryState }> {
  const { options: planOptions, ...rest } = await observePush(packages, options);
  return { plan: plan(packages, planOptions), ...rest };
}

/** Build what the registry lacks, push it, merge each index and sign: plan, then run. A failed step is in `result`, not thrown. */
export async function pushPackages(packages: Package[], options: PushOptions): Promise<{ plan: Plan; result: Result }> {
  const { plan: p, session } = await planPush(packages, options);
  const result = await run(p, session, { reporter: options.reporter });
  return { plan: p, result };
}
