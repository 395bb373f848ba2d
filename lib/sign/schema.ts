/**
 * The signer settings a package, a workspace or pkgkit.yml may give (see config.ts for where they
 * are read and how they combine). Pure: the spec validates a package's `signer` field with these.
 */
import * as z from "zod/mini";
import { en } from "zod/locales";

// zod/mini loads no locale: zod's own messages would all read "Invalid input". Where a schema
// gives no message of its own, users see zod's English defaults ("Invalid input: expected string,
// received number", 'Unrecognized key: "x"'), as with classic zod, which sets English the same way
// (only when no locale is set). Here because every schema module imports this one: spec.ts,
// plan/schema.ts and config.ts directly, workspace.ts and apply.ts through them. `en` by name: a
// bundle then holds that locale alone (z.locales would bring all of them).
if (!z.config().localeError) z.config(en());

export type SignerName = "notary" | "sigstore";
export const SIGNER_NAMES: SignerName[] = ["notary", "sigstore"];

const url = (what: string) => z.string({ error: `expected ${what} as a URL string` }).check(z.url({ error: `expected ${what} as a URL, e.g. https://example.com` }));
const path = (what: string) => z.string({ error: `expected ${what} as a file path` }).check(z.minLength(1, { error: `expected ${what} as a file path` }));

/** The TUF role Notary signs in: the repository's own `targets`, or one delegation of it, as notary names them. */
export const NOTARY_ROLE = /^targets(\/[-a-z0-9_]+)?$/;
export const NOTARY_ROLE_EXPECTED = 'expected "targets" or a delegation "targets/<name>" (<name>: lowercase letters, digits, "-" and "_"), e.g. "targets/releases"';

export const notaryOptionsSchema = z.strictObject({
  /** Notary server URL (else $DOCKER_CONTENT_TRUST_SERVER, else Docker's default for the registry). */
  server: z.optional(url('"server"')),
  /** CA certificate (PEM) of the notary server (else $DOCKER_CONFIG/tls/<host:port>/ca.crt when present). */
  ca: z.optional(path('"ca"')),
  /** Trust directory (else $DOCKER_CONFIG/trust, else ~/.docker/trust: the one `docker trust` reads). */
  trustDir: z.optional(path('"trustDir"')),
  /** Prints the repository passphrase (used when $DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE is unset). */
  passphraseCommand: z.optional(z.string().check(z.minLength(1, { error: "expected a shell command that prints the passphrase" }))),
  /**
   * Where the targets are signed: "targets" (default: with the repository's targets key) or a
   * delegation, e.g. "targets/releases" (LinuxKit's, and the one `DOCKER_CONTENT_TRUST=1 docker
   * pull` prefers): with that delegation's key, which must be in the trust directory.
   */
  role: z.optional(z.string({ error: NOTARY_ROLE_EXPECTED }).check(z.regex(NOTARY_ROLE, { error: NOTARY_ROLE_EXPECTED }))),
});

export const sigstoreOptionsSchema = z.strictObject({
  /** ECDSA P-256 private key (PEM, PKCS#8 or SEC1; encrypted PKCS#8 takes its password from `passwordEnv`). */
  key: z.optional(path('"key"')),
  /** Public key (PEM) for `pkgkit verify`; else derived from `key`. */
  publicKey: z.optional(path('"publicKey"')),
  /** Environment variable holding the key's password (default COSIGN_PASSWORD). */
  passwordEnv: z.optional(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name" }))),
  /** Keyless: a Fulcio certificate for an OIDC identity token ($SIGSTORE_ID_TOKEN or a CI provider). */
  keyless: z.optional(z.boolean({ error: "expected true or false" })),
  fulcioURL: z.optional(url('"fulcioURL"')),
  rekorURL: z.optional(url('"rekorURL"')),
  tsaURL: z.optional(url('"tsaURL"')),
  /** Record keyless signatures in Rekor (default true for keyless; key pairs never do). */
  tlog: z.optional(z.boolean({ error: "expected true or false" })),
  /** Rekor entry kind for the DSSE bundle: "dsse" (default) or the older "intoto". */
  rekorEntryType: z.optional(z.enum(["dsse", "intoto"], { error: 'expected "dsse" or "intoto"' })),
  /** Keyless verification: the certificate identity (SAN) and OIDC issuer to accept, and the trusted root (JSON). */
  identity: z.optional(z.string().check(z.minLength(1))),
  issuer: z.optional(z.string().check(z.minLength(1))),
  trustedRoot: z.optional(path('"trustedRoot"')),
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
    z.extend(notaryOptionsSchema, { type: z.literal("notary") }),
    z.extend(sigstoreOptionsSchema, { type: z.literal("sigstore") }),
  ],
  { error: 'expected "notary", "sigstore", or { type: "notary" | "sigstore", ...settings }' },
);
export type SignerSpec = z.infer<typeof signerSpecSchema>;
