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

export interface Signer {
  readonly name: SignerName;
  /** One line for plans: which server, key or identity. Never a secret. */
  readonly description: string;
  /**
   * Everything a signature needs that could fail, done before anything is pushed: passphrases,
   * keys, tokens, and (Notary) trust data for new repositories. Called once per repository of a run.
   */
  prepare(repository: string): Promise<void>;
  sign(target: SignTarget): Promise<Signature>;
  /** Is `target` signed with this signer's key or identity? Read-only. */
  verify(target: SignTarget): Promise<Verification>;
}

export const targetRef = (t: SignTarget) => `${t.repository}:${t.tags[0]}@${t.digest}`;
