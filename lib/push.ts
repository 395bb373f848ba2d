/**
 * Publishing: one image per arch (`org/image:<tag>-<arch>`), then the multi-arch index
 * (`org/image:<tag>`) merged with whatever the registry already holds.
 *
 * The index merge, for writers on other machines pushing other arches at the same time
 * (registries have no compare-and-swap on tags):
 *   1. read the index at the tag (if any); keep every entry, replace those for our platforms;
 *   2. check that every entry's manifest is in the registry (never publish a dangling entry);
 *   3. write it, wait a moment (longer than one read-modify-write takes), read it back;
 *   4. if another writer's older read overwrote our entries meanwhile, go to 1.
 * Entries are sorted by platform, so writers that merge the same set write the same bytes.
 */
import { PkgkitError } from "./errors.ts";
import { INDEX_TYPES, MediaTypes, type Descriptor, type Manifest, type Platform, type Registry, type UploadOutcome } from "./registry/types.ts";
import type { ImageBlobs } from "./image.ts";
import { parseRepository } from "./registry/names.ts";
import { sha256 } from "./registry/digest.ts";

export interface PushedImage {
  ref: string;
  descriptor: Descriptor & { platform: Platform };
  blobs: Record<UploadOutcome, number>;
}

/** Where blobs were seen in this run, per registry host: lets later pushes mount, not upload. */
export type BlobLocations = Map<string, string[]>;

const host = (repository: string) => parseRepository(repository).registry;

export async function pushImage(
  registry: Registry,
  repository: string,
  tag: string,
  image: ImageBlobs,
  seen: BlobLocations = new Map(),
): Promise<PushedImage> {
  const blobs: Record<UploadOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
  for (const blob of [image.config, ...image.layers]) {
    const mountFrom = (seen.get(blob.digest) ?? []).filter((r) => r !== repository && host(r) === host(repository));
    blobs[await registry.uploadBlob(repository, blob, { mountFrom })] += 1;
    seen.set(blob.digest, [...new Set([...(seen.get(blob.digest) ?? []), repository])]);
  }
  const digest = await registry.putManifest(repository, tag, image.manifest.bytes, image.manifest.mediaType);
  if (digest !== image.manifest.digest)
    throw new PkgkitError(`${repository}:${tag}: the registry stored the manifest as ${digest}, expected ${image.manifest.digest}`);
  return {
    ref: `${repository}:${tag}`,
    descriptor: { mediaType: image.manifest.mediaType, digest, size: image.manifest.size, platform: image.platform },
    blobs,
  };
}

/** `os/arch[/variant]`, with arm64's default variant v8 left out, as OCI platform matching does. */
export function platformKey(p: Platform | undefined): string {
  if (!p) return "unknown";
  const variant = p.architecture === "arm64" && p.variant === "v8" ? undefined : p.variant;
  return [p.os, p.architecture, variant].filter(Boolean).join("/");
}

/** Existing entries, ours replacing any for the same platform; attestations of dropped images go too. */
export function mergeEntries(existing: Descriptor[], ours: Descriptor[]): Descriptor[] {
  const mine = new Set(ours.map((d) => platformKey(d.platform)));
  const kept = existing.filter((d) => !isAttestation(d) && !mine.has(platformKey(d.platform)));
  const images = [...kept, ...ours].sort((a, b) => platformKey(a.platform).localeCompare(platformKey(b.platform)));
  const live = new Set(images.map((d) => d.digest));
  const attestations = existing.filter((d) => isAttestation(d) && live.has(d.annotations?.["vnd.docker.reference.digest"] ?? ""));
  return [...images, ...attestations];
}

const isAttestation = (d: Descriptor) => d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest";

const sameEntries = (a: Descriptor[], b: Descriptor[]) =>
  a.length === b.length && a.every((d, i) => d.digest === b[i]!.digest && platformKey(d.platform) === platformKey(b[i]!.platform));

const containsAll = (index: Manifest | undefined, ours: Descriptor[]) =>
  !!index && ours.every((o) => index.json.manifests?.some((d) => d.digest === o.digest && platformKey(d.platform) === platformKey(o.platform)));

export interface MergeOptions {
  /** Index media type for a new index; an existing index keeps its own. Default: from the entries. */
  mediaType?: string;
  /** Further tags to point at the merged index (release tags). */
  alsoTag?: string[];
  attempts?: number;
  /** Minimum wait before reading back, ms. */
  settleMs?: number;
  log?: (line: string) => void;
}

export interface MergedIndex {
  ref: string;
  digest: string;
  mediaType: string;
  size: number;
  manifests: Descriptor[];
  /** False when the registry already had exactly this index. */
  written: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function mergeIndex(registry: Registry, repository: string, tag: string, ours: Descriptor[], options: MergeOptions = {}): Promise<MergedIndex> {
  const attempts = options.attempts ?? 8;
  const ref = `${repository}:${tag}`;
  let written = false;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const started = Date.now();
    const current = await registry.getManifest(repository, tag);
    if (current && !INDEX_TYPES.includes(current.mediaType))
      throw new PkgkitError(`${ref} is a single image (${current.mediaType}), not a multi-arch index; pkgkit will not replace it. Delete the tag or use another one.`);
    const existing = current?.json.manifests ?? [];
    let merged = mergeEntries(existing, ours);
    if (current && sameEntries(existing, merged)) {
      await pointTags(registry, repository, current, options.alsoTag);
      return { ref, digest: current.digest, mediaType: current.mediaType, size: current.size, manifests: existing, written };
    }
    merged = await withoutDangling(registry, repository, merged, ours, options.log);
    const mediaType = current?.mediaType ?? options.mediaType ?? (ours.every((d) => d.mediaType === MediaTypes.dockerManifest) ? MediaTypes.dockerManifestList : MediaTypes.ociIndex);
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType, manifests: merged }));
    const digest = await registry.putManifest(repository, tag, bytes, mediaType);
    const expected = sha256(bytes);
    if (digest !== expected) throw new PkgkitError(`${ref}: the registry stored the index as ${digest}, expected ${expected}`);
    written = true;
    // A writer that read before our write finishes within about one read-modify-write of ours.
    await sleep(Math.max(options.settleMs ?? 150, 2 * (Date.now() - started)) * (1 + Math.random()));
    const back = await registry.getManifest(repository, tag);
    if (containsAll(back, ours)) {
      await pointTags(registry, repository, back!, options.alsoTag);
      return { ref, digest: back!.digest, mediaType: back!.mediaType, size: back!.size, manifests: back!.json.manifests ?? [], written };
    }
    options.log?.(`${ref} was changed by another writer; merging again (attempt ${attempt + 1} of ${attempts})`);
  }
  throw new PkgkitError(`${ref}: other writers kept replacing the index; gave up after ${attempts} attempts. Run the push again.`);
}

/** Drop carried-over entries whose manifest is gone from the registry; ours must all be there. */
async function withoutDangling(registry: Registry, repository: string, entries: Descriptor[], ours: Descriptor[], log?: (line: string) => void) {
  const present = await Promise.all(entries.map((d) => registry.headManifest(repository, d.digest)));
  const mine = new Set(ours.map((d) => d.digest));
  const kept: Descriptor[] = [];
  entries.forEach((d, i) => {
    if (present[i]) kept.push(d);
    else if (mine.has(d.digest)) throw new PkgkitError(`${repository}@${d.digest} (${platformKey(d.platform)}) is not in the registry; not writing an index that points at it`);
    else log?.(`${repository}: dropping index entry ${platformKey(d.platform)} ${d.digest}: its manifest is no longer in the registry`);
  });
  return kept;
}

async function pointTags(registry: Registry, repository: string, index: Manifest, tags: string[] = []) {
  for (const t of tags) {
    const existing = await registry.headManifest(repository, t);
    if (existing?.digest !== index.digest) await registry.putManifest(repository, t, index.bytes, index.mediaType);
  }
}
