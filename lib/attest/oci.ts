/**
 * Where attestations live in a registry, in cosign's formats:
 *  - the attestation image at tag `sha256-<hex>.att` (what `cosign attest` writes and stock
 *    `cosign verify-attestation` reads): an OCI manifest with one layer per attestation, each a
 *    DSSE envelope (`application/vnd.dsse.envelope.v1+json`) annotated with its `predicateType`
 *    and an empty `dev.cosignproject.cosign/signature` (the signature is inside the envelope).
 *    Attaching appends a layer and keeps the others' (another tool's, an older run's);
 *  - a Sigstore bundle per attestation as an OCI referrer of the image (see lib/sign/oci.ts
 *    attachBundle), whose `dev.sigstore.bundle.predicateType` is the attestation's predicate type:
 *    what `cosign verify-attestation --new-bundle-format` reads.
 */
import { sha256 } from "../registry/digest.ts";
import { MediaTypes, type Descriptor, type Registry } from "../registry/types.ts";
import { COSIGN } from "../sign/oci.ts";
import { DSSE_MEDIA_TYPE } from "./statement.ts";

/** The annotation naming an attestation layer's predicate type, as cosign writes it. */
export const PREDICATE_TYPE_ANNOTATION = "predicateType";

const enc = new TextEncoder();
const hexOf = (digest: string) => digest.replace(/^sha256:/, "");

/** cosign's attestation tag of `digest`: `sha256-<hex>.att`. */
export const attestationTag = (digest: string) => `sha256-${hexOf(digest)}.att`;

/** One layer of the attestation image: the envelope's JSON bytes and the layer's annotations. */
export interface AttestationLayer {
  envelope: Uint8Array;
  annotations: Record<string, string>;
}

/**
 * Appends `added` (one layer or several) to the attestation image of `digest` (made if absent), as
 * `cosign attest` does: the layers already there stay, and a layer with the same bytes is not
 * added twice. Returns the manifest written, which a Notary signer signs.
 */
export async function attachAttestation(registry: Registry, repository: string, digest: string, added: AttestationLayer | AttestationLayer[]): Promise<Descriptor & { ref: string }> {
  const tag = attestationTag(digest);
  const envelopes = await Promise.all([added].flat().map(async (layer) => {
    const envelope = { digest: sha256(layer.envelope), size: layer.envelope.length };
    await registry.uploadBlob(repository, { ...envelope, data: layer.envelope });
    return { mediaType: DSSE_MEDIA_TYPE, ...envelope, annotations: { [COSIGN.signature]: "", ...layer.annotations } };
  }));
  const current = await registry.getManifest(repository, tag);
  const layers: Descriptor[] = current?.mediaType === MediaTypes.ociManifest ? [...(current.json.layers ?? [])] : [];
  for (const e of envelopes) if (!layers.some((l) => l.digest === e.digest)) layers.push(e);
  // cosign's config for a signature image: the layers' digests as diff_ids, zero times.
  const configBytes = enc.encode(JSON.stringify({
    architecture: "", created: "0001-01-01T00:00:00Z", history: [{ created: "0001-01-01T00:00:00Z" }], os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {},
  }));
  const config = { digest: sha256(configBytes), size: configBytes.length };
  await registry.uploadBlob(repository, { ...config, data: configBytes });
  const bytes = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, ...config },
    layers,
  }));
  const written = await registry.putManifest(repository, tag, bytes, MediaTypes.ociManifest);
  return { ref: `${repository}:${tag}`, mediaType: MediaTypes.ociManifest, digest: written, size: bytes.length };
}

/** The DSSE layers of the attestation image of `digest`, with their envelopes, and the image's own descriptor (undefined: no image). */
export async function attestationLayers(registry: Registry, repository: string, digest: string): Promise<{ manifest?: Descriptor; layers: (AttestationLayer & { digest: string })[] }> {
  const m = await registry.getManifest(repository, attestationTag(digest));
  if (!m) return { layers: [] };
  const dsse = (m.json.layers ?? []).filter((l) => l.mediaType === DSSE_MEDIA_TYPE);
  const layers = await Promise.all(dsse.map(async (l) => ({ digest: l.digest, envelope: await registry.getBlob(repository, l.digest), annotations: l.annotations ?? {} })));
  return { manifest: { mediaType: m.mediaType, digest: m.digest, size: m.size }, layers };
}
