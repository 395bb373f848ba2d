/**
 * Attaching attestations to an arch image and checking them, with the package's signer:
 *  - Sigstore (key pair or keyless): each statement is signed once as DSSE; the envelope goes into
 *    the `.att` image (cosign's format) and the bundle becomes a referrer of the image;
 *  - Notary: the envelopes are stored unsigned in the `.att` image, and that manifest is signed
 *    as a Notary target (tag `sha256-<hex>.att`), as Notary signs every manifest pkgkit writes.
 */
import { PkgkitError } from "../errors.ts";
import type { Descriptor, Registry } from "../registry/types.ts";
import { attachBundle, bundleReferrers } from "../sign/oci.ts";
import type { Signer } from "../sign/types.ts";
import { attachAttestation, attestationLayers, attestationTag, PREDICATE_TYPE_ANNOTATION } from "./oci.ts";
import { envelopeStatement, inTotoStatement, namesDigest, parseEnvelope, unsignedEnvelope, type AttestationDocument } from "./statement.ts";

/** The arch image attested: its repository (registry host included) and manifest descriptor. */
export interface AttestedImage {
  repository: string;
  descriptor: Descriptor;
}

/** What attaching did: where each document went, and the `.att` manifest it left. */
export interface Attached {
  predicateTypes: string[];
  stored: string[];
  attestationManifest: Descriptor;
}

/** Attaches `documents` as in-toto statements about `image`, signed by `signer` (see the module comment). */
export async function attachAttestations(registry: Registry, signer: Signer, image: AttestedImage, documents: AttestationDocument[]): Promise<Attached> {
  const { repository, descriptor } = image;
  if (!documents.length) throw new PkgkitError(`${repository}@${descriptor.digest}: no attestation documents to attach`);
  // Each statement signed (and its bundle attached) at once; the .att image written once with them all.
  const signed = await Promise.all(documents.map(async (doc) => {
    const statement = inTotoStatement({ name: repository, digest: descriptor.digest }, doc);
    const annotations = { [PREDICATE_TYPE_ANNOTATION]: doc.predicateType };
    if (!signer.signStatement) return { layer: { envelope: new TextEncoder().encode(JSON.stringify(unsignedEnvelope(statement))), annotations } };
    const s = await signer.signStatement(statement);
    const bundle = await attachBundle(registry, repository, descriptor, s.bundle, "dsse-envelope", doc.predicateType);
    return { layer: { envelope: s.envelope, annotations: { ...annotations, ...s.annotations } }, bundle };
  }));
  const manifest = await attachAttestation(registry, repository, descriptor.digest, signed.map((s) => s.layer));
  const stored = [`${manifest.ref}@${manifest.digest}`, ...signed.flatMap((s) => (s.bundle ? [s.bundle] : []))];
  if (!signer.signStatement) {
    const { ref: _, ...att } = manifest;
    await signer.sign({ repository, tags: [attestationTag(descriptor.digest)], ...att });
  }
  return { predicateTypes: documents.map((d) => d.predicateType), stored, attestationManifest: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size } };
}

/** One predicate type's check: attached and signed by the signer (`ok`), or what is missing or wrong. */
export interface AttestationCheck {
  predicateType: string;
  ok: boolean;
  detail: string;
}

/**
 * Read-only: is there, for each of `predicateTypes`, an attestation of `image` signed by
 * `signer`, whose statement names the image's digest? One check per predicate type.
 */
export async function verifyAttestations(registry: Registry, signer: Signer, image: AttestedImage, predicateTypes: string[]): Promise<AttestationCheck[]> {
  const { repository, descriptor } = image;
  const { manifest, layers } = await attestationLayers(registry, repository, descriptor.digest);
  const notarySigned = manifest && !signer.verifyStatement
    ? await signer.verify({ repository, tags: [attestationTag(descriptor.digest)], ...manifest })
    : undefined;
  return Promise.all(predicateTypes.map(async (predicateType): Promise<AttestationCheck> => {
    const fail = (detail: string) => ({ predicateType, ok: false, detail });
    const candidates = layers.filter((l) => l.annotations[PREDICATE_TYPE_ANNOTATION] === predicateType);
    if (!candidates.length) return fail(`no ${predicateType} attestation in ${repository}:${attestationTag(descriptor.digest)}`);
    if (signer.verifyStatement) {
      const bundles = (await bundleReferrers(registry, repository, descriptor.digest, predicateType)).map((b) => b.bundle);
      const problems: string[] = [];
      for (const c of candidates) {
        const problem = await signer.verifyStatement({ envelope: c.envelope, bundles }, descriptor.digest, predicateType);
        if (!problem) return { predicateType, ok: true, detail: `attestation ${c.digest} and its Sigstore bundle verify` };
        problems.push(problem);
      }
      return fail(problems.join("; "));
    }
    const named = candidates.some((c) => {
      const env = parseEnvelope(c.envelope);
      const s = env && envelopeStatement(env);
      return !!s && typeof s !== "string" && s.predicateType === predicateType && namesDigest(s, descriptor.digest);
    });
    if (!named) return fail(`no ${predicateType} statement in ${repository}:${attestationTag(descriptor.digest)} names ${descriptor.digest}`);
    return notarySigned?.ok ? { predicateType, ok: true, detail: `in ${manifest!.digest}, ${notarySigned.detail}` } : fail(notarySigned?.detail ?? "not signed");
  }));
}
