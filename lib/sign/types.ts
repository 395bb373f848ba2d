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
}

export const targetRef = (t: SignTarget) => `${t.repository}:${t.tags[0]}@${t.digest}`;
