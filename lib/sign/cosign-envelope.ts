/**
 * The bytes of an attestation's layer in cosign's `.att` image when its DSSE envelope was recorded
 * in Rekor. Stock `cosign verify-attestation` compares the SHA-256 of the layer (the envelope it
 * reads) with the envelope hash of the Rekor entry in the layer's `dev.sigstore.cosign/bundle`
 * annotation ("matching bundle to payload"): a dsse (0.0.1) entry's `envelopeHash`, an intoto
 * (0.0.2) entry's `content.hash`. Each hash is over one serialization of the envelope, so the layer
 * must be that one, byte for byte:
 *  - dsse: the envelope's JSON as @sigstore/sign proposed it to Rekor (a `keyid` only when set);
 *  - intoto: the canonical JSON (sorted keys, no spaces) of the envelope whose signature also
 *    names the signer's certificate or key (PEM) as `publicKey`, as Rekor logs it; DSSE readers
 *    (cosign, in-toto) ignore that field.
 */
import { nodeCrypto } from "../node-crypto.ts";
import { PkgkitError } from "../errors.ts";

/** The bundle's DSSE envelope, as @sigstore/bundle holds it. */
export interface BundleEnvelope {
  payloadType: string;
  payload: Uint8Array;
  signatures: { sig: Uint8Array; keyid: string }[];
}

/** The bundle's Rekor entry: its kind and the body Rekor logged. */
export interface LoggedEntry {
  kindVersion?: { kind: string; version: string };
  canonicalizedBody: Uint8Array;
}

interface EntryBody {
  spec?: {
    envelopeHash?: { value?: string };
    content?: { hash?: { value?: string }; envelope?: { signatures?: { publicKey?: string }[] } };
  };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * The layer bytes for `envelope` recorded as `entry`, checked against the hash the entry logged;
 * a PkgkitError when they differ or the entry is of another kind, since cosign would refuse the layer.
 */
export async function loggedEnvelope(envelope: BundleEnvelope, entry: LoggedEntry): Promise<Uint8Array> {
  const kind = `${entry.kindVersion?.kind ?? "?"} ${entry.kindVersion?.version ?? "?"}`;
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString("utf8")) as EntryBody;
  const [signature, ...more] = envelope.signatures;
  if (!signature || more.length) throw new PkgkitError(`sigstore: a DSSE envelope with ${envelope.signatures.length} signatures; cosign reads attestations with one`);
  let bytes: string;
  let logged: string | undefined;
  if (kind === "dsse 0.0.1") {
    const { envelopeToJSON } = await import("@sigstore/bundle");
    bytes = JSON.stringify(envelopeToJSON(envelope as Parameters<typeof envelopeToJSON>[0]));
    logged = body.spec?.envelopeHash?.value;
  } else if (kind === "intoto 0.0.2") {
    const publicKey = body.spec?.content?.envelope?.signatures?.[0]?.publicKey;
    if (!publicKey) throw new PkgkitError("sigstore: the Rekor intoto entry names no public key for its signature");
    // Keys in sorted order: this literal is the canonical JSON.
    bytes = JSON.stringify({
      payload: b64(envelope.payload),
      payloadType: envelope.payloadType,
      signatures: [{ ...(signature.keyid ? { keyid: signature.keyid } : {}), publicKey: Buffer.from(publicKey, "base64").toString("utf8"), sig: b64(signature.sig) }],
    });
    logged = body.spec?.content?.hash?.value;
  } else {
    throw new PkgkitError(`sigstore: Rekor recorded the attestation as a ${kind} entry; cosign's .att image needs a dsse 0.0.1 or intoto 0.0.2 entry (sigstore.rekorEntryType: dsse or intoto)`);
  }
  const actual = nodeCrypto().createHash("sha256").update(bytes).digest("hex");
  if (actual !== logged)
    throw new PkgkitError(`sigstore: the Rekor ${kind} entry logged envelope hash ${logged ?? "(none)"}, not ${actual}, the SHA-256 of the envelope for the .att image; cosign verify-attestation would refuse it`);
  return new TextEncoder().encode(bytes);
}
