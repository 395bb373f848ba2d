/**
 * The Signer interface: sign a digest, with its size and media type, for a reference; verify one.
 * Implementations: Notary v1 / Docker Content Trust (notary.ts) and Sigstore (sigstore.ts).
 */
import type { SignerName } from "./config.ts";

/** What gets signed: the manifest `repository@digest`, published under `tags` in that repository. */
export interface SignTarget {
  /** As in image references, registry host included: `127.0.0.1:5000/demo/hello`. */
  repository: string;
  /** The tags it is published under (Notary signs tags; Sigstore signs the digest). At least one. */
  tags: string[];
  digest: string;
  size: number;
  mediaType: string;
}

export interface Signature {
  signer: SignerName;
  /** `repository:tag@digest` */
  ref: string;
  /** Where the signature went, for humans: a Notary target, registry tags and referrers. */
  stored: string[];
}

export interface Verification {
  ok: boolean;
  signer: SignerName;
  ref: string;
  /** What was found, or what is missing or wrong. */
  detail: string;
}

/** What a signature reports besides its result. */
export interface SignOptions {
  /** Retry lines (a Notary publish tried again after another writer published first). Never hold secrets. */
  log?(line: string): void;
}

/**
 * Signs a manifest digest for a reference, and verifies one. `prepare` runs before anything is
 * pushed, so nothing is published that the signer cannot sign. Implementations: Notary v1
 * (`notarySigner`) and Sigstore (`sigstoreSigner`); `createSigner` makes one from a SignerConfig.
 */
export interface Signer {
  readonly name: SignerName;
  /** One line for plans: which server, key or identity. Never a secret. */
  readonly description: string;
  /**
   * Proves the signer can sign, before anything is pushed: passphrases open their keys, a key
   * signs, a token gets a certificate, and (Notary) trust data exists for new repositories.
   * Called once per repository of a run. Bad input throws an InputError (exit 2), a failing
   * service a PkgkitError (exit 1).
   */
  prepare(repository: string): Promise<void>;
  /**
   * What prepare gets expires soon (a keyless certificate lives 10 minutes): the plan runs the
   * prepare step after the package's builds, right before its first push, not alongside them.
   */
  readonly prepareAfterBuilds?: boolean;
  sign(target: SignTarget, options?: SignOptions): Promise<Signature>;
  /** Is `target` signed with this signer's key or identity? Read-only. */
  verify(target: SignTarget): Promise<Verification>;
  /**
   * Signs an in-toto statement as a DSSE envelope (Sigstore): the Sigstore bundle (v0.3) over it,
   * and the annotations cosign reads beside the envelope in an `.att` layer (certificate, Rekor
   * entry, timestamp). Absent for signers that sign manifests rather than statements (Notary).
   */
  signStatement?(statement: Uint8Array): Promise<SignedStatement>;
  /**
   * Whether an attestation of `digest` with `predicateType` is signed with this signer's key or
   * identity: its `.att` envelope (key pair) and one of its bundles. Undefined when it is, else the problem.
   */
  verifyStatement?(found: { envelope?: Uint8Array; bundles: Uint8Array[] }, digest: string, predicateType: string): Promise<string | undefined>;
}

/** An in-toto statement signed by a Sigstore signer: one signature, stored in two places. */
export interface SignedStatement {
  /** The Sigstore bundle's JSON (its `dsseEnvelope` is the signed statement). */
  bundle: Uint8Array;
  /** The DSSE envelope's JSON, as cosign stores it in an `.att` layer (recorded in Rekor: the form the entry hashed, see cosign-envelope.ts). */
  envelope: Uint8Array;
  /** cosign's annotations of that layer besides the predicate type: certificate, Rekor bundle, RFC 3161 timestamp. */
  annotations: Record<string, string>;
}

export const targetRef = (t: SignTarget) => `${t.repository}:${t.tags[0]}@${t.digest}`;
