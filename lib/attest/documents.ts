/**
 * The documents pkgkit attests for an arch image: its SPDX SBOM (lib/attest/sbom.ts, from the
 * image's own layers) and its SLSA v1 provenance (lib/attest/provenance.ts), and the image's
 * blobs read back from the registry when this run did not push it.
 */
import { MediaTypes, type Blob, type Descriptor, type Registry } from "../registry/types.ts";
import type { ImageBlobs } from "../image.ts";
import { PkgkitError } from "../errors.ts";
import { provenancePredicate, type ProvenanceInput } from "./provenance.ts";
import { sbomPredicate } from "./sbom.ts";
import type { AttestationDocument } from "./statement.ts";

/** Everything the two documents need: the image's blobs and what the provenance records of its build. */
export interface DocumentsInput extends ProvenanceInput {
  image: ImageBlobs;
  /** The SBOM's creation time, seconds (default 0). */
  sourceDateEpoch?: number;
}

/** The SPDX SBOM and the SLSA provenance of one arch image, in that order. */
export async function attestationDocuments(input: DocumentsInput): Promise<AttestationDocument[]> {
  const { image, sourceDateEpoch, ...provenance } = input;
  return [await sbomPredicate(image, input.subject, "spdx", { sourceDateEpoch }), provenancePredicate(provenance)];
}

/** An image in the registry as ImageBlobs (config and layers in memory), for attesting what this run did not push. */
export async function imageFromRegistry(registry: Registry, repository: string, descriptor: Descriptor): Promise<ImageBlobs & { created?: Date }> {
  const m = await registry.getManifest(repository, descriptor.digest);
  if (!m?.json.config) throw new PkgkitError(`${repository}@${descriptor.digest}: not an image manifest in the registry (nothing to attest)`);
  const configBytes = await registry.getBlob(repository, m.json.config.digest);
  const config = JSON.parse(new TextDecoder().decode(configBytes)) as { os?: string; architecture?: string; variant?: string; created?: string };
  const layers: Blob[] = await Promise.all((m.json.layers ?? []).map(async (l) => ({ digest: l.digest, size: l.size, data: await registry.getBlob(repository, l.digest) })));
  const created = config.created ? new Date(config.created) : undefined;
  return {
    config: { digest: m.json.config.digest, size: configBytes.length, data: configBytes },
    layers,
    platform: { os: config.os ?? "linux", architecture: config.architecture ?? "", ...(config.variant ? { variant: config.variant } : {}) },
    manifest: { mediaType: m.mediaType ?? MediaTypes.dockerManifest, bytes: m.bytes, digest: m.digest, size: m.size },
    ...(created && !Number.isNaN(created.getTime()) ? { created } : {}),
  };
}
