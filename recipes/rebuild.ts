/**
 * Recipe: `pkgkit verify --rebuild`. Builds each package's current tag again from its sources, as
 * `build --force --disable-cache` does (into each arch's engine, under the same refs), turns each
 * image into the blobs a push would make (lib/image.ts: the same normalisation for the package's
 * SOURCE_DATE_EPOCH, the manifest format the registry holds), and compares them with the
 * registry's per-arch image. Where they differ it says where: the config's fields, and for each
 * layer that differs, the files (by path: type, size, mode, owner, mtime, link target, content).
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { createReadStream } from "node:fs";
import { archRef, type Package } from "../lib/package.ts";
import { registryTag, withArch } from "../lib/names.ts";
import { builderFor } from "../lib/builder.ts";
import { PkgkitError } from "../lib/errors.ts";
import { imageBlobsFromArchive, type ImageBlobs } from "../lib/image.ts";
import { compareListings, tarListing, type FileDifference } from "../lib/layer-tar.ts";
import { MediaTypes, type Registry } from "../lib/registry/types.ts";
import { run, type Reporter, type Session } from "../lib/run.ts";
import { createScratch } from "../lib/scratch.ts";
import type { Arch } from "../lib/spec.ts";
import { planBuild, type BuildOptions } from "./build.ts";

/** A layer of a rebuilt image that differs from the registry's, and its files that differ. */
export interface LayerDifference {
  /** Position in the image, from 1 (the base first). */
  layer: number;
  registry?: string;
  rebuilt?: string;
  files: FileDifference[];
}

/** One per-arch image: whether the rebuild gives the registry's manifest, and where it does not. */
export interface RebuildRow {
  package: string;
  arch: Arch;
  ref: string;
  match: boolean;
  /** The registry's manifest digest (absent: not in the registry). */
  registry?: string;
  rebuilt: string;
  /** Config fields that differ (`created`, `config.Env`, `rootfs.diff_ids`, ...). */
  config: string[];
  layers: LayerDifference[];
}

/** What a rebuild needs: the build options (shell, builders, reporter) and the registry to compare with. */
export interface RebuildOptions extends BuildOptions {
  registry: Registry;
  reporter?: Reporter;
  signal?: AbortSignal;
}

/** Rebuild `packages` (no cache) and compare each arch's image with the registry's. Throws when a build fails. */
export async function rebuildAndCompare(packages: Package[], options: RebuildOptions): Promise<RebuildRow[]> {
  const uncached = packages.map((p) => ({ ...p, cache: false }));
  const { plan, session } = await planBuild(uncached, { ...options, force: uncached.map((p) => p.id) });
  const result = await run(plan, session, { ...(options.reporter ? { reporter: options.reporter } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const failed = result.steps.filter((s) => s.status === "failed");
  if (!result.ok) throw new PkgkitError(`the rebuild failed, so nothing was compared:\n${failed.map((s) => `  ${s.ref ?? s.id}: ${s.error}`).join("\n") || "  interrupted"}`);
  const scratch = await createScratch();
  try {
    const rows: RebuildRow[] = [];
    for (const p of uncached) for (const arch of p.arches) rows.push(await compareArch(p, arch, session, options.registry, await scratch.tempDir("rebuild-")));
    return rows;
  } finally {
    await scratch.remove();
  }
}

async function compareArch(p: Package, arch: Arch, session: Session, registry: Registry, dir: string): Promise<RebuildRow> {
  const ref = archRef(p, arch);
  const remote = await registry.getManifest(p.repository, registryTag(withArch(p.ref, arch)));
  const archive = join(dir, "image.tar");
  await builderFor(arch, session.builder, session.builders).save(ref, archive);
  const format = remote?.mediaType === MediaTypes.ociManifest ? "oci" : "docker";
  const image = await imageBlobsFromArchive(archive, dir, format, p.sourceDateEpoch);
  const base = { package: `${p.repository}:${p.tag}`, arch, ref, rebuilt: image.manifest.digest };
  if (!remote) return { ...base, match: false, config: [], layers: [] };
  const match = remote.digest === image.manifest.digest;
  if (match) return { ...base, match, registry: remote.digest, config: [], layers: [] };
  const remoteConfig = remote.json.config ? JSON.parse(new TextDecoder().decode(await registry.getBlob(p.repository, remote.json.config.digest))) : {};
  const rebuiltConfig = JSON.parse(new TextDecoder().decode(image.config.data as Uint8Array));
  return { ...base, match, registry: remote.digest, config: configDifferences(remoteConfig, rebuiltConfig), layers: await layerDifferences(p.repository, registry, remote.json.layers ?? [], image) };
}

/** Paths of the fields that differ, one level into `config` and `rootfs` (where the engine puts what a Dockerfile sets). */
export function configDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    const nested = (k === "config" || k === "rootfs") && x && y && typeof x === "object" && typeof y === "object";
    out.push(...(nested ? configDifferences(x as Record<string, unknown>, y as Record<string, unknown>).map((f) => `${k}.${f}`) : [k]));
  }
  return out;
}

async function layerDifferences(repository: string, registry: Registry, remote: { digest: string }[], image: ImageBlobs): Promise<LayerDifference[]> {
  const out: LayerDifference[] = [];
  for (let i = 0; i < Math.max(remote.length, image.layers.length); i++) {
    const r = remote[i];
    const l = image.layers[i];
    if (r && l && r.digest === l.digest) continue;
    const original = r ? await tarListing(Readable.from([Buffer.from(await registry.getBlob(repository, r.digest))]).pipe(createGunzip())) : [];
    const rebuilt = l ? await tarListing(createReadStream((l.data as { path: string }).path).pipe(createGunzip())) : [];
    out.push({ layer: i + 1, ...(r ? { registry: r.digest } : {}), ...(l ? { rebuilt: l.digest } : {}), files: compareListings(original, rebuilt) });
  }
  return out;
}
