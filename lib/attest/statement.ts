/**
 * In-toto statements (v1) and DSSE envelopes: what an attestation is, before it is stored.
 * A statement names its subject (the arch image: repository and manifest digest) and carries a
 * predicate (an SBOM, a provenance); the envelope signs the statement's exact bytes through DSSE's
 * pre-authentication encoding (PAE), which cosign and every in-toto verifier check.
 */
import type { KeyObject } from "node:crypto";
import { nodeCrypto } from "../node-crypto.ts";

/** `_type` of an in-toto statement, v1. */
export const IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1";
/** DSSE payload type of an in-toto statement. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Media type of a DSSE envelope stored as a layer (cosign's `.att` image). */
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";

/** The predicate types pkgkit attaches: what `cosign verify-attestation --type spdxjson` and `--type slsaprovenance1` look for. */
export const PREDICATE_TYPES = { sbom: "https://spdx.dev/Document", provenance: "https://slsa.dev/provenance/v1" } as const;

/** A predicate type's name for people: `SPDX SBOM`, `SLSA provenance`, else the URI. */
export const predicateName = (type: string) =>
  type === PREDICATE_TYPES.sbom ? "SPDX SBOM" : type === PREDICATE_TYPES.provenance ? "SLSA provenance" : type;

/** One attestation document: its predicate type (an URI) and the predicate itself. */
export interface AttestationDocument {
  predicateType: string;
  predicate: unknown;
}

/** What a statement is about: an image manifest, by repository (`127.0.0.1:5000/org/image`) and digest (`sha256:<hex>`). */
export interface StatementSubject {
  name: string;
  digest: string;
}

/** A DSSE envelope as JSON: the payload and each signature base64 (standard alphabet). */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** An in-toto statement as parsed back. */
export interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

const enc = new TextEncoder();

/** The statement's bytes: the subject `{name, digest: {sha256}}`, the predicate type and predicate. */
export function inTotoStatement(subject: StatementSubject, doc: AttestationDocument): Uint8Array {
  if (!/^sha256:[0-9a-f]{64}$/.test(subject.digest)) throw new Error(`in-toto subject ${subject.name}: digest ${JSON.stringify(subject.digest)} is not sha256:<64 hex>`);
  return enc.encode(JSON.stringify({
    _type: IN_TOTO_STATEMENT,
    subject: [{ name: subject.name, digest: { sha256: subject.digest.slice("sha256:".length) } }],
    predicateType: doc.predicateType,
    predicate: doc.predicate,
  }));
}

/** DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(body)> <body>`, lengths in bytes. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = enc.encode(payloadType);
  const head = enc.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** An envelope over `statement` without signatures (a Notary signer signs the manifest that holds it instead). */
export function unsignedEnvelope(statement: Uint8Array): DsseEnvelope {
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: Buffer.from(statement).toString("base64"), signatures: [] };
}

/** Parses an envelope's JSON; undefined when it is not one. */
export function parseEnvelope(bytes: Uint8Array): DsseEnvelope | undefined {
  try {
    const e = JSON.parse(new TextDecoder().decode(bytes)) as Partial<DsseEnvelope>;
    if (typeof e.payloadType !== "string" || typeof e.payload !== "string" || !Array.isArray(e.signatures)) return undefined;
    return e as DsseEnvelope;
  } catch {
    return undefined;
  }
}

/** The statement an envelope carries, or the reason it carries none. */
export function envelopeStatement(env: DsseEnvelope): Statement | string {
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) return `payload type ${env.payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`;
  try {
    const s = JSON.parse(Buffer.from(env.payload, "base64").toString("utf8")) as Statement;
    if (s._type !== IN_TOTO_STATEMENT) return `statement type ${String(s._type)}, expected ${IN_TOTO_STATEMENT}`;
    return s;
  } catch {
    return "its payload is not JSON";
  }
}

/** Whether the statement names `digest` (`sha256:<hex>`) among its subjects. */
export const namesDigest = (s: Statement, digest: string) => s.subject?.some((x) => `sha256:${x.digest?.sha256}` === digest) ?? false;

/** Whether one of the envelope's signatures verifies over PAE(payloadType, payload) with `key` (ECDSA, DER signatures as cosign writes). */
export function envelopeVerifies(env: DsseEnvelope, key: KeyObject | string): boolean {
  const pub = typeof key === "string" ? nodeCrypto().createPublicKey(key) : key;
  const message = pae(env.payloadType, Buffer.from(env.payload, "base64"));
  return env.signatures.some((s) => {
    try {
      return nodeCrypto().verify("sha256", message, pub, Buffer.from(s.sig, "base64"));
    } catch {
      return false;
    }
  });
}
