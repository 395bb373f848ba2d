/**
 * Where Sigstore signatures live in a registry, so outside tools find them:
 *  - cosign's signature image, tag `sha256-<hex>.sig`: one layer per signature, each a
 *    simple-signing payload with the signature in the `dev.cosignproject.cosign/signature`
 *    annotation (what stock `cosign verify` 2.x reads);
 *  - a Sigstore bundle as an OCI referrer of the signed digest (an artifact manifest whose
 *    `subject` is the digest), listed in the referrers tag fallback `sha256-<hex>`: an OCI index
 *    of referrers, for registries without the referrers API (distribution 2.8 has none).
 */
import { PkgkitError } from "../errors.ts";
import { sha256 } from "../registry/digest.ts";
import { MediaTypes, type Descriptor, type Manifest, type Registry } from "../registry/types.ts";

export const COSIGN = {
  simpleSigning: "application/vnd.dev.cosign.simplesigning.v1+json",
  signature: "dev.cosignproject.cosign/signature",
  certificate: "dev.sigstore.cosign/certificate",
  chain: "dev.sigstore.cosign/chain",
  rekorBundle: "dev.sigstore.cosign/bundle",
  timestamp: "dev.sigstore.cosign/rfc3161timestamp",
} as const;

export const BUNDLE = {
  mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
  predicateType: "https://sigstore.dev/cosign/sign/v1",
  contentAnnotation: "dev.sigstore.bundle.content",
  predicateAnnotation: "dev.sigstore.bundle.predicateType",
  inToto: "application/vnd.in-toto+json",
} as const;

const EMPTY_JSON = { mediaType: "application/vnd.oci.empty.v1+json", bytes: new TextEncoder().encode("{}") };

const enc = new TextEncoder();
const hexOf = (digest: string) => digest.replace(/^sha256:/, "");

export const signatureTag = (digest: string) => `sha256-${hexOf(digest)}.sig`;
export const referrersTag = (digest: string) => `sha256-${hexOf(digest)}`;

/** cosign's simple-signing payload for `repository@digest`. */
export function simpleSigningPayload(repository: string, digest: string): Uint8Array {
  return enc.encode(JSON.stringify({
    critical: { identity: { "docker-reference": repository }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" },
    optional: null,
  }));
}

/** The in-toto statement the bundle signs: the image as its subject, cosign's sign predicate. */
export function signStatement(repository: string, digest: string): Uint8Array {
  return enc.encode(JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: repository, digest: { sha256: hexOf(digest) } }],
    predicateType: BUNDLE.predicateType,
    predicate: {},
  }));
}

async function putBlob(registry: Registry, repository: string, bytes: Uint8Array): Promise<Descriptor & { bytes: Uint8Array }> {
  const digest = sha256(bytes);
  await registry.uploadBlob(repository, { digest, size: bytes.length, data: bytes });
  return { mediaType: "", digest, size: bytes.length, bytes };
}

export interface SignatureLayer {
  payload: Uint8Array;
  annotations: Record<string, string>;
}

/**
 * Adds a layer to the signature image at `sha256-<hex>.sig` (made if absent), as cosign does;
 * a layer with the same payload and signature is not added twice.
 */
export async function attachSignature(registry: Registry, repository: string, digest: string, layer: SignatureLayer): Promise<string> {
  const tag = signatureTag(digest);
  const current = await registry.getManifest(repository, tag);
  const layers: Descriptor[] = current?.mediaType === MediaTypes.ociManifest ? [...(current.json.layers ?? [])] : [];
  const payload = await putBlob(registry, repository, layer.payload);
  const same = layers.some((l) => l.digest === payload.digest && l.annotations?.[COSIGN.signature] === layer.annotations[COSIGN.signature]);
  if (!same) layers.push({ mediaType: COSIGN.simpleSigning, digest: payload.digest, size: payload.size, annotations: layer.annotations });
  const config = await putBlob(registry, repository, enc.encode(JSON.stringify({
    architecture: "", created: "0001-01-01T00:00:00Z", history: [{ created: "0001-01-01T00:00:00Z" }], os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) }, config: {},
  })));
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, size: config.size, digest: config.digest },
    layers,
  }));
  await registry.putManifest(repository, tag, manifest, MediaTypes.ociManifest);
  return `${repository}:${tag}`;
}

/** The simple-signing layers at `sha256-<hex>.sig`, with their payloads. */
export async function signatureLayers(registry: Registry, repository: string, digest: string): Promise<SignatureLayer[]> {
  const m = await registry.getManifest(repository, signatureTag(digest));
  if (!m) return [];
  const layers = (m.json.layers ?? []).filter((l) => l.mediaType === COSIGN.simpleSigning);
  return Promise.all(layers.map(async (l) => ({ payload: await registry.getBlob(repository, l.digest), annotations: l.annotations ?? {} })));
}

/**
 * Pushes `bundle` as a referrer of `subject` and lists it in the referrers tag fallback. The
 * fallback is written on every registry: pkgkit's client does not see whether a registry
 * processed `subject` itself, and on one that does the tag is merely redundant.
 */
export async function attachBundle(registry: Registry, repository: string, subject: Descriptor, bundle: Uint8Array, content: string, predicateType: string = BUNDLE.predicateType): Promise<string> {
  const config = await putBlob(registry, repository, EMPTY_JSON.bytes);
  const layer = await putBlob(registry, repository, bundle);
  const annotations = {
    [BUNDLE.contentAnnotation]: content,
    [BUNDLE.predicateAnnotation]: predicateType,
    "org.opencontainers.image.created": new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  };
  const bytes = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: BUNDLE.mediaType,
    config: { mediaType: EMPTY_JSON.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType: BUNDLE.mediaType, digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  }));
  const digest = await registry.putManifest(repository, sha256(bytes), bytes, MediaTypes.ociManifest);
  const entry: Descriptor & { artifactType: string } = { mediaType: MediaTypes.ociManifest, digest, size: bytes.length, artifactType: BUNDLE.mediaType, annotations };
  const tag = referrersTag(subject.digest);
  await inTurn(`${repository}:${tag}`, async () => {
    const current = await registry.getManifest(repository, tag);
    if (current && current.mediaType !== MediaTypes.ociIndex)
      throw new PkgkitError(`${repository}:${tag} is not an OCI index of referrers (${current.mediaType}); pkgkit will not replace it`);
    const manifests = (current?.json.manifests ?? []).filter((d) => d.digest !== digest);
    const index = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...manifests, entry] }));
    await registry.putManifest(repository, tag, index, MediaTypes.ociIndex);
  });
  return `${repository}@${digest} (referrer of ${subject.digest}, listed in ${repository}:${tag})`;
}

/** The read-modify-write of each referrers tag in progress in this process, by `repository:tag`. */
const turns = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` once every earlier `fn` for `key` has settled: a signature and an attestation of the
 * same image, made at once in one run, both add their bundle to its referrers tag, and neither may
 * write back an index read before the other's write.
 */
async function inTurn<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = turns.get(key) ?? Promise.resolve();
  const mine = before.then(fn, fn);
  const settled = mine.catch(() => undefined);
  turns.set(key, settled);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === settled) turns.delete(key);
  }
}

/** The Sigstore bundles attached to `digest` as referrers (read from the fallback tag), of cosign's signatures or of another predicate type. */
export async function bundleReferrers(registry: Registry, repository: string, digest: string, predicateType: string = BUNDLE.predicateType): Promise<{ digest: string; bundle: Uint8Array }[]> {
  const index: Manifest | undefined = await registry.getManifest(repository, referrersTag(digest));
  const entries = (index?.json.manifests ?? []).filter(
    (d) => (d as Descriptor & { artifactType?: string }).artifactType === BUNDLE.mediaType && d.annotations?.[BUNDLE.predicateAnnotation] === predicateType,
  );
  const out: { digest: string; bundle: Uint8Array }[] = [];
  for (const d of entries) {
    const m = await registry.getManifest(repository, d.digest);
    const subject = m?.json.subject as Descriptor | undefined;
    const layer = m?.json.layers?.[0];
    if (!m || subject?.digest !== digest || !layer || layer.mediaType !== BUNDLE.mediaType) continue;
    out.push({ digest: d.digest, bundle: await registry.getBlob(repository, layer.digest) });
  }
  return out;
}
