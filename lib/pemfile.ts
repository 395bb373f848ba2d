/**
 * Files that flags and config fields name for keys and certificates (`--key`, `--registry-ca`,
 * pkgkit.yml's `key`, `ca`, ...), checked when the options are read, before anything is built:
 * they exist, are readable regular files and hold the expected kind of PEM block. Whether a key
 * opens (its password) is the signer's check; this one only needs the file.
 */
import { InputError } from "./errors.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "./limits.ts";

export type PemKind = "certificate" | "private key" | "public key" | "key" | "TLS key";

const EXPECTED: Record<PemKind, string> = {
  certificate: "a PEM certificate (-----BEGIN CERTIFICATE-----)",
  "private key": "a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)",
  "public key": "a PEM public key (-----BEGIN PUBLIC KEY-----)",
  key: "a PEM private or public key",
  "TLS key": "a PEM private key, unencrypted (-----BEGIN PRIVATE KEY----- or RSA PRIVATE KEY or EC PRIVATE KEY)",
};

const BLOCK: Record<PemKind, RegExp> = {
  certificate: /-----BEGIN CERTIFICATE-----\r?\n[\s\S]+?\r?\n-----END CERTIFICATE-----/,
  "private key": /-----BEGIN (?:EC |ENCRYPTED |)PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END (?:EC |ENCRYPTED |)PRIVATE KEY-----/,
  "public key": /-----BEGIN PUBLIC KEY-----\r?\n[\s\S]+?\r?\n-----END PUBLIC KEY-----/,
  key: /-----BEGIN (?:EC |ENCRYPTED |PUBLIC |)(?:PRIVATE )?KEY-----\r?\n[\s\S]+?\r?\n-----END (?:EC |ENCRYPTED |PUBLIC |)(?:PRIVATE )?KEY-----/,
  // The docker CLI reads TLS keys without a passphrase; older openssl writes RSA keys as PKCS#1.
  "TLS key": /-----BEGIN (?:RSA |EC |)PRIVATE KEY-----\r?\n[\s\S]+?\r?\n-----END (?:RSA |EC |)PRIVATE KEY-----/,
};

/**
 * Throws an InputError starting with `name` (e.g. `--key "k.pem"`, or a file and field) unless
 * `file` holds a PEM block of `kind`. The file's content is never quoted: it may be a secret.
 */
export function checkPemFile(file: string, kind: PemKind, name: string): void {
  const text = readTextLimited(file, MAX_CONFIG_BYTES, EXPECTED[kind], name);
  if (!BLOCK[kind].test(text)) throw new InputError(`${name}: not ${EXPECTED[kind]}`);
}
