/**
 * A local HTTP stand-in for Fulcio, Rekor and a TSA, from @sigstore/mock's handlers and fresh keys
 * (not the public-good services), with the trusted root that verifies what it issues. It answers
 * from the test's own process: run the CLI asynchronously (spawn, not spawnSync) while it is up.
 */
import { generateKeyPairSync, createHash, randomBytes, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandIn {
  url: string;
  trustedRoot: unknown;
  server: Server;
  /** Requests answered so far, by service. */
  requests: { fulcio: number; rekor: number; tsa: number };
  /** Set to make a service answer with this HTTP status (and a JSON message) instead of doing its work. */
  failing: { fulcio?: number; rekor?: number; tsa?: number };
}

/**
 * What a real Rekor does to a proposed dsse (0.0.1) entry before it logs it, and the mock does not:
 * the logged body holds the envelope's and the payload's hashes and the signatures with their
 * verifiers, not the envelope. @sigstore/verify compares a bundle with that form. Other kinds pass
 * through as proposed (an intoto entry's proposed body is already its logged form).
 */
function rekorCanonicalDSSE(body: string): string {
  const entry = JSON.parse(body) as { kind?: string; apiVersion?: string; spec?: { proposedContent?: { envelope: string; verifiers: string[] } } };
  const proposed = entry.kind === "dsse" ? entry.spec?.proposedContent : undefined;
  if (!proposed) return body;
  const envelope = JSON.parse(proposed.envelope) as { payload: string; signatures: { sig: string }[] };
  const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  return JSON.stringify({
    apiVersion: entry.apiVersion,
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: sha256(proposed.envelope) },
      payloadHash: { algorithm: "sha256", value: sha256(Buffer.from(envelope.payload, "base64")) },
      signatures: envelope.signatures.map((sig, i) => ({ signature: sig.sig, verifier: proposed.verifiers[i] ?? proposed.verifiers[0] })),
    },
  });
}

export async function startSigstoreStandIn(): Promise<StandIn> {
  const mock = await import("@sigstore/mock");
  const pair = () => generateKeyPairSync("ec", { namedCurve: "P-256" }) as { publicKey: KeyObject; privateKey: KeyObject };
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const [ctPair, caPair, tlogPair, tsaPair] = [pair(), pair(), pair(), pair()];
  const ctLog = await mock.initializeCTLog(ctPair);
  const ca = await mock.initializeCA(caPair, ctLog);
  const tlog = await mock.initializeTLog(url, tlogPair);
  const tsa = await mock.initializeTSA(tsaPair);
  // The mock (asn1js) writes genTime's milliseconds without trailing zeros ("…12.5Z"), which
  // @sigstore/core's parser refuses (it wants none or three digits): one signature in ten failed.
  // Whole seconds are written without a fraction.
  (tsa as unknown as { getCurrentTime: () => Date }).getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  const rekor = mock.rekorHandler(tlog);
  const handlers = { fulcio: mock.fulcioHandler(ca), rekor, tsa: mock.tsaHandler(tsa) };
  const requests = { fulcio: 0, rekor: 0, tsa: 0 };
  const failing: StandIn["failing"] = {};
  server.on("request", (req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const name = (Object.keys(handlers) as (keyof typeof handlers)[]).find((n) => handlers[n].path === req.url && req.method === "POST");
      if (!name) return res.writeHead(404).end();
      requests[name] += 1;
      const status = failing[name];
      if (status) return res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code: status, message: `stand-in ${name} answers ${status}` }));
      const h = handlers[name];
      const { statusCode, response, contentType } = await h.fn(h === rekor ? rekorCanonicalDSSE(body) : body);
      res.writeHead(statusCode, { "content-type": contentType ?? "text/plain" }).end(typeof response === "string" ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
    });
  });
  const b64 = (v: ArrayBufferView | Buffer) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
  const spki = (k: KeyObject) => k.export({ type: "spki", format: "der" });
  const log = (k: KeyObject) => ({
    baseUrl: url,
    hashAlgorithm: "SHA2_256",
    publicKey: { rawBytes: b64(spki(k)), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start: "2000-01-01T00:00:00Z" } },
    logId: { keyId: createHash("sha256").update(spki(k)).digest("base64") },
  });
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [log(tlogPair.publicKey)],
    ctlogs: [log(ctPair.publicKey)],
    certificateAuthorities: [{ subject: { organization: "stand-in", commonName: "fulcio" }, uri: url, certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: { start: "2000-01-01T00:00:00Z" } }],
    timestampAuthorities: [{ subject: { organization: "stand-in", commonName: "tsa" }, uri: url, certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] }, validFor: { start: "2000-01-01T00:00:00Z" } }],
  };
  return { url, trustedRoot, server, requests, failing };
}

/** The CI identity the tests sign as, and its OIDC issuer. */
export const IDENTITY = "https://github.com/pkgkit/pkgkit/.github/workflows/release.yml@refs/heads/main";
export const ISSUER = "https://oidc.pkgkit.test";

/** An unsigned OIDC identity token for IDENTITY (the stand-in Fulcio reads its claims without checking a signature). */
export function identityToken(): string {
  const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ iss: ISSUER, sub: IDENTITY, aud: "sigstore", iat: now, exp: now + 600, nonce: randomBytes(8).toString("hex") })}.`;
}

/** A pkgkit.yml in `dir` for keyless signing through the stand-in, with its trusted root for verify; returns its path. */
export function keylessConfig(standIn: StandIn, dir: string, rekorEntryType: "dsse" | "intoto" = "dsse"): string {
  writeFileSync(join(dir, "trusted_root.json"), JSON.stringify(standIn.trustedRoot));
  const file = join(dir, "pkgkit.yml");
  writeFileSync(file, [
    "signer: sigstore",
    "sigstore:",
    "  keyless: true",
    `  fulcioURL: ${standIn.url}`,
    `  rekorURL: ${standIn.url}`,
    `  tsaURL: ${standIn.url}`,
    `  rekorEntryType: ${rekorEntryType}`,
    `  identity: ${JSON.stringify(IDENTITY)}`,
    `  issuer: ${ISSUER}`,
    "  trustedRoot: trusted_root.json",
    "",
  ].join("\n"));
  return file;
}

/**
 * What stock cosign 2.5 needs to verify keyless signatures and attestations (the `.sig`/`.att`
 * images, not the new bundle format) against the stand-in instead of the public-good TUF root:
 * the stand-in's Fulcio root, Rekor and CT log keys as files named by its environment variables,
 * and the TSA chain as a flag. Written into `dir`.
 */
export function cosignTrust(standIn: StandIn, dir: string): { env: Record<string, string>; args: string[] } {
  const root = standIn.trustedRoot as {
    tlogs: { publicKey: { rawBytes: string } }[];
    ctlogs: { publicKey: { rawBytes: string } }[];
    certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
    timestampAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
  };
  const pem = (label: string, b64: string) => `-----BEGIN ${label}-----\n${b64.replace(/.{64}(?!$)/g, "$&\n")}\n-----END ${label}-----\n`;
  const write = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  return {
    env: {
      SIGSTORE_ROOT_FILE: write("fulcio-root.pem", root.certificateAuthorities[0]!.certChain.certificates.map((c) => pem("CERTIFICATE", c.rawBytes)).join("")),
      SIGSTORE_REKOR_PUBLIC_KEY: write("rekor.pub", pem("PUBLIC KEY", root.tlogs[0]!.publicKey.rawBytes)),
      SIGSTORE_CT_LOG_PUBLIC_KEY_FILE: write("ctlog.pub", pem("PUBLIC KEY", root.ctlogs[0]!.publicKey.rawBytes)),
      // Nothing from the public-good TUF repository (unreachable offline, and not what the stand-in signs with).
      TUF_ROOT: join(dir, "tuf"),
    },
    args: ["--timestamp-certificate-chain", write("tsa-chain.pem", root.timestampAuthorities[0]!.certChain.certificates.map((c) => pem("CERTIFICATE", c.rawBytes)).join(""))],
  };
}
