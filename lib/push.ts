/**
 * Publishing: one image per arch (`org/image:<tag>-<arch>`), then the multi-arch index
 * (`org/image:<tag>`) merged with whatever the registry already holds.
 *
 * The index merge, for writers on other machines pushing other arches at the same time
 * (registries have no compare-and-swap on tags). Each writer has pushed its per-arch images
 * first; then, until a round writes nothing:
 *   1. read the index at the tag (if any) and the per-arch tags `<tag>-<arch>` of every arch
 *      pkgkit knows;
 *   2. if the index lists every per-arch tag present (at the digest the tag has now), and each
 *      release tag points at it, stop;
 *   3. else write the index: its entries, those for a present tag's platform replaced by the
 *      tag's digest, every other present tag added (entries whose manifest is gone are dropped;
 *      entries for other platforms and the attestations of kept images stay), or point the
 *      release tags at it; go to 1 once that write has completed.
 * The last index write is by a writer whose next read saw every per-arch tag pushed before it,
 * and a tag pushed later has a writer that reads after it: so when all writers have stopped,
 * the index lists every arch pushed. No step waits for "long enough": correctness rests on
 * each registry tag reading back what was last written to it, not on timing.
 * Entries are sorted by platform, so writers that merge the same set write the same bytes.
 */
import { PkgkitError } from "./errors.ts";
import { RegistryError } from "./registry/errors.ts";
import { INDEX_TYPES, MediaTypes, type Descriptor, type Manifest, type Platform, type Registry, type UploadOutcome } from "./registry/types.ts";
import type { ImageBlobs } from "./image.ts";
import { parseRepository } from "./registry/names.ts";
import { sha256 } from "./registry/digest.ts";
import { retry } from "./retry.ts";
import { ARCHES, PLATFORMS, platformKey, type Arch } from "./names.ts";

export interface PushedImage {
  ref: string;
  descriptor: Descriptor & { platform: Platform };
  blobs: Record<UploadOutcome, number>;
}

/** Where blobs were seen in this run, per registry host: lets later pushes mount, not upload. */
export type BlobLocations = Map<string, string[]>;

const host = (repository: string) => parseRepository(repository).registry;

/** What pushImage reports besides its result. */
export interface PushImageOptions {
  /** Retry lines (a manifest PUT tried again). */
  log?: (line: string) => void;
}

/** Pushes one image's blobs (mounting those `seen` in another repository of the host), then its manifest under `tag`. */
export async function pushImage(
  registry: Registry,
  repository: string,
  tag: string,
  image: ImageBlobs,
  seen: BlobLocations = new Map(),
  options: PushImageOptions = {},
): Promise<PushedImage> {
  const blobs: Record<UploadOutcome, number> = { exists: 0, mounted: 0, uploaded: 0 };
  for (const blob of [image.config, ...image.layers]) {
    const mountFrom = (seen.get(blob.digest) ?? []).filter((r) => r !== repository && host(r) === host(repository));
    blobs[await registry.uploadBlob(repository, blob, { mountFrom })] += 1;
    seen.set(blob.digest, [...new Set([...(seen.get(blob.digest) ?? []), repository])]);
  }
  const digest = await putImageManifest(registry, repository, tag, image, options.log);
  if (digest !== image.manifest.digest)
    throw new PkgkitError(`${repository}:${tag}: the registry stored the manifest as ${digest}, expected ${image.manifest.digest}`);
  return {
    ref: `${repository}:${tag}`,
    descriptor: { mediaType: image.manifest.mediaType, digest, size: image.manifest.size, platform: image.platform },
    blobs,
  };
}

const MANIFEST_PUT_ATTEMPTS = 3;

/**
 * Distribution with filesystem storage can refuse a manifest (400, MANIFEST_BLOB_UNKNOWN) whose
 * blobs are all there, when another writer is pushing one of the same blobs into the repository
 * at that moment (seen with four arches sharing a layer, pushed at once). So when every blob
 * reads back as present, the PUT is tried again; when one is missing, the refusal stands.
 */
function putImageManifest(registry: Registry, repository: string, tag: string, image: ImageBlobs, log?: (line: string) => void): Promise<string> {
  const blobsPresent = async () => (await Promise.all([image.config, ...image.layers].map((b) => registry.blobExists(repository, b.digest)))).every(Boolean);
  return retry(() => registry.putManifest(repository, tag, image.manifest.bytes, image.manifest.mediaType), {
    what: `PUT manifest ${repository}:${tag}`,
    attempts: MANIFEST_PUT_ATTEMPTS,
    baseDelayMs: 100,
    classify: async (e) =>
      e instanceof RegistryError && e.status === 400 && e.message.includes("MANIFEST_BLOB_UNKNOWN") && (await blobsPresent())
        ? { reason: "400 MANIFEST_BLOB_UNKNOWN though every blob is there (another writer is pushing one of them)" }
        : undefined,
    ...(log ? { onRetry: log } : {}),
  });
}

/** Existing entries, ours replacing any for the same platform; attestations of dropped images go too. */
export function mergeEntries(existing: Descriptor[], ours: Descriptor[]): Descriptor[] {
  const mine = new Set(ours.map((d) => platformKey(d.platform)));
  const kept = existing.filter((d) => !isAttestation(d) && !mine.has(platformKey(d.platform)));
  const images = [...kept, ...ours].map(canonicalEntry).sort((a, b) => platformKey(a.platform).localeCompare(platformKey(b.platform)));
  const live = new Set(images.map((d) => d.digest));
  const attestations = existing.filter((d) => isAttestation(d) && live.has(d.annotations?.["vnd.docker.reference.digest"] ?? ""));
  return [...images, ...attestations];
}

/**
 * An entry of an arch pkgkit knows, as every writer writes it: mediaType, digest, size, platform
 * first, the platform as pkgkit names the arch. A writer that pushed arm64 has its platform from
 * the image config (variant "v8" or none, by engine); one that found it by its tag, from the
 * arch: both must write the same bytes.
 */
function canonicalEntry(d: Descriptor): Descriptor {
  const arch = ARCHES.find((a) => platformKey(PLATFORMS[a]) === platformKey(d.platform));
  if (!arch) return d;
  const { mediaType, digest, size, platform: _, ...rest } = d;
  return { mediaType, digest, size, platform: { ...PLATFORMS[arch] }, ...rest };
}

const isAttestation = (d: Descriptor) => d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest";

const lists = (entries: Descriptor[], d: Descriptor) => entries.some((e) => e.digest === d.digest && platformKey(e.platform) === platformKey(d.platform));

/** An arch this writer merges: its digest (pushed by this run, or found in the registry), and its pushed descriptor if any. */
export interface OwnArch {
  arch: Arch;
  digest: string;
  descriptor?: Descriptor & { platform: Platform };
}

export interface MergeOptions {
  /** Index media type for a new index; an existing index keeps its own. Default: from the entries. */
  mediaType?: string;
  /** Further tags to point at the merged index (release tags). */
  alsoTag?: string[];
  /** Rounds of read, compare, write (default 10). */
  attempts?: number;
  /** Give up after this long, ms (default 120000). */
  timeoutMs?: number;
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

export async function mergeIndex(registry: Registry, repository: string, tag: string, ours: OwnArch[], options: MergeOptions = {}): Promise<MergedIndex> {
  const attempts = options.attempts ?? 10;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const ref = `${repository}:${tag}`;
  const alsoTag = options.alsoTag ?? [];
  let written = false;
  let missing: string[] = [];
  /** Digests of other writers' per-arch images whose config was read and matched their tag's arch. */
  const checked = new Set<string>();
  const said = new Set<string>();
  const log = (line: string) => !said.has(line) && said.add(line) && options.log?.(line);
  for (let round = 1; round <= attempts && (round === 1 || Date.now() < deadline); round++) {
    const current = await registry.getManifest(repository, tag);
    if (current && !INDEX_TYPES.includes(current.mediaType))
      throw new PkgkitError(`${ref} is a single image (${current.mediaType}), not a multi-arch index; pkgkit will not replace it. Delete the tag or use another one.`);
    const existing = current?.json.manifests ?? [];
    const tagged = await perArchEntries(registry, repository, tag, ours, existing, checked, log);
    missing = tagged.filter((d) => !lists(existing, d)).map((d) => platformKey(d.platform));
    if (current && missing.length === 0) {
      const stale = await staleTags(registry, repository, current, alsoTag);
      if (stale.length === 0) return { ref, digest: current.digest, mediaType: current.mediaType, size: current.size, manifests: existing, written };
      for (const t of stale) await registry.putManifest(repository, t, current.bytes, current.mediaType);
      continue;
    }
    if (round > 1) options.log?.(`${ref} lacks ${missing.join(", ")} (another writer replaced it, or the registry did not keep the write); merging again (round ${round} of ${attempts})`);
    const merged = await withoutDangling(registry, repository, mergeEntries(existing, tagged), tagged, log);
    const mediaType = current?.mediaType ?? options.mediaType ?? (merged.every((d) => d.mediaType === MediaTypes.dockerManifest) ? MediaTypes.dockerManifestList : MediaTypes.ociIndex);
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType, manifests: merged }));
    const digest = await registry.putManifest(repository, tag, bytes, mediaType);
    const expected = sha256(bytes);
    if (digest !== expected) throw new PkgkitError(`${ref}: the registry stored the index as ${digest}, expected ${expected}`);
    written = true;
  }
  throw new PkgkitError(
    `${ref}: the index still lacks ${missing.length ? missing.join(", ") : "the release tags' update"} after ${attempts} rounds or ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s ` +
      "(other writers kept replacing it, or the registry did not keep what pkgkit wrote). The per-arch images are pushed; run the push again to merge them.",
  );
}

/**
 * One entry per per-arch tag in the registry, at the digest the tag has now: our pushed
 * descriptor when it is that digest, else the index's own entry for it, else the tag's manifest
 * with the arch's platform, once its config says it is that arch's image. Each of ours must still be tagged.
 */
async function perArchEntries(registry: Registry, repository: string, tag: string, ours: OwnArch[], existing: Descriptor[], checked: Set<string>, log?: (line: string) => void) {
  const heads = await Promise.all(ARCHES.map((arch) => registry.headManifest(repository, `${tag}-${arch}`)));
  const entries: Descriptor[] = [];
  for (const [i, arch] of ARCHES.entries()) {
    const own = ours.find((o) => o.arch === arch);
    const head = heads[i];
    if (!head) {
      if (own) throw new PkgkitError(`${repository}:${tag}-${arch} (${own.digest}) is not in the registry any more; not writing an index without it. Run the push again.`);
      continue;
    }
    if (INDEX_TYPES.includes(head.mediaType))
      throw new PkgkitError(`${repository}:${tag}-${arch} is a multi-arch index (${head.mediaType}), not a single image; not listing it in ${repository}:${tag} as ${arch}. Delete the tag or push the ${arch} image to it again.`);
    if (own && own.digest !== head.digest) log?.(`${repository}:${tag}-${arch} is now ${head.digest} (pushed by another writer), not ${own.digest}; the index lists the tag's digest`);
    const platform: Platform = { ...PLATFORMS[arch] };
    const known =
      (own?.descriptor?.digest === head.digest ? own.descriptor : undefined) ??
      existing.find((e) => e.digest === head.digest && platformKey(e.platform) === platformKey(platform));
    if (!known && !checked.has(head.digest)) {
      await checkImagePlatform(registry, repository, `${tag}-${arch}`, head.digest, platform);
      checked.add(head.digest);
    }
    entries.push(known ?? { mediaType: head.mediaType, digest: head.digest, size: head.size, platform });
  }
  return entries;
}

/** Another writer's per-arch image is listed as its tag's arch only when its config says it is that os/architecture. */
async function checkImagePlatform(registry: Registry, repository: string, reference: string, digest: string, platform: Platform) {
  const manifest = await registry.getManifest(repository, digest);
  if (!manifest) throw new PkgkitError(`${repository}:${reference} (${digest}) went from the registry while the index was merged; not writing an index without it. Run the push again.`);
  const configDigest = manifest.json.config?.digest;
  let config: { os?: unknown; architecture?: unknown } | undefined;
  try {
    config = configDigest ? JSON.parse(new TextDecoder().decode(await registry.getBlob(repository, configDigest))) : undefined;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  if (config?.os !== platform.os || config?.architecture !== platform.architecture)
    throw new PkgkitError(
      `${repository}:${reference} (${digest}) holds ${config ? `a ${String(config.os)}/${String(config.architecture)} image` : "an image whose platform cannot be read (no config, or one that is not JSON)"}, not ${platform.os}/${platform.architecture}; ` +
        `not listing it in the index as that arch. Delete the tag or push the ${platform.architecture} image to it again.`,
    );
}

/** Drop carried-over entries whose manifest is gone from the registry; the tagged ones must all be there. */
async function withoutDangling(registry: Registry, repository: string, entries: Descriptor[], tagged: Descriptor[], log?: (line: string) => void) {
  const present = await Promise.all(entries.map((d) => registry.headManifest(repository, d.digest)));
  const mine = new Set(tagged.map((d) => d.digest));
  const kept: Descriptor[] = [];
  entries.forEach((d, i) => {
    if (present[i]) kept.push(d);
    else if (mine.has(d.digest)) throw new PkgkitError(`${repository}@${d.digest} (${platformKey(d.platform)}) is not in the registry; not writing an index that points at it`);
    else log?.(`${repository}: dropping index entry ${platformKey(d.platform)} ${d.digest}: its manifest is no longer in the registry`);
  });
  return kept;
}

/** Release tags that do not point at the index yet. */
async function staleTags(registry: Registry, repository: string, index: Manifest, tags: string[]) {
  const heads = await Promise.all(tags.map((t) => registry.headManifest(repository, t)));
  return tags.filter((_, i) => heads[i]?.digest !== index.digest);
}
