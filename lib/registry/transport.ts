/**
 * HTTP for the registry client: one request at a time over the platform's client (npm undici on
 * Node, fetch on Deno and Bun) with keep-alive and per-host TLS; which scheme each host speaks;
 * retries with backoff; network and TLS failures turned into RegistryErrors that say what to do.
 *
 * Scheme: HTTPS first. Plain HTTP only for loopback hosts and hosts listed insecure, and only when
 * the server does not speak TLS (never after a certificate error). Learnt once per host with a
 * `GET /v2/` (concurrent callers share it), which also yields the host's auth challenge.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { runtime } from "../runtime.ts";
import { RegistryError } from "./errors.ts";
import { isLoopback } from "./names.ts";

export interface HttpRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path (`/v2/...`) on the host's base URL, or an absolute URL (an upload Location). */
  url: string;
  headers?: Record<string, string>;
  /** Bytes, or a file streamed from disk. */
  body?: Uint8Array | { path: string; size: number };
}

export interface HttpResponse {
  status: number;
  /** Header value; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  bytes(): Promise<Uint8Array>;
  /** Read and drop the body, so the connection goes back to the pool. */
  discard(): Promise<void>;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one, with jitter (default 200 ms). */
  baseDelayMs?: number;
}

export interface TransportOptions {
  /** certs.d-style directories: `<dir>/<host:port>/*.crt` are CAs for that host. */
  certsDirs: string[];
  /** CA PEM files trusted for every host. */
  ca: string[];
  /** Hosts that may be plain HTTP and whose certificates are not verified. */
  insecure: string[];
  retry: Required<RetryOptions>;
  log?: (line: string) => void;
}

interface TlsSettings {
  /** Extra CA PEMs for this host (empty: the platform's roots). */
  ca: string[];
  verify: boolean;
}

interface HostInfo {
  /** `https://host` or `http://host` */
  base: string;
  /** WWW-Authenticate of the `GET /v2/` ping, if it asked for credentials. */
  challenge?: string;
}

type Send = (req: HttpRequest & { url: string }, tls: TlsSettings) => Promise<HttpResponse>;

export function createTransport(options: TransportOptions) {
  let senderPromise: Promise<Send> | undefined;
  const sender = () => (senderPromise ??= runtime === "deno" ? denoSender() : runtime === "bun" ? bunSender() : nodeSender());
  const tlsCache = new Map<string, Promise<TlsSettings>>();
  const hosts = new Map<string, Promise<HostInfo>>();
  const insecure = new Set(options.insecure);

  function tlsFor(host: string): Promise<TlsSettings> {
    let p = tlsCache.get(host);
    if (!p) tlsCache.set(host, (p = loadTls(host)));
    return p;
  }
  async function loadTls(host: string): Promise<TlsSettings> {
    const files = [...options.ca];
    for (const dir of options.certsDirs) {
      const hostDir = join(dir, host);
      const names = await readdir(hostDir).catch(() => [] as string[]);
      files.push(...names.filter((n) => n.endsWith(".crt")).sort().map((n) => join(hostDir, n)));
    }
    const ca = await Promise.all(files.map((f) => readFile(f, "utf8").catch((e: Error) => {
      throw new RegistryError({ kind: "tls", registry: host }, `TLS: cannot read CA file ${f} for ${host}: ${e.message}`);
    })));
    return { ca, verify: !insecure.has(host) };
  }

  /** One attempt: the scheme must be known when `req.url` is a path. */
  async function sendOnce(host: string, req: HttpRequest, base?: string): Promise<HttpResponse> {
    const url = /^https?:\/\//.test(req.url) ? req.url : `${base}${req.url}`;
    const send = await sender();
    try {
      return await send({ ...req, url }, await tlsFor(new URL(url).host));
    } catch (e) {
      throw networkError(host, url, e, options.certsDirs, insecure.has(host));
    }
  }

  /**
   * Runs `attempt` until it succeeds, throws a non-retryable error, or the attempts are used up.
   * Retryable: connection refused/reset/timeouts, and the statuses `retryableStatus` names.
   */
  async function withRetries<T>(host: string, what: string, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs } = options.retry;
    for (let n = 1; ; n++) {
      let reason: string;
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof RetryableError) || n >= attempts) {
          if (e instanceof RetryableError) throw e.final(attempts);
          throw e;
        }
        reason = e.reason;
      }
      const delay = Math.round(baseDelayMs * 2 ** (n - 1) * (0.5 + Math.random() / 2));
      options.log?.(`registry ${host}: ${what}: ${reason}; retrying in ${delay < 1000 ? `${delay}ms` : `${(delay / 1000).toFixed(1)}s`} (attempt ${n + 1} of ${attempts})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** One attempt whose network failures and 5xx/429 answers are marked retryable. */
  async function attempt(host: string, req: HttpRequest, base?: string): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await sendOnce(host, req, base);
    } catch (e) {
      if (e instanceof NetworkFailure && e.transient)
        throw new RetryableError(e.message.replace(/^cannot reach registry .*?: /, ""), (attempts) =>
          new RegistryError({ kind: e.kind, registry: e.registry }, `${e.message} (gave up after ${plural(attempts, "attempt")})`));
      throw e;
    }
    if (!retryableStatus(res.status)) return res;
    await res.discard();
    throw new RetryableError(`answered ${res.status}`, (attempts) =>
      new RegistryError({ kind: "server", registry: host, status: res.status },
        `registry ${host} answered ${res.status} to ${req.method} ${pathOf(req.url)} (gave up after ${plural(attempts, "attempt")})`));
  }

  async function probe(host: string): Promise<HostInfo> {
    const ping = async (base: string) => {
      const res = await withRetries(host, "GET /v2/", () => attempt(host, { method: "GET", url: "/v2/" }, base));
      const challenge = res.status === 401 ? res.header("www-authenticate") : undefined;
      await res.discard();
      return { status: res.status, info: { base, ...(challenge ? { challenge } : {}) } };
    };
    try {
      return (await ping(`https://${host}`)).info;
    } catch (e) {
      if (!(e instanceof NetworkFailure && e.failure === "not-tls")) throw e;
      if (!isLoopback(host) && !insecure.has(host))
        throw new RegistryError({ kind: "tls", registry: host },
          `registry ${host} does not speak TLS (HTTPS); if it is a plain-HTTP registry you trust, pass --insecure-registry ${host}`);
      // A TLS server answers plain HTTP with 400: then the TLS failure was the real problem.
      const { status, info } = await ping(`http://${host}`);
      if (status === 400) throw e;
      return info;
    }
  }

  /** The host's scheme and ping challenge, probed once (a failed probe is tried again next time). */
  function hostInfo(host: string): Promise<HostInfo> {
    let p = hosts.get(host);
    if (!p) {
      hosts.set(host, (p = probe(host)));
      p.catch(() => hosts.delete(host));
    }
    return p;
  }

  return {
    hostInfo,
    /** Sends with retries; returns any HTTP answer except a retryable one (those become errors). */
    async request(host: string, req: HttpRequest): Promise<HttpResponse> {
      const { base } = await hostInfo(host);
      return withRetries(host, `${req.method} ${pathOf(req.url)}`, () => attempt(host, req, base));
    },
    /** Sends to an absolute URL (a token server), with retries, without probing its host. */
    requestUrl(req: HttpRequest): Promise<HttpResponse> {
      const host = new URL(req.url).host;
      return withRetries(host, `${req.method} ${pathOf(req.url)}`, () => attempt(host, req));
    },
    /** Runs a sequence of requests (an upload session) and retries it as a whole. */
    retrying<T>(host: string, what: string, fn: (send: (req: HttpRequest) => Promise<HttpResponse>, base: string) => Promise<T>): Promise<T> {
      return withRetries(host, what, async () => {
        const { base } = await hostInfo(host);
        return fn((req) => attempt(host, req, base), base);
      });
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

const retryableStatus = (status: number) => status === 429 || (status >= 500 && status !== 501 && status !== 505);

const pathOf = (url: string) => (/^https?:\/\//.test(url) ? new URL(url).pathname : url.replace(/\?.*$/, ""));

class RetryableError extends Error {
  constructor(
    readonly reason: string,
    readonly final: (attempts: number) => Error,
  ) {
    super(reason);
  }
}

type Failure = "tls-unknown-ca" | "tls-cert" | "not-tls" | "refused" | "reset" | "timeout" | "dns" | "other";

class NetworkFailure extends RegistryError {
  constructor(
    registry: string,
    readonly failure: Failure,
    readonly transient: boolean,
    message: string,
  ) {
    super({ kind: failure.startsWith("tls") ? "tls" : "unreachable", registry }, message);
  }
}

/** Codes and messages of the error and its causes (Node codes, rustls and BoringSSL texts). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string") parts.push(e.code);
    if (typeof e.message === "string") parts.push(e.message);
  }
  return parts.join(" | ");
}

function classify(text: string): Failure {
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UnknownIssuer|unknown (certificate )?authority|self[- ]signed certificate|unable to verify the first certificate/i.test(text))
    return "tls-unknown-ca";
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|NotValidForName|invalid peer certificate|CERT_|certificate/i.test(text)) return "tls-cert";
  if (/WRONG_VERSION_NUMBER|wrong version number|EPROTO|does the server speak TLS|InvalidContentType|corrupt message|packet length too long|unknown protocol|HTTP_REQUEST|http request|InvalidMessage/i.test(text)) return "not-tls";
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(text)) return "refused";
  if (/ECONNRESET|EPIPE|UND_ERR_SOCKET|ConnectionClosed|ConnectionReset|socket hang up|other side closed|connection (was )?(reset|closed)/i.test(text)) return "reset";
  if (/ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|timed? ?out/i.test(text)) return "timeout";
  if (/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|getaddrinfo/i.test(text)) return "dns";
  return "other";
}

function networkError(host: string, url: string, err: unknown, certsDirs: string[], insecure: boolean): Error {
  if (err instanceof RegistryError) return err;
  const text = describe(err);
  const failure = classify(text);
  const certsDir = certsDirs[0] ?? "/etc/docker/certs.d";
  const target = new URL(url).host;
  const deno = insecure && runtime === "deno"
    ? `; Deno cannot skip certificate checks for one host: run it with --unsafely-ignore-certificate-errors=${new URL(url).hostname}`
    : "";
  switch (failure) {
    case "tls-unknown-ca":
      return new NetworkFailure(host, failure, false,
        `TLS: certificate for ${target} is signed by an unknown authority; put its CA in ${certsDir}/${target}/ca.crt or pass --registry-ca <file>${deno}`);
    case "tls-cert":
      return new NetworkFailure(host, failure, false, `TLS: certificate for ${target} is not valid (${text})${deno}`);
    case "not-tls":
      return new NetworkFailure(host, failure, false, `cannot reach registry ${host}: ${target} does not speak TLS (${text})`);
    case "refused":
      return new NetworkFailure(host, failure, true, `cannot reach registry ${host}: connection refused`);
    case "reset":
      return new NetworkFailure(host, failure, true, `cannot reach registry ${host}: connection reset`);
    case "timeout":
      return new NetworkFailure(host, failure, true, `cannot reach registry ${host}: timed out`);
    case "dns":
      return new NetworkFailure(host, failure, false, `cannot reach registry ${host}: cannot resolve ${target.replace(/:\d+$/, "")}`);
    default:
      return new NetworkFailure(host, failure, false, `cannot reach registry ${host}: ${text || String(err)}`);
  }
}

// ---------------------------------------------------------------- per-runtime senders

const tlsKey = (tls: TlsSettings) => `${tls.verify}\0${tls.ca.join("\0")}`;

async function nodeSender(): Promise<Send> {
  const undici = await import("undici");
  const agents = new Map<string, InstanceType<typeof undici.Agent>>();
  const agentFor = (tls: TlsSettings) => {
    const key = tlsKey(tls);
    let agent = agents.get(key);
    if (!agent) {
      // A `ca` replaces Node's roots: keep them, and add the host's.
      const connect = tls.ca.length || !tls.verify ? { ca: tls.ca.length ? [...rootCertificates, ...tls.ca] : undefined, rejectUnauthorized: tls.verify } : {};
      agents.set(key, (agent = new undici.Agent({ connect, keepAliveTimeout: 30_000 })));
    }
    return agent;
  };
  return async (req, tls) => {
    const body = req.body instanceof Uint8Array ? req.body : req.body ? createReadStream(req.body.path) : undefined;
    const res = await undici.request(req.url, {
      method: req.method,
      headers: req.headers,
      body,
      dispatcher: agentFor(tls),
      maxRedirections: req.method === "GET" || req.method === "HEAD" ? 5 : 0,
    });
    return {
      status: res.statusCode,
      header: (name) => {
        const v = res.headers[name.toLowerCase()];
        return Array.isArray(v) ? v.join(", ") : v;
      },
      bytes: async () => new Uint8Array(await res.body.arrayBuffer()),
      discard: () => res.body.dump(),
    };
  };
}

function fetchResponse(res: Response): HttpResponse {
  return {
    status: res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    bytes: async () => new Uint8Array(await res.arrayBuffer()),
    discard: async () => {
      await res.body?.cancel().catch(() => {});
    },
  };
}

const fetchBody = (body: HttpRequest["body"]) =>
  body instanceof Uint8Array ? body : body ? (Readable.toWeb(createReadStream(body.path)) as unknown as ReadableStream<Uint8Array>) : undefined;

declare const Deno: { createHttpClient(options: { caCerts?: string[] }): unknown };

async function denoSender(): Promise<Send> {
  const clients = new Map<string, unknown>();
  return async (req, tls) => {
    // Deno has no per-client switch to skip verification (tls.verify): see networkError().
    let client: unknown;
    if (tls.ca.length) {
      const key = tlsKey(tls);
      client = clients.get(key);
      if (!client) clients.set(key, (client = Deno.createHttpClient({ caCerts: tls.ca })));
    }
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: fetchBody(req.body), ...(client ? { client } : {}) } as RequestInit);
    return fetchResponse(res);
  };
}

async function bunSender(): Promise<Send> {
  return async (req, tls) => {
    const tlsOption = tls.ca.length || !tls.verify ? { tls: { ...(tls.ca.length ? { ca: [...rootCertificates, ...tls.ca] } : {}), rejectUnauthorized: tls.verify } } : {};
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: fetchBody(req.body), ...tlsOption } as RequestInit);
    return fetchResponse(res);
  };
}
