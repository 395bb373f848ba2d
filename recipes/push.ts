/**
 * Recipe: push packages. Look up what the registry has (bounded concurrency), then what each
 * arch's engine has of the rest, plan, run. Builder detection happens only when something must
 * be built, so a push where everything exists never starts a docker process.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archRef, indexRef, type Package } from "../lib/package.ts";
import { forced, plan, type Plan } from "../lib/plan.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { buildxBuilder, detectBuilder, type ArchBuilders, type Builder, type LocalImage } from "../lib/builder.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import { mapLimit } from "../lib/concurrency.ts";
import type { Descriptor, Manifest, Registry } from "../lib/registry/types.ts";
import type { ManifestFormat } from "../lib/image.ts";
import { lookupImages } from "./build.ts";

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
  scratchDir?: string;
  /** Registry look-ups in flight at once (default 16). */
  concurrency?: number;
}

export interface RegistryState {
  /** Per-arch and release tags the registry has. */
  remote: Map<string, Descriptor>;
  /** Indexes the registry has. */
  indexes: Map<string, Manifest>;
}

/** The read-only registry look-up: each `<tag>-<arch>` (and release tag) by HEAD, each index by GET. */
export async function lookupRegistry(packages: Package[], registry: Registry, options: { release?: string; concurrency?: number } = {}): Promise<RegistryState> {
  const heads = packages.flatMap((p) => [
    ...p.arches.map((a) => ({ repository: p.repository, ref: archRef(p, a), reference: archRef(p, a).slice(p.repository.length + 1) })),
    ...(options.release ? [{ repository: p.repository, ref: `${p.repository}:${options.release}`, reference: options.release }] : []),
  ]);
  const remote = new Map<string, Descriptor>();
  const indexes = new Map<string, Manifest>();
  const limit = options.concurrency ?? 16;
  await Promise.all([
    mapLimit(heads, limit, async (h) => {
      const d = await registry.headManifest(h.repository, h.reference);
      if (d) remote.set(h.ref, d);
    }),
    mapLimit(packages, limit, async (p) => {
      const m = await registry.getManifest(p.repository, p.tag);
      if (m) indexes.set(indexRef(p), m);
    }),
  ]);
  return { remote, indexes };
}

export async function planPush(packages: Package[], options: PushOptions): Promise<{ plan: Plan; builder: Builder; builders: ArchBuilders; shell: Shell; registryState: RegistryState }> {
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
  return {
    plan: plan(packages, {
      command: "push",
      builder,
      builders,
      local,
      remote: registryState.remote,
      indexes: registryState.indexes,
      release: options.release,
      format: options.format,
      force: options.force,
      scratchDir: options.scratchDir ?? join(tmpdir(), "pkgkit-contexts"),
    }),
    builder,
    builders,
    shell,
    registryState,
  };
}

export async function pushPackages(packages: Package[], options: PushOptions): Promise<{ plan: Plan; result: Result }> {
  const { plan: p, builder, builders, shell } = await planPush(packages, options);
  const result = await run(p, { shell, builder, builders, registry: options.registry, reporter: options.reporter });
  return { plan: p, result };
}
