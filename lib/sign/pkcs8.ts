/**
 * Does a passphrase open an encrypted PKCS#8 private key (RFC 5208, PBES2 from RFC 8018: PBKDF2
 * and AES-CBC, which is how notary and openssl encrypt keys)? Checked with WebCrypto, which Node,
 * Deno and Bun all have; node:crypto cannot read these keys under Deno and Bun.
 *
 * Used before anything is pushed, so that a wrong passphrase stops the run instead of failing at
 * the first signature, after the images are in the registry. The key is only decrypted in memory
 * to see that it opens; nothing is kept.
 */

interface Tlv {
  tag: number;
  body: Uint8Array;
}

/** The DER elements in `der`, in order (definite lengths only, as DER has). */
function elements(der: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  let i = 0;
  while (i < der.length) {
    const tag = der[i++]!;
    let len = der[i++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4) throw new Error("unsupported DER length");
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[i++]!;
    }
    if (i + len > der.length) throw new Error("truncated DER");
    out.push({ tag, body: der.subarray(i, i + len) });
    i += len;
  }
  return out;
}

const SEQUENCE = 0x30;
const OCTETS = 0x04;
const INTEGER = 0x02;
const OID = 0x06;

/** A copy in an ArrayBuffer of its own, as WebCrypto's types want. */
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const OIDS = {
  pbes2: "2a864886f70d01050d",
  pbkdf2: "2a864886f70d01050c",
  hmacWithSHA1: "2a864886f70d0207",
  hmacWithSHA256: "2a864886f70d0209",
  hmacWithSHA384: "2a864886f70d020a",
  hmacWithSHA512: "2a864886f70d020b",
  aes128cbc: "608648016503040102",
  aes192cbc: "608648016503040116",
  aes256cbc: "60864801650304012a",
};
const PRF: Record<string, string> = {
  [OIDS.hmacWithSHA1]: "SHA-1",
  [OIDS.hmacWithSHA256]: "SHA-256",
  [OIDS.hmacWithSHA384]: "SHA-384",
  [OIDS.hmacWithSHA512]: "SHA-512",
};
const AES_BITS: Record<string, number> = { [OIDS.aes128cbc]: 128, [OIDS.aes192cbc]: 192, [OIDS.aes256cbc]: 256 };

function one(der: Uint8Array, tag: number): Uint8Array[] {
  const e = elements(der);
  if (e.length !== 1 || e[0]!.tag !== tag) throw new Error("unexpected DER structure");
  return elements(e[0]!.body).map((x) => x.body);
}

interface Pbes2 {
  salt: Uint8Array;
  iterations: number;
  hash: string;
  aesBits: number;
  iv: Uint8Array;
  data: Uint8Array;
}

/** The PBES2 parameters of an EncryptedPrivateKeyInfo, or undefined for another scheme. */
function pbes2(der: Uint8Array): Pbes2 | undefined {
  const top = elements(elements(der)[0]!.body);
  const [alg, data] = top;
  if (!alg || alg.tag !== SEQUENCE || !data || data.tag !== OCTETS) throw new Error("not an EncryptedPrivateKeyInfo");
  const [oid, params] = elements(alg.body);
  if (oid?.tag !== OID || hex(oid.body) !== OIDS.pbes2 || params?.tag !== SEQUENCE) return undefined;
  const [kdf, enc] = elements(params.body);
  const [kdfOid, kdfParams] = elements(kdf!.body);
  if (hex(kdfOid!.body) !== OIDS.pbkdf2) return undefined;
  const p = elements(kdfParams!.body);
  const salt = p[0]!;
  const count = p[1]!;
  if (salt.tag !== OCTETS || count.tag !== INTEGER) return undefined;
  let iterations = 0;
  for (const b of count.body) iterations = iterations * 256 + b;
  const prf = p.slice(2).find((x) => x.tag === SEQUENCE);
  const hash = prf ? PRF[hex(elements(prf.body)[0]!.body)] : "SHA-1";
  const [encOid, iv] = elements(enc!.body);
  const aesBits = AES_BITS[hex(encOid!.body)];
  if (!hash || !aesBits || iv?.tag !== OCTETS) return undefined;
  return { salt: salt.body, iterations, hash, aesBits, iv: iv.body, data: data.body };
}

/** The DER inside a PEM block, ignoring RFC 1421-style headers (notary writes `role:` and `gun:`). */
export function pemBody(pem: string): { label: string; der: Uint8Array } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) return undefined;
  const b64 = m[2]!
    .split(/\r?\n/)
    .filter((l) => l && !l.includes(":"))
    .join("");
  const bin = atob(b64);
  return { label: m[1]!, der: Uint8Array.from(bin, (c) => c.charCodeAt(0)) };
}

/**
 * true if `passphrase` opens the key, false if it does not, undefined when the PEM is not an
 * encrypted PKCS#8 key with PBES2 (PBKDF2 + AES-CBC), which cannot be checked this way.
 */
export async function opensKey(pem: string, passphrase: string): Promise<boolean | undefined> {
  const block = pemBody(pem);
  if (!block || block.label !== "ENCRYPTED PRIVATE KEY") return undefined;
  let p: Pbes2 | undefined;
  try {
    p = pbes2(block.der);
  } catch {
    return undefined;
  }
  if (!p) return undefined;
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "PBKDF2", salt: own(p.salt), iterations: p.iterations, hash: p.hash }, base, p.aesBits);
  const aes = await subtle.importKey("raw", bits, "AES-CBC", false, ["decrypt"]);
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv: own(p.iv) }, aes, own(p.data)));
  } catch {
    return false; // bad padding: the wrong key
  }
  // A right passphrase gives a SEQUENCE that starts with a version: 0 for a PrivateKeyInfo, 1 for
  // the SEC1 ECPrivateKey notary puts there instead.
  try {
    const [version] = one(plain, SEQUENCE);
    return version !== undefined && version.length === 1 && (version[0] === 0 || version[0] === 1);
  } catch {
    return false;
  }
}
