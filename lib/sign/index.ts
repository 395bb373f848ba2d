/** Signing: the Signer interface, its Notary and Sigstore implementations, and where each is configured. */
import type { Registry } from "../registry/types.ts";
import type { Shell } from "../shell.ts";
import type { SignerConfig } from "./config.ts";
import { notarySigner } from "./notary.ts";
import { sigstoreSigner } from "./sigstore.ts";
import type { Signer } from "./types.ts";

/** What a signer works with: the registry (Sigstore stores signatures there) and the shell (Notary runs its CLI). */
export interface SignerDeps {
  registry: Registry;
  shell?: Shell;
  /** The pkgkit.yml the config came from, for messages. */
  configFile?: string;
}

/** The Signer a configuration describes: `notarySigner` for `type: "notary"`, `sigstoreSigner` for `type: "sigstore"`. */
export function createSigner(config: SignerConfig, deps: SignerDeps): Signer {
  if (config.type === "notary") {
    const { type: _, ...options } = config;
    return notarySigner(options, { shell: deps.shell, configFile: deps.configFile });
  }
  const { type: _, ...options } = config;
  return sigstoreSigner(options, { registry: deps.registry });
}

export * from "./config.ts";
export type { Signer, SignTarget, Signature, Verification } from "./types.ts";
export { notarySigner, gun, notaryServer } from "./notary.ts";
export { sigstoreSigner, verifyBundle, loadPrivateKey, keyHint } from "./sigstore.ts";
export { redact } from "./secrets.ts";
