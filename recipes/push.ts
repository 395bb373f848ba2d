/**
 * Recipe: push packages. Look up what the registry has (bounded concurrency), then what each
 * arch's engine has of the rest, plan, run. Builder detection happens only when something must
 * be built, so a push where everything exists never starts a docker process.
 */
import { archRef, indexRef, type Package } from "../lib/package.ts";
import { forced, plan, type PlanOptions } from "../lib/plan/plan.ts";
import type { Plan, ResolvedWith } from "../lib/plan/schema.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { buildxBuilder, detectBuilder, type ArchBuilders, type Builder, type LocalImage } from "../lib/builder.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import { mapLimit } from "../lib/concurrency.ts";
import { registryTag, withArch } from "../lib/names.ts";
import type { Descriptor, Manifest, Registry } from "../lib/registry/types.ts";
import type { ManifestFormat } from "../lib/image.ts";
import { lookupImages, observedLocal } from "./build.ts";
import type { Signer } from "../lib/sign/types.ts";
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
}

export interface RegistryState {
  /** Per-arch and release tags the registry has. */
  remote: Map<string, Descriptor>;
  /** Indexes the registry has. */
  indexes: Map<string, Manifest>;
  /** Every ref looked up → the manifest digest found, or null. */
  observed: Record<string, string | null>;
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

/** The look-ups a push plan rests on (the registry, then each arch's engine for what it lacks), made now, as the options plan() takes. */
export async function observePush(
  packages: Package[],
  options: PushOptions,
): Promise<{ options: PlanOptions; builder: Builder; builders: ArchBuilders; shell: Shell; registryState: RegistryState; signers: Map<string, Signer> }> {
  checkPackages(packages);
  const shell = options.shell ?? (await defaultShell());
  const registryState = await lookupRegistry(packages, options.registry, options);
  const missing = packages
    .flatMap((p) => p.arches.map((arch) => ({ ref: archRef(p, arch), arch, force: forced(p, options.force) })))
    .filter((i) => i.force || !registryState.remote.has(i.ref));
  // Image look-up and export are the engine's, whichever builder builds: any builder serves them.
  const engine = options.builder ?? buildxBuilder(shell);
  const builders = options.builders ?? {};
  const local: Map<string, LocalImage> = missing.length ? await lookupImages(missing, engine, builders) : new Map();
  const needsBuild = missing.some((i) => i.force || !local.has(i.ref));
  const builder = options.builder ?? (needsBuild ? await detectBuilder(shell) : engine);
  const planOptions: PlanOptions = {
    command: "push",
    builder,
    builders,
    local,
    remote: registryState.remote,
    indexes: registryState.indexes,
    release: options.release,
    format: options.format,
    force: options.force,
    observed: { registry: registryState.observed, local: observedLocal(missing.map((i) => i.ref), local) },
    ...(options.resolved ? { resolved: options.resolved } : {}),
  };
  // Signing: who signs each package, and whether what the registry has is signed already.
  const signing = await resolveSigning(packages, { registry: options.registry, shell, signing: options.signing });
  const signed = await planOptionsWithSigning(packages, planOptions, signing, options.concurrency);
  return { options: signed, builder, builders, shell, registryState, signers: signing.signers };
}

/** The push plan, sign steps included, after the look-ups (`observePush`), with what `run()` needs for it: shell, builders, signers. */
export async function planPush(
  packages: Package[],
  options: PushOptions,
): Promise<{ plan: Plan; builder: Builder; builders: ArchBuilders; shell: Shell; registryState: RegistryState; signers: Map<string, Signer> }> {
  const { options: planOptions, ...rest } = await observePush(packages, options);
  return { plan: plan(packages, planOptions), ...rest };
}

/** Build what the registry lacks, push it, merge each index and sign: plan, then run. A failed step is in `result`, not thrown. */
export async function pushPackages(packages: Package[], options: PushOptions): Promise<{ plan: Plan; result: Result }> {
  const { plan: p, builder, builders, shell, signers } = await planPush(packages, options);
  const result = await run(p, { shell, builder, builders, registry: options.registry, reporter: options.reporter, signers });
  return { plan: p, result };
}
