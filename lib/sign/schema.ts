/**
 * The signer settings a package, a workspace or pkgkit.yml may give (see config.ts for where they
 * are read and how they combine). Pure: the spec validates a package's `signer` field with these.
 */
import * as z from "zod";

export type SignerName = "notary" | "sigstore";
export const SIGNER_NAMES: SignerName[] = ["notary", "sigstore"];

const url = (what: string) => z.string({ error: `expected ${what} as a URL string` }).url({ error: `expected ${what} as a URL, e.g. https://example.com` });
const path = (what: string) => z.string({ error: `expected ${what} as a file path` }).min(1, { error: `expected ${what} as a file path` });

/** The TUF role Notary signs in: the repository's own `targets`, or one delegation of it, as notary names them. */
export const NOTARY_ROLE = /^targets(\/[-a-z0-9_]+)?$/;
export const NOTARY_ROLE_EXPECTED = 'expected "targets" or a delegation "targets/<name>" (<name>: lowercase letters, digits, "-" and "_"), e.g. "targets/releases"';

export const notaryOptionsSchema = z.strictObject({
  /** Notary server URL (else $DOCKER_CONTENT_TRUST_SERVER, else Docker's default for the registry). */
  server: url('"server"').optional(),
  /** CA certificate (PEM) of the notary server (else $DOCKER_CONFIG/tls/<host:port>/ca.crt when present). */
  ca: path('"ca"').optional(),
  /** Trust directory (else $DOCKER_CONFIG/trust, else ~/.docker/trust: the one `docker trust` reads). */
  trustDir: path('"trustDir"').optional(),
  /** Prints the repository passphrase (used when $DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE is unset). */
  passphraseCommand: z.string().min(1, { error: "expected a shell command that prints the passphrase" }).optional(),
  /**
   * Where the targets are signed: "targets" (default: with the repository's targets key) or a
   * delegation, e.g. "targets/releases" (LinuxKit's, and the one `DOCKER_CONTENT_TRUST=1 docker
   * pull` prefers): with that delegation's key, which must be in the trust directory.
   */
  role: z.string({ error: NOTARY_ROLE_EXPECTED }).regex(NOTARY_ROLE, { error: NOTARY_ROLE_EXPECTED }).optional(),
});

export const sigstoreOptionsSchema = z.strictObject({
  /** ECDSA P-256 private key (PEM, PKCS#8 or SEC1; encrypted PKCS#8 takes its password from `passwordEnv`). */
  key: path('"key"').optional(),
  /** Public key (PEM) for `pkgkit verify`; else derived from `key`. */
  publicKey: path('"publicKey"').optional(),
  /** Environment variable holding the key's password (default COSIGN_PASSWORD). */
  passwordEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name" }).optional(),
  /** Keyless: a Fulcio certificate for an OIDC identity token ($SIGSTORE_ID_TOKEN or a CI provider). */
  keyless: z.boolean({ error: "expected true or false" }).optional(),
  fulcioURL: url('"fulcioURL"').optional(),
  rekorURL: url('"rekorURL"').optional(),
  tsaURL: url('"tsaURL"').optional(),
  /** Record keyless signatures in Rekor (default true for keyless; key pairs never do). */
  tlog: z.boolean({ error: "expected true or false" }).optional(),
  /** Rekor entry kind for the DSSE bundle: "dsse" (default) or the older "intoto". */
  rekorEntryType: z.enum(["dsse", "intoto"], { error: 'expected "dsse" or "intoto"' }).optional(),
  /** Keyless verification: the certificate identity (SAN) and OIDC issuer to accept, and the trusted root (JSON). */
  identity: z.string().min(1).optional(),
  issuer: z.string().min(1).optional(),
  trustedRoot: path('"trustedRoot"').optional(),
});

export type NotaryOptions = z.infer<typeof notaryOptionsSchema> & {
  /** Code only: returns the repository passphrase (instead of a command). */
  passphrase?: () => string | Promise<string>;
};
export type SigstoreOptions = z.infer<typeof sigstoreOptionsSchema>;
/** A signer's settings, as pkgkit.yml gives them (README, "Signing"), with `type` naming the signer. */
export type SignerConfig = ({ type: "notary" } & NotaryOptions) | ({ type: "sigstore" } & SigstoreOptions);

export const signerName = z.enum(SIGNER_NAMES as [SignerName, ...SignerName[]], { error: 'expected "notary" or "sigstore"' });

/** The package field: a name, or a name with settings. */
export const signerSpecSchema = z.union(
  [
    signerName,
    notaryOptionsSchema.extend({ type: z.literal("notary") }),
    sigstoreOptionsSchema.extend({ type: z.literal("sigstore") }),
  ],
  { error: 'expected "notary", "sigstore", or { type: "notary" | "sigstore", ...settings }' },
);
export type SignerSpec = z.infer<typeof signerSpecSchema>;
