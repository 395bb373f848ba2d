/**
 * Keyless signing's certificate. The identity token is checked first (a JWT whose payload Fulcio
 * can use: issuer, subject, not expired), then Fulcio is asked for one certificate for an
 * ephemeral P-256 key. Every signature of the run is made with that key and certificate while
 * it stays valid: @sigstore/sign's FulcioSigner would ask Fulcio again for each signature.
 *
 * Fulcio certificates live 10 minutes, so `ready()` (the plan's prepare step, run right before a
 * package's first push) wants one valid for a while yet, and a signature made with one about to
 * expire fetches a new one first (once; if that fails, the signature fails).
 */
import type { KeyObject } from "node:crypto";
import { nodeCrypto } from "../node-crypto.ts";
import process from "node:process";
import { InputError, PkgkitError } from "../errors.ts";
import { redact, rememberSecret } from "./secrets.ts";

/** An identity token and where it came from, for messages (never the token itself). */
export interface IdentityToken {
  value: string;
  from: string;
}

export interface TokenClaims {
  issuer: string;
  subject: string;
  expires?: Date;
}

const WHAT_TO_DO = "set SIGSTORE_ID_TOKEN to a current OIDC identity token for the audience sigstore (or run in a CI that provides one: GitHub Actions with id-token: write), then run again";

/** The claims Fulcio needs from `token`, or an InputError (exit 2) that says what is wrong with it without quoting it. */
export function checkIdentityToken(token: IdentityToken, now = new Date()): TokenClaims {
  const bad = (problem: string) => new InputError(`sigstore keyless: the identity token from ${token.from} ${problem}; ${WHAT_TO_DO}`);
  const parts = token.value.trim().split(".");
  if (parts.length !== 3) throw bad(`is not a JWT: expected three base64url parts separated by ".", found ${parts.length}`);
  let claims: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(parts[1]!)) throw new Error("not base64url");
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(parts[1]!, "base64url")));
  } catch {
    throw bad("is not a JWT: its payload (the second part) is not base64url-encoded JSON");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw bad("is not a JWT: its payload is not a JSON object of claims");
  const c = claims as Record<string, unknown>;
  if (typeof c.iss !== "string" || !c.iss) throw bad('has no issuer (claim "iss"), which Fulcio needs to know who vouches for the identity');
  let expires: Date | undefined;
  if (c.exp !== undefined) {
    if (typeof c.exp !== "number" || !Number.isFinite(c.exp)) throw bad('has an expiry (claim "exp") that is not a number of seconds');
    expires = new Date(c.exp * 1000);
    if (expires.getTime() <= now.getTime()) throw bad(`expired at ${expires.toISOString()} (claim "exp")`);
  }
  let subject: string;
  if (typeof c.email === "string" && c.email) {
    if (c.email_verified !== true) throw bad('names an email (claim "email") that its issuer has not verified (claim "email_verified" is not true), which Fulcio refuses');
    subject = c.email;
  } else if (typeof c.sub === "string" && c.sub) subject = c.sub;
  else throw bad('has no subject (claim "sub" or "email"), the identity Fulcio certifies');
  return { issuer: c.iss, subject, ...(expires ? { expires } : {}) };
}

/** The token: $SIGSTORE_ID_TOKEN, else the CI's (as @sigstore/sign finds it), remembered for redaction. */
export async function identityToken(): Promise<IdentityToken> {
  const env = process.env.SIGSTORE_ID_TOKEN;
  if (env) return { value: rememberSecret(env), from: "$SIGSTORE_ID_TOKEN" };
  const { CIContextProvider } = await import("@sigstore/sign");
  const ci = await new CIContextProvider("sigstore").getToken().catch(() => "");
  if (!ci) throw new InputError(`sigstore keyless: no OIDC identity token: ${WHAT_TO_DO}`);
  return { value: rememberSecret(ci), from: "the CI's OIDC token provider" };
}

/** What @sigstore/sign's bundle builders sign with. */
export interface CertifiedSigner {
  sign(data: Buffer): Promise<{ signature: Buffer; key: { $case: "x509Certificate"; certificate: string } }>;
}

export interface KeylessOptions {
  fulcioURL: string;
  token?: () => Promise<IdentityToken>;
  /** Per request to Fulcio (default 30 s). */
  timeoutMs?: number;
  now?: () => number;
}

interface Certificate {
  key: KeyObject;
  /** PEM, as Fulcio returned it: the first of its chain. */
  pem: string;
  notAfter: number;
}

/** A certificate fetched by `ready()` must stay valid this long (it is re-used by the package's signatures). */
export const READY_FOR_MS = 5 * 60_000;
/** A signature is made with a certificate valid at least this much longer, else a new one is fetched. */
export const SIGN_MARGIN_MS = 60_000;

export function keylessCertificates(options: KeylessOptions) {
  const now = options.now ?? Date.now;
  const token = options.token ?? identityToken;
  let current: Certificate | undefined;
  let fetching: Promise<Certificate> | undefined;

  async function fetchCertificate(): Promise<Certificate> {
    const t = await token();
    const claims = checkIdentityToken(t, new Date(now()));
    const { publicKey, privateKey } = nodeCrypto().generateKeyPairSync("ec", { namedCurve: "P-256" });
    const spki = publicKey.export({ type: "spki", format: "der" });
    const { FulcioSigner } = await import("@sigstore/sign");
    const fulcio = new FulcioSigner({
      fulcioBaseURL: options.fulcioURL,
      identityProvider: { getToken: async () => t.value },
      keyHolder: {
        sign: async (data: Buffer) => ({
          signature: nodeCrypto().sign("sha256", data, privateKey),
          key: { $case: "publicKey", publicKey: publicKey.export({ type: "spki", format: "pem" }).toString() },
        }),
      },
      timeout: options.timeoutMs ?? 30_000,
    });
    let pem: string;
    try {
      const issued = await fulcio.sign(Buffer.from("pkgkit: proof that the key signs"));
      if (issued.key.$case !== "x509Certificate") throw new Error("Fulcio's answer holds no certificate");
      pem = issued.key.certificate;
    } catch (e) {
      throw new PkgkitError(redact(`sigstore keyless: Fulcio at ${options.fulcioURL} did not issue a signing certificate for the identity token from ${t.from}: ${fulcioProblem(e)}; check the Fulcio URL (sigstore.fulcioURL) and that Fulcio is up, then run again`));
    }
    const { X509Certificate } = await import("@sigstore/core");
    let notAfter: number;
    try {
      const cert = X509Certificate.parse(pem);
      if (!Buffer.from(cert.publicKey).equals(Buffer.from(spki))) throw new Error(`the certificate is not for the key pkgkit sent`);
      notAfter = cert.notAfter.getTime();
      if (notAfter <= now()) throw new Error(`the certificate expired at ${cert.notAfter.toISOString()}`);
    } catch (e) {
      throw new PkgkitError(`sigstore keyless: Fulcio at ${options.fulcioURL} answered with a certificate pkgkit cannot sign with (for ${claims.subject}): ${(e as Error).message}`);
    }
    return { key: privateKey, pem, notAfter };
  }

  /** The current certificate if it is valid for `validForMs` more, else a new one (one request at a time). */
  function certificate(validForMs: number): Promise<Certificate> {
    if (current && current.notAfter - now() > validForMs) return Promise.resolve(current);
    fetching ??= fetchCertificate()
      .then((c) => (current = c))
      .finally(() => (fetching = undefined));
    return fetching;
  }

  const signer: CertifiedSigner = {
    async sign(data) {
      const c = await certificate(SIGN_MARGIN_MS);
      return { signature: nodeCrypto().sign("sha256", data, c.key), key: { $case: "x509Certificate", certificate: c.pem } };
    },
  };

  return {
    /** Checks the token and holds a certificate valid for READY_FOR_MS at least. */
    ready: async () => void (await certificate(READY_FOR_MS)),
    signer,
  };
}

/** Why a Fulcio request failed, in a few words: its HTTP status and message, or the connection error. */
function fulcioProblem(e: unknown): string {
  const cause = (e as { cause?: unknown }).cause ?? e;
  const status = (cause as { statusCode?: number }).statusCode;
  if (typeof status === "number") {
    const message = (cause as Error).message.replace(/^\(\d+\)\s*/, "").trim();
    const detail = message ? `: ${message}` : "";
    return status === 401 || status === 403 ? `it refused the token (HTTP ${status}${detail})` : `it answered HTTP ${status}${detail}`;
  }
  const code = (cause as { code?: string }).code;
  const message = (cause as Error).message ?? String(cause);
  return code && /^E[A-Z]+$/.test(code) ? `cannot reach it (${code})` : `the request failed: ${message}`;
}
