/**
 * Sigstore signing with @sigstore/sign, stored where outside clients look (see oci.ts):
 *  - key pair: an ECDSA P-256 private key (PEM); no transparency log. `cosign verify --key <pub>
 *    --insecure-ignore-tlog=true` accepts the signature at `sha256-<hex>.sig`.
 *  - keyless: a Fulcio certificate for an OIDC identity token ($SIGSTORE_ID_TOKEN, or a CI
 *    provider @sigstore/sign knows), recorded in Rekor and/or timestamped by a TSA when configured.
 * Each target gets two signatures made with the same key or certificate identity: a message
 * signature over cosign's simple-signing payload (the `.sig` layer), and a DSSE bundle (v0.3)
 * over an in-toto statement with predicate https://sigstore.dev/cosign/sign/v1 (the referrer).
 */
import type { KeyObject } from "node:crypto";
import { nodeCrypto } from "../node-crypto.ts";
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import { explainedByDoctor, InputError, PkgkitError } from "../errors.ts";
import { loggedEnvelope } from "./cosign-envelope.ts";
import { keylessCertificates } from "./keyless.ts";
import { nodeCompatibleVerify } from "../runtime.ts";
import type { Registry } from "../registry/types.ts";
import type { SigstoreOptions } from "./config.ts";
import { attachBundle, attachSignature, BUNDLE, bundleReferrers, COSIGN, signatureLayers, signStatement, simpleSigningPayload } from "./oci.ts";
import { redact, rememberSecret } from "./secrets.ts";
import { targetRef, type Signature, type SignedStatement, type Signer, type SignTarget, type Verification } from "./types.ts";
import { envelopeStatement, envelopeVerifies, namesDigest, parseEnvelope } from "../attest/statement.ts";

const enc = new TextEncoder();

export const DEFAULT_FULCIO_URL = "https://fulcio.sigstore.dev";
export const DEFAULT_REKOR_URL = "https://rekor.sigstore.dev";
const P256 = "prime256v1";
/** Per request to Rekor or the TSA. */
const WITNESS_TIMEOUT_MS = 30_000;

/** Reads an ECDSA P-256 private key; an encrypted one takes its password from `passwordEnv`. Bad input throws InputError. */
export function loadPrivateKey(file: string, passwordEnv = "COSIGN_PASSWORD"): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw explainedByDoctor(new InputError(`signing key ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected an ECDSA P-256 private key (PEM)`));
  }
  if (pem.includes("ENCRYPTED SIGSTORE PRIVATE KEY"))
    throw new InputError(`signing key ${file}: cosign's own encrypted key format is not supported; convert it to an encrypted PKCS#8 PEM (openssl pkcs8 -topk8 -v2 aes-256-cbc), or use a key made with openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`);
  const encrypted = pem.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type: 4,ENCRYPTED/.test(pem);
  if (!encrypted && !/-----BEGIN (EC )?PRIVATE KEY-----/.test(pem))
    throw new InputError(`signing key ${file}: not a PEM private key (no "-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----" block); expected an ECDSA P-256 private key, e.g. made with openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`);
  const password = encrypted ? process.env[passwordEnv] : undefined;
  if (encrypted && !password) throw explainedByDoctor(new InputError(`signing key ${file} is encrypted: set its password in $${passwordEnv}`));
  let key: KeyObject;
  try {
    key = nodeCrypto().createPrivateKey(password ? { key: pem, passphrase: rememberSecret(password) } : pem);
  } catch {
    // The library's message says nothing more useful, and must not get the chance to quote the password.
    throw explainedByDoctor(new InputError(
      encrypted
        ? `signing key ${file}: the password in $${passwordEnv} does not open it; set the key's password there`
        : `signing key ${file}: its PEM block is not a readable private key; expected an ECDSA P-256 private key (PKCS#8 or SEC1)`,
    ));
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== P256)
    throw new InputError(`signing key ${file}: expected an ECDSA P-256 key, found ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ""}`);
  return key;
}

export function loadPublicKey(file: string): KeyObject {
  try {
    return nodeCrypto().createPublicKey(readFileSync(file, "utf8"));
  } catch (e) {
    throw new PkgkitError(`public key ${file}: cannot read it as a PEM public key (${(e as NodeJS.ErrnoException).code ?? "invalid PEM"})`);
  }
}

/** The hint a bundle names its key by: base64 SHA-256 of the DER public key. */
export const keyHint = (pub: KeyObject) => nodeCrypto().createHash("sha256").update(pub.export({ type: "spki", format: "der" })).digest("base64");

/**
 * What plans name a key file by besides its path, so that another key put at the same path changes
 * the plan (`pkgkit apply` refuses it): `public key <keyHint>`, as public as the key pair's public
 * key. An encrypted private key's public key needs its password, which planning does not ask for:
 * `encrypted file sha256 <base64>`, of the file's bytes (which another password changes too).
 */
export function keyFingerprint(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw explainedByDoctor(new InputError(`signing key ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected an ECDSA P-256 private key (PEM)`));
  }
  const pem = bytes.toString("utf8");
  // PKCS#8 "ENCRYPTED PRIVATE KEY", OpenSSL's "Proc-Type: 4,ENCRYPTED", cosign's own format.
  const encrypted = pem.includes("ENCRYPTED");
  if (!encrypted) {
    try {
      return `public key ${keyHint(pem.includes("PUBLIC KEY") ? nodeCrypto().createPublicKey(pem) : nodeCrypto().createPublicKey(nodeCrypto().createPrivateKey(pem)))}`;
    } catch {
      // Not a key this runtime reads: signing says why; the file's digest still tells it from another.
    }
  }
  return `${encrypted ? "encrypted " : ""}file sha256 ${nodeCrypto().createHash("sha256").update(bytes).digest("base64")}`;
}

interface Keyed {
  sign(data: Buffer): Promise<{ signature: Buffer; key: { $case: "publicKey"; publicKey: string; hint?: string } | { $case: "x509Certificate"; certificate: string } }>;
}

export interface SigstoreSignerDeps {
  registry: Registry;
}

export function sigstoreSigner(options: SigstoreOptions, deps: SigstoreSignerDeps): Signer {
  const { registry } = deps;
  const keyless = options.keyless === true || (options.keyless === undefined && !options.key);
  if (!keyless && !options.key) throw new PkgkitError("the sigstore signer needs a key (--key <pem>) or keyless signing (--keyless)");
  const passwordEnv = options.passwordEnv ?? "COSIGN_PASSWORD";
  const fulcioURL = options.fulcioURL ?? DEFAULT_FULCIO_URL;
  const tlog = keyless && options.tlog !== false;
  const rekorURL = options.rekorURL ?? DEFAULT_REKOR_URL;

  // A verifier with the public key may not have the private key.
  if (!keyless && !options.publicKey && !existsSync(options.key!))
    throw explainedByDoctor(new InputError(`signing key ${options.key}: no such file; expected an ECDSA P-256 private key (PEM), e.g. made with openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`));
  const certificates = keyless ? keylessCertificates({ fulcioURL }) : undefined;
  // Read now, once: the plan records it, and apply makes the signer again and compares.
  const fingerprint = keyless ? undefined : keyFingerprint(options.publicKey && !existsSync(options.key!) ? options.publicKey : options.key!);
  let keySigner: Keyed | undefined;
  /** The key pair's signer, once its key has signed a throwaway payload that its public key verifies. */
  const keyPairSigner = (): Keyed => {
    if (keySigner) return keySigner;
    const key = loadPrivateKey(options.key!, passwordEnv);
    const pub = nodeCrypto().createPublicKey(key);
    const probe = Buffer.from("pkgkit: proof that the key signs");
    if (!nodeCrypto().verify("sha256", probe, pub, nodeCrypto().sign("sha256", probe, key)))
      throw new InputError(`signing key ${options.key}: a signature made with it does not verify with its own public key; use another key`);
    const publicKey = pub.export({ type: "spki", format: "pem" }).toString();
    const hint = keyHint(pub);
    return (keySigner = { sign: async (data) => ({ signature: nodeCrypto().sign("sha256", data, key), key: { $case: "publicKey", publicKey, hint } }) });
  };
  const signerNow = (): Keyed => (certificates ? certificates.signer : keyPairSigner());

  async function builders() {
    const { DSSEBundleBuilder, MessageSignatureBundleBuilder, RekorWitness, TSAWitness } = await import("@sigstore/sign");
    const signer = signerNow() as never;
    const tsa = options.tsaURL ? [new TSAWitness({ tsaBaseURL: options.tsaURL, timeout: WITNESS_TIMEOUT_MS })] : [];
    return {
      message: new MessageSignatureBundleBuilder({ signer, witnesses: [...(tlog ? [new RekorWitness({ rekorBaseURL: rekorURL, timeout: WITNESS_TIMEOUT_MS })] : []), ...tsa] }),
      dsse: new DSSEBundleBuilder({
        signer,
        witnesses: [...(tlog ? [new RekorWitness({ rekorBaseURL: rekorURL, entryType: options.rekorEntryType ?? "dsse", timeout: WITNESS_TIMEOUT_MS })] : []), ...tsa],
        certificateChain: false,
      }),
    };
  }

  const publicKey = (): KeyObject => (options.publicKey ? loadPublicKey(options.publicKey) : nodeCrypto().createPublicKey(loadPrivateKey(options.key!, passwordEnv)));

  return {
    name: "sigstore",
    description: keyless
      ? `sigstore keyless (fulcio ${fulcioURL}${tlog ? `, rekor ${rekorURL}` : ""}${options.tsaURL ? `, tsa ${options.tsaURL}` : ""})`
      : `sigstore key ${options.key} (${fingerprint})`,
    prepareAfterBuilds: keyless,
    async prepare() {
      await guard(async () => {
        if (certificates) await certificates.ready();
        else keyPairSigner();
      });
    },
    async sign(target: SignTarget): Promise<Signature> {
      return guard(async () => {
        const { message, dsse } = await builders();
        const payload = simpleSigningPayload(target.repository, target.digest);
        const { bundleToJSON } = await import("@sigstore/bundle");
        const m = await message.create({ data: Buffer.from(payload) });
        const annotations: Record<string, string> = { [COSIGN.signature]: Buffer.from(m.content.messageSignature.signature).toString("base64"), ...cosignAnnotations(m.verificationMaterial) };
        const sig = await attachSignature(registry, target.repository, target.digest, { payload, annotations });
        const b = await dsse.create({ data: Buffer.from(signStatement(target.repository, target.digest)), type: BUNDLE.inToto });
        const json = new TextEncoder().encode(JSON.stringify(bundleToJSON(b)));
        const ref = await attachBundle(registry, target.repository, target, json, "dsse-envelope");
        return { signer: "sigstore", ref: targetRef(target), stored: [sig, ref] };
      });
    },
    async signStatement(statement: Uint8Array): Promise<SignedStatement> {
      return guard(async () => {
        const { dsse } = await builders();
        const { bundleToJSON } = await import("@sigstore/bundle");
        const b = await dsse.create({ data: Buffer.from(statement), type: BUNDLE.inToto });
        const json = bundleToJSON(b) as { dsseEnvelope?: { signatures?: { keyid?: string }[] } };
        // cosign's new-bundle verifier (sigstore-go) skips a DSSE signature whose keyid its key
        // adapter does not claim; the keyid is not signed, and the bundle names the key already.
        for (const s of json.dsseEnvelope?.signatures ?? []) s.keyid = "";
        const entry = b.verificationMaterial.tlogEntries[0];
        const envelope = entry ? await loggedEnvelope(b.content.dsseEnvelope, entry) : enc.encode(JSON.stringify(json.dsseEnvelope));
        const annotations = cosignAnnotations(b.verificationMaterial);
        // cosign checks an attestation's RFC 3161 timestamp against the layer's bytes (the bundle's is over the signature).
        if (options.tsaURL) annotations[COSIGN.timestamp] = JSON.stringify({ SignedRFC3161Timestamp: await timestampOf(options.tsaURL, envelope) });
        return { bundle: enc.encode(JSON.stringify(json)), envelope, annotations };
      });
    },
    async verifyStatement(found, digest, predicateType): Promise<string | undefined> {
      return guard(async () => {
        const policy: BundlePolicy = keyless ? { trustedRoot: options.trustedRoot, identity: options.identity, issuer: options.issuer, tlog } : { publicKey: publicKey() };
        if (keyless && (!options.identity || !options.issuer || !options.trustedRoot))
          return "keyless verification needs the signer's identity and issuer and a trusted root (sigstore: identity, issuer, trustedRoot)";
        if (!keyless) {
          const env = found.envelope ? parseEnvelope(found.envelope) : undefined;
          if (!env) return "no DSSE envelope in the .att image";
          const statement = envelopeStatement(env);
          if (typeof statement === "string") return `its envelope: ${statement}`;
          if (statement.predicateType !== predicateType || !namesDigest(statement, digest)) return `its envelope's statement is not a ${predicateType} of ${digest}`;
          if (!envelopeVerifies(env, policy.publicKey!)) return `its envelope's signature does not verify with key ${keyHint(policy.publicKey!)}`;
        }
        const problems: string[] = [];
        for (const b of found.bundles) {
          const problem = await verifyBundle(b, digest, policy, predicateType);
          if (!problem) return undefined;
          problems.push(problem);
        }
        return problems.length ? `no Sigstore bundle verifies: ${problems.join("; ")}` : "no Sigstore bundle referrer";
      }).catch((e: Error) => e.message);
    },
    async verify(target: SignTarget): Promise<Verification> {
      const base = { signer: "sigstore" as const, ref: targetRef(target) };
      return guard(async () => {
        const bundles = await bundleReferrers(registry, target.repository, target.digest);
        if (keyless) {
          if (!options.identity || !options.issuer || !options.trustedRoot)
            throw new PkgkitError("keyless verification needs the signer's identity and issuer and a trusted root (sigstore: identity, issuer, trustedRoot)");
          const problems: string[] = [];
          for (const b of bundles) {
            const problem = await verifyBundle(b.bundle, target.digest, { trustedRoot: options.trustedRoot, identity: options.identity, issuer: options.issuer, tlog });
            if (!problem) return { ...base, ok: true, detail: `Sigstore bundle ${b.digest} verifies for ${options.identity} (${options.issuer})` };
            problems.push(`bundle ${b.digest}: ${problem}`);
          }
          return { ...base, ok: false, detail: problems.length ? problems.join("; ") : "no Sigstore bundle referrer for this digest" };
        }
        const pub = publicKey();
        const layers = await signatureLayers(registry, target.repository, target.digest);
        const good = layers.find((l) => {
          const sig = l.annotations[COSIGN.signature];
          let claimed: string | undefined;
          try {
            claimed = (JSON.parse(new TextDecoder().decode(l.payload)) as { critical?: { image?: { "docker-manifest-digest"?: string } } }).critical?.image?.["docker-manifest-digest"];
          } catch {
            return false;
          }
          return claimed === target.digest && !!sig && nodeCrypto().verify("sha256", l.payload, pub, Buffer.from(sig, "base64"));
        });
        if (!good) return { ...base, ok: false, detail: layers.length ? `none of the ${layers.length} signature(s) at ${target.repository}:sha256-….sig is by key ${keyHint(pub)}` : "no cosign signature (sha256-<hex>.sig) for this digest" };
        for (const b of bundles) if (!(await verifyBundle(b.bundle, target.digest, { publicKey: pub }))) return { ...base, ok: true, detail: `cosign signature and Sigstore bundle ${b.digest} verify with key ${keyHint(pub)}` };
        return { ...base, ok: false, detail: `the cosign signature verifies, but no Sigstore bundle referrer verifies with key ${keyHint(pub)}` };
      }).catch((e: Error) => ({ ...base, ok: false, detail: e.message }));
    },
  };
}

/** Errors from the sigstore libraries may quote the identity token: never let one through as it is. */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof PkgkitError) throw new PkgkitError(redact(e.message), e.exitCode);
    const cause = (e as { cause?: Error }).cause;
    throw new PkgkitError(`sigstore: ${redact((e as Error).message ?? String(e))}${cause?.message ? ` (${redact(cause.message)})` : ""}`);
  }
}

type VerificationMaterial = Awaited<ReturnType<import("@sigstore/sign").DSSEBundleBuilder["create"]>>["verificationMaterial"];

/** The annotations cosign keeps beside a signature or attestation layer: the certificate, the Rekor entry, the RFC 3161 timestamp. */
function cosignAnnotations(vm: VerificationMaterial): Record<string, string> {
  const annotations: Record<string, string> = {};
  const cert = vm.content.$case === "certificate" ? vm.content.certificate.rawBytes : vm.content.$case === "x509CertificateChain" ? vm.content.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  if (cert) annotations[COSIGN.certificate] = toPem(cert);
  const rekor = vm.tlogEntries[0];
  if (rekor?.inclusionPromise) {
    annotations[COSIGN.rekorBundle] = JSON.stringify({
      SignedEntryTimestamp: Buffer.from(rekor.inclusionPromise.signedEntryTimestamp).toString("base64"),
      Payload: { body: Buffer.from(rekor.canonicalizedBody).toString("base64"), integratedTime: Number(rekor.integratedTime), logIndex: Number(rekor.logIndex), logID: Buffer.from(rekor.logId.keyId).toString("hex") },
    });
  }
  const ts = vm.timestampVerificationData?.rfc3161Timestamps[0];
  if (ts) annotations[COSIGN.timestamp] = JSON.stringify({ SignedRFC3161Timestamp: Buffer.from(ts.signedTimestamp).toString("base64") });
  return annotations;
}

/** An RFC 3161 timestamp (base64 DER) over `data` from the TSA at `url`. */
async function timestampOf(url: string, data: Uint8Array): Promise<string> {
  const { TSAWitness } = await import("@sigstore/sign");
  const { HashAlgorithm } = await import("@sigstore/protobuf-specs");
  // The witness timestamps a bundle's signature bytes: hand it `data` as one.
  const messageDigest = { algorithm: HashAlgorithm.SHA2_256, digest: nodeCrypto().createHash("sha256").update(data).digest() };
  const vm = await new TSAWitness({ tsaBaseURL: url, timeout: WITNESS_TIMEOUT_MS }).testify({ $case: "messageSignature", messageSignature: { messageDigest, signature: Buffer.from(data) } });
  return Buffer.from(vm.rfc3161Timestamps![0]!.signedTimestamp).toString("base64");
}

function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}

export interface BundlePolicy {
  /** Key-pair bundles: the public key. */
  publicKey?: KeyObject;
  /** Keyless bundles: the trusted root (JSON file), and the identity and issuer the certificate must name. */
  trustedRoot?: string;
  identity?: string;
  issuer?: string;
  tlog?: boolean;
}

/**
 * Verifies a Sigstore bundle with @sigstore/verify and checks its in-toto statement names
 * `digest` with `predicateType` (default: cosign's sign predicate). Returns undefined when it verifies, else the problem.
 */
export async function verifyBundle(json: Uint8Array, digest: string, policy: BundlePolicy, predicateType: string = BUNDLE.predicateType): Promise<string | undefined> {
  await nodeCompatibleVerify();
  const { bundleFromJSON } = await import("@sigstore/bundle");
  const { Verifier, toSignedEntity, toTrustMaterial } = await import("@sigstore/verify");
  const { TrustedRoot, PublicKeyDetails } = await import("@sigstore/protobuf-specs");
  try {
    const bundle = bundleFromJSON(JSON.parse(new TextDecoder().decode(json)));
    if (bundle.content.$case !== "dsseEnvelope") return "not a DSSE bundle";
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== BUNDLE.inToto) return `payload type ${envelope.payloadType}, expected ${BUNDLE.inToto}`;
    const statement = JSON.parse(Buffer.from(envelope.payload).toString("utf8")) as { predicateType?: string; subject?: { digest?: { sha256?: string } }[] };
    if (statement.predicateType !== predicateType) return `predicate ${statement.predicateType}, expected ${predicateType}`;
    if (!statement.subject?.some((s) => `sha256:${s.digest?.sha256}` === digest)) return `its statement does not name ${digest}`;
    if (policy.publicKey) {
      const hint = keyHint(policy.publicKey);
      const root = TrustedRoot.fromJSON({ mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] });
      const trust = toTrustMaterial(root, { [hint]: { rawBytes: policy.publicKey.export({ type: "spki", format: "der" }), keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256 } });
      new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
    } else {
      const root = TrustedRoot.fromJSON(JSON.parse(readFileSync(policy.trustedRoot!, "utf8")));
      const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: policy.tlog ? 1 : 0, ctlogThreshold: root.ctlogs.length ? 1 : 0, timestampThreshold: 1 });
      verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: policy.identity, extensions: { issuer: policy.issuer } });
    }
    return undefined;
  } catch (e) {
    return redact((e as Error).message);
  }
}
