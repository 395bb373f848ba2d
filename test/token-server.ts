/**
 * A minimal TEST token server for a real registry's `auth: token` (Debian has no token server).
 * It stands in for Docker Hub's auth.docker.io: checks basic credentials (or an identity token
 * sent as an OAuth2 refresh token) and issues an RS256 JWT granting exactly the requested scopes,
 * signed with a self-signed certificate that is the registry's rootcertbundle and the token's x5c
 * chain (distribution 2.8 verifies x5c against rootcertbundle). Anonymous requests get a token
 * that grants nothing. Every request is recorded for tests to assert on. Tests steer what it issues:
 * tokens the registry rejects as expired (`expireNext`), tokens that leave out a scope they were
 * asked for (`withholdNext`), for the client's 401-then-retry path.
 */
import { createServer } from "node:http";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { must } from "./helpers.ts";

export interface TokenRequest {
  method: string;
  auth: "basic" | "refresh_token" | "anonymous";
  scopes: string[];
  granted: boolean;
  /** Scopes asked for that the token leaves out (`withholdNext`). */
  withheld?: string[];
  /** The token's exp had passed when it was issued (`expireNext`). */
  expired?: true;
}

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate: the registry's rootcertbundle. */
  certFile: string;
  requests: TokenRequest[];
  /**
   * The next `n` tokens it grants carry an `exp` an hour past (beyond the registry's 60 s leeway for
   * clock skew) while `expires_in` still says 300 s: a client caches them, the registry answers 401.
   */
  expireNext(n: number): void;
  /** The next `n` tokens asked for `scope` (`repository:<path>:<actions>`, as asked; `Infinity`: all) leave it out. */
  withholdNext(scope: string, n: number): void;
  /**
   * A new signing key and certificate, written over `certFile`: a registry restarted after this
   * rejects every token issued before (revoked), and accepts the new ones.
   */
  rotateKey(): void;
  close(): Promise<void>;
}

export interface TokenServerOptions {
  /** Directory for the signing key and certificate. */
  dir: string;
  username: string;
  password: string;
  /** Accepted as an OAuth2 refresh_token (what `identitytoken` in a Docker config holds). */
  identityToken?: string;
}

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const keyFile = join(options.dir, "token.key");
  const certFile = join(options.dir, "token.crt");
  const newKey = () => {
    must(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pkgkit-test-token-server", "-keyout", keyFile, "-out", certFile]);
    return { key: createPrivateKey(readFileSync(keyFile)), x5c: [new X509Certificate(readFileSync(certFile)).raw.toString("base64")] };
  };
  let { key, x5c } = newKey();
  const service = "pkgkit-test-registry";
  const issuer = "pkgkit-test-token-server";
  const requests: TokenRequest[] = [];
  let toExpire = 0;
  const toWithhold = new Map<string, number>();

  /** A token granting `asked`, as the test's controls shape it; says on `record` what it did. */
  const issue = (subject: string, asked: string[], record: TokenRequest) => {
    const now = Math.floor(Date.now() / 1000);
    const withheld = asked.filter((s) => (toWithhold.get(s) ?? 0) > 0);
    for (const s of withheld) toWithhold.set(s, toWithhold.get(s)! - 1);
    if (withheld.length) record.withheld = withheld;
    const expired = subject !== "" && toExpire > 0;
    if (expired) {
      toExpire--;
      record.expired = true;
    }
    const exp = expired ? now - 3600 : now + 300;
    const access = asked.filter((s) => !withheld.includes(s)).map((s) => {
      const parts = s.split(":");
      return { type: parts[0], name: parts.slice(1, -1).join(":"), actions: parts[parts.length - 1]!.split(",") };
    });
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: subject, aud: service, exp, nbf: expired ? exp - 60 : now - 10, iat: now, jti: randomUUID(), access }));
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), key).toString("base64url");
    return { token: `${header}.${claims}.${signature}`, expires_in: 300, issued_at: new Date(now * 1000).toISOString() };
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://token.invalid");
      const reply = (status: number, json: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(json));
      };
      if (url.pathname !== "/token") return reply(404, { error: "not found" });
      if (req.method === "POST") {
        const form = new URLSearchParams(body);
        const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        const ok = form.get("grant_type") === "refresh_token" && !!options.identityToken && form.get("refresh_token") === options.identityToken;
        const record: TokenRequest = { method: "POST", auth: "refresh_token", scopes, granted: ok };
        requests.push(record);
        if (!ok) return reply(401, { error: "invalid_grant" });
        const t = issue(options.username, scopes, record);
        return reply(200, { access_token: t.token, expires_in: t.expires_in, issued_at: t.issued_at });
      }
      const scopes = url.searchParams.getAll("scope");
      const authorization = req.headers.authorization;
      if (!authorization) {
        const record: TokenRequest = { method: "GET", auth: "anonymous", scopes, granted: false };
        requests.push(record);
        return reply(200, issue("", [], record));
      }
      const [user, ...rest] = Buffer.from(authorization.replace(/^Basic /, ""), "base64").toString().split(":");
      const ok = authorization.startsWith("Basic ") && user === options.username && rest.join(":") === options.password;
      const record: TokenRequest = { method: "GET", auth: "basic", scopes, granted: ok };
      requests.push(record);
      if (!ok) return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] });
      reply(200, issue(user!, scopes, record));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // Never what keeps a test process alive: neither the listener nor kept-alive connections.
  server.unref();
  server.on("connection", (socket) => socket.unref());
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    expireNext(n) {
      toExpire = n;
    },
    withholdNext(scope, n) {
      toWithhold.set(scope, n);
    },
    rotateKey() {
      ({ key, x5c } = newKey());
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
