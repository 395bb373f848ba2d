/**
 * Images from the local engine, as registry blobs: `docker save` writes the image as a tar (the
 * legacy layout, or OCI layout on newer engines; both carry manifest.json); each layer is checked
 * against its diff_id, normalised for SOURCE_DATE_EPOCH (lib/layer-tar.ts), gzipped the same way on
 * every runtime (lib/gzip.ts) into a file and hashed on the way; the config gets the new diff_ids
 * and its times clamped, and a Docker v2 or OCI manifest is made over them. So the same build
 * inputs give the same bytes, whichever engine built them and whichever runtime pushes them.
 */
import type { Hash } from "node:crypto";
import { nodeCrypto } from "./node-crypto.ts";
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PkgkitError } from "./errors.ts";
import { deterministicGzip } from "./gzip.ts";
import { normalisedLayer, type TarRange } from "./layer-tar.ts";
import { MediaTypes, type Blob, type Platform } from "./registry/types.ts";
import { sha256 } from "./registry/digest.ts";

export type ManifestFormat = "docker" | "oci";

/** An image ready to push: config and layers as blobs, and the manifest over them. */
export interface ImageBlobs {
  config: Blob;
  layers: Blob[];
  /**
   * Each layer as the engine exported it, uncompressed, where it lies in the `docker save` archive:
   * the same files as `layers` (only entry order and times differ), so the SBOM reads them without
   * gunzipping what is being pushed. Absent for an image read back from a registry.
   */
  exportedLayers?: TarRange[];
  platform: Platform;
  manifest: { mediaType: string; bytes: Uint8Array; digest: string; size: number };
}

export interface TarEntry {
  name: string;
  offset: number;
  size: number;
}

/** The regular files of a tar archive: names, offsets and sizes (ustar, GNU long names, pax). */
export async function tarEntries(file: string): Promise<Map<string, TarEntry>> {
  const fh = await open(file, "r");
  const entries = new Map<string, TarEntry>();
  try {
    const header = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, 512, pos);
      if (bytesRead < 512 || header.every((b) => b === 0)) break;
      const field = (start: number, len: number) => header.subarray(start, start + len).toString("latin1").replace(/\0.*$/s, "");
      const size = parseInt(field(124, 12).trim() || "0", 8);
      const type = field(156, 1) || "0";
      const prefix = field(345, 155);
      let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      longName = undefined;
      const data = pos + 512;
      if (type === "L" || type === "x") {
        const buf = Buffer.alloc(size);
        await fh.read(buf, 0, size, data);
        const text = buf.toString("utf8");
        longName = type === "L" ? text.replace(/\0.*$/s, "") : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1];
      } else if (type === "0" || type === "\0") {
        name = name.replace(/^\.\//, "");
        entries.set(name, { name, offset: data, size });
      }
      pos = data + Math.ceil(size / 512) * 512;
    }
  } finally {
    await fh.close();
  }
  return entries;
}

function hashing(hash: Hash, count: { n: number }) {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      count.n += chunk.length;
      done(null, chunk);
    },
  });
}

/** SOURCE_DATE_EPOCH as the config writes times (RFC 3339, UTC, whole seconds). */
export function epochTime(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/**
 * The image config with `diffIds` as its layers and every time after `epoch` (`created`,
 * `history[].created`) set to it; nothing else changes. Written as the engine writes JSON (Go's
 * encoding/json: compact, `<`, `>`, `&`, U+2028 and U+2029 escaped).
 */
export function normalisedConfig(bytes: Uint8Array, diffIds: string[], epoch: number): Uint8Array {
  const config = JSON.parse(new TextDecoder().decode(bytes)) as { created?: string; history?: { created?: string }[]; rootfs?: { diff_ids?: string[] } };
  const clamp = (time: string | undefined) => (time !== undefined && !(Date.parse(time) < epoch * 1000) ? epochTime(epoch) : time);
  if (config.created !== undefined) config.created = clamp(config.created);
  for (const h of config.history ?? []) if (h.created !== undefined) h.created = clamp(h.created);
  config.rootfs = { ...config.rootfs, diff_ids: diffIds };
  const json = JSON.stringify(config).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return new TextEncoder().encode(json);
}

/**
 * Turn a `docker save` archive into blobs under `dir`, normalised for `epoch` (SOURCE_DATE_EPOCH,
 * seconds). Each layer as exported is checked against the config's diff_ids, so a corrupt export
 * never reaches a registry.
 */
export async function imageBlobsFromArchive(archive: string, dir: string, format: ManifestFormat = "docker", epoch = 0): Promise<ImageBlobs> {
  const entries = await tarEntries(archive);
  const read = async (name: string) => {
    const e = entries.get(name);
    if (!e) throw new PkgkitError(`${archive}: no ${name} in the image archive`);
    const fh = await open(archive, "r");
    try {
      const buf = Buffer.alloc(e.size);
      await fh.read(buf, 0, e.size, e.offset);
      return buf;
    } finally {
      await fh.close();
    }
  };
  const index = JSON.parse((await read("manifest.json")).toString("utf8")) as { Config: string; Layers: string[] }[];
  if (index.length !== 1) throw new PkgkitError(`${archive}: expected one image in the archive, found ${index.length}`);
  const exportedConfig = await read(index[0]!.Config);
  const config = JSON.parse(exportedConfig.toString("utf8")) as { os?: string; architecture?: string; variant?: string; rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== index[0]!.Layers.length)
    throw new PkgkitError(`${archive}: the config lists ${diffIds.length} layers, the archive ${index[0]!.Layers.length}`);

  const normalised = await Promise.all(
    index[0]!.Layers.map(async (name, i): Promise<{ blob: Blob; diffId: string; exportedLayer: TarRange }> => {
      const e = entries.get(name);
      if (!e) throw new PkgkitError(`${archive}: no layer ${name} in the image archive`);
      const exported = nodeCrypto().createHash("sha256");
      const source = e.size === 0 ? [Buffer.alloc(0)] : createReadStream(archive, { start: e.offset, end: e.offset + e.size - 1 });
      await pipeline(source, hashing(exported, { n: 0 }), new Writable({ write: (_c, _e, done) => done() }));
      if (`sha256:${exported.digest("hex")}` !== diffIds[i])
        throw new PkgkitError(`${archive}: layer ${name} does not match its diff_id ${diffIds[i]}`);
      const path = join(dir, `layer-${i}.tar.gz`);
      const raw = nodeCrypto().createHash("sha256");
      const packed = nodeCrypto().createHash("sha256");
      const packedCount = { n: 0 };
      const exportedLayer = { file: archive, offset: e.offset, size: e.size };
      const layer = Readable.from(normalisedLayer(exportedLayer, epoch));
      await pipeline(layer, hashing(raw, { n: 0 }), deterministicGzip(), hashing(packed, packedCount), createWriteStream(path));
      return { blob: { digest: `sha256:${packed.digest("hex")}`, size: packedCount.n, data: { path } }, diffId: `sha256:${raw.digest("hex")}`, exportedLayer };
    }),
  );
  const layers = normalised.map((l) => l.blob);
  const configBytes = normalisedConfig(exportedConfig, normalised.map((l) => l.diffId), epoch);
  const configBlob: Blob = { digest: sha256(configBytes), size: configBytes.length, data: configBytes };
  const docker = format === "docker";
  const manifestJson = {
    schemaVersion: 2,
    mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
    config: { mediaType: docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig, size: configBlob.size, digest: configBlob.digest },
    layers: layers.map((l) => ({ mediaType: docker ? MediaTypes.dockerLayerGzip : MediaTypes.ociLayerGzip, size: l.size, digest: l.digest })),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(manifestJson));
  return {
    config: configBlob,
    layers,
    exportedLayers: normalised.map((l) => l.exportedLayer),
    platform: {
      os: config.os ?? "linux",
      architecture: config.architecture ?? "",
      ...(config.variant ? { variant: config.variant } : {}),
    },
    manifest: { mediaType: manifestJson.mediaType, bytes, size: bytes.length, digest: sha256(bytes) },
  };
}
