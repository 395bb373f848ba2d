/**
 * HTTP for the registry client: one request at a time over the platform's client (npm undici on
 * Node, fetch on Deno and Bun) with keep-alive and per-host TLS; which scheme each host speaks;
 * retries with backoff (lib/retry.ts); network and TLS failures turned into RegistryErrors that say
 * what to do.
 *
 * Bounds: each attempt waits at most `requestMs` for a connection, for the answer's headers once
 * the request is sent, and between two chunks of a body either way (idle, not total: a large
 * upload goes on as long as bytes flow). An operation (a request with its retries, an upload
 * session) starts no attempt after `totalMs`, and cuts an attempt's waits to what is left of it.
 *
 * Scheme: HTTPS first. Plain HTTP only for loopback hosts and hosts listed insecure, and only when
 * the server does not speak TLS (never after a certificate error). Learnt once per host with a
 * `GET /v2/` (concurrent callers share it), which also yields the host's auth challenge.
 */
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { formatDelay, retry } from "../retry.ts";
import { runtime } from "../runtime.ts";
import { RegistryError } from "./errors.ts";
import { isLoopback } from "./names.ts";

// node:http, node:stream and node:tls are loaded where they are first used, not with this module:
// lib/index.ts exports the registry client, so every script that imports pkgkit (a pkg.config.ts
// run directly on Bun or Deno) would otherwise load them, about 10 ms on Bun and Deno, for a
// show-tag that never reaches a registry.
const builtin = <K extends "node:http" | "node:stream">(id: K) => process.getBuiltinModule(id);

export interface HttpRequest {
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path (`/v2/...`) on the host's base URL, or an absolute URL (an upload Location). */
  url: string;
  headers?: Record<string, string>;
  /** Bytes, or a file streamed from disk. */
  body?: Uint8Array | { path: string; size: number };
  /** For a GET: refuse an answer's body larger than this many bytes, without reading past it. */
  maxBody?: number;
}

export interface HttpResponse {
  status: number;
  /** Header value; repeated headers joined with ", ". */
  header(name: string): string | undefined;
  /** The body; with `limit`, a body larger than that many bytes is refused without reading past it. */
  bytes(limit?: number): Promise<Uint8Array>;
  /** Read and drop the body, so the connection goes back to the pool. */
  discard(): Promise<void>;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one, with jitter (default 200 ms). */
  baseDelayMs?: number;
}

export interface TimeoutOptions {
  /** Longest wait of one attempt for a connection, the answer, or the next chunk of a body (default 15 s). */
  requestMs?: number;
  /** No attempt of an operation starts after this, and its waits end by then (default 60 s). */
  totalMs?: number;
}

export interface TransportOptions {
  /** certs.d-style directories: `<dir>/<host:port>/*.crt` are CAs for that host. */
  certsDirs: string[];
  /** CA PEM files trusted for every host. */
  ca: string[];
  /** Hosts that may be plain HTTP and whose certificates are not verified. */
  insecure: string[];
  retry: Required<RetryOptions>;
  timeouts: Required<TimeoutOptions>;
  /** Retry lines. */
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

type Send = (req: HttpRequest & { url: string }, tls: TlsSettings, waitMs: number) => Promise<HttpResponse>;

export function createTransport(options: TransportOptions) {
  let senderPromise: Promise<Send> | undefined;
  const sender = () => (senderPromise ??= runtime === "deno" ? denoSender() : runtime === "bun" ? bunSender() : nodeSender(options.timeouts.requestMs));
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

  /**
   * Runs `attempt` until it succeeds, throws a non-retryable error, the attempts are used up or
   * the operation's time is. Retryable: connection refused/reset/timeouts, and the statuses
   * `retryableStatus` names. `attempt` gets how long it may wait at a time.
   */
  async function withRetries<T>(what: string, attempt: (waitMs: number) => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs } = options.retry;
    const { requestMs, totalMs } = options.timeouts;
    const deadline = Date.now() + totalMs;
    const signal = AbortSignal.timeout(totalMs);
    let made = 0;
    try {
      return await retry(
        () => {
          made++;
          return attempt(Math.max(1, Math.min(requestMs, deadline - Date.now())));
        },
        {
          what,
          attempts,
          baseDelayMs,
          signal,
          classify: (e) => (e instanceof RetryableError ? { reason: e.reason, what: e.request, ...(e.delayMs !== undefined ? { delayMs: e.delayMs } : {}) } : undefined),
          ...(options.log ? { onRetry: options.log } : {}),
        },
      );
    } catch (e) {
      if (!(e instanceof RetryableError)) throw e;
      const bound = made < attempts ? `, ${formatDelay(totalMs)} in all` : "";
      throw e.final(`(${plural(made, "attempt")}${bound})`);
    }
  }

  /**
   * One attempt, waiting at most `waitMs` at a time (the scheme must be known when `req.url` is a
   * path). Network failures and 5xx/429 answers are marked retryable. A GET's body is read here,
   * so a body that stalls or breaks off is retried like any other failure.
   */
  async function attempt(host: string, req: HttpRequest, waitMs: number, base?: string): Promise<HttpResponse> {
    const url = absolute(req.url, base);
    const failed = (e: unknown) => {
      const f = networkError(host, req, url, e, waitMs, options.certsDirs, insecure.has(host));
      if (!(f instanceof NetworkFailure && f.transient)) return f;
      return new RetryableError(`${req.method} ${shownUrl(url)}`, f.reason, (n) => new RegistryError({ kind: f.kind, registry: f.registry }, `${f.message} ${n}`));
    };
    let res: HttpResponse;
    try {
      res = await (await sender())({ ...req, url }, await tlsFor(new URL(url).host), waitMs);
    } catch (e) {
      throw failed(e);
    }
    if (retryableStatus(res.status)) {
      const said = errorBodyText(await res.bytes(ERROR_BODY_LIMIT).catch(() => new Uint8Array()));
      const status = statusText(res.status);
      const retryAfter = res.status === 429 ? retryAfterMs(res.header("retry-after")) : undefined;
      throw new RetryableError(`${req.method} ${shownUrl(url)}`, `${status}${said ? ` (${said})` : ""}`, (n) =>
        new RegistryError({ kind: "server", registry: host, status: res.status },
          `registry ${host} answered ${status} to ${req.method} ${pathOf(url)}${said ? `: ${said}` : ""} ${n}`), retryAfter);
    }
    if (req.method !== "GET") return res;
    let body: Uint8Array;
    try {
      body = await res.bytes(res.status < 300 ? req.maxBody : ERROR_BODY_LIMIT);
    } catch (e) {
      throw failed(e);
    }
    return { ...res, bytes: async (limit) => {
      if (limit !== undefined && body.length > limit) throw new BodyTooLarge(limit, body.length);
      return body;
    }, discard: async () => {} };
  }

  async function probe(host: string): Promise<HostInfo> {
    const ping = async (base: string) => {
      const res = await withRetries(`GET ${base}/v2/`, (waitMs) => attempt(host, { method: "GET", url: "/v2/" }, waitMs, base));
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
      return withRetries(`${req.method} ${shownUrl(absolute(req.url, base))}`, (waitMs) => attempt(host, req, waitMs, base));
    },
    /** Sends to an absolute URL (a token server), with retries, without probing its host. */
    requestUrl(req: HttpRequest): Promise<HttpResponse> {
      const host = new URL(req.url).host;
      return withRetries(`${req.method} ${shownUrl(req.url)}`, (waitMs) => attempt(host, req, waitMs));
    },
    /** Runs a sequence of requests (an upload session) and retries it as a whole. */
    retrying<T>(host: string, what: string, fn: (send: (req: HttpRequest) => Promise<HttpResponse>, base: string) => Promise<T>): Promise<T> {
      return withRetries(what, async (waitMs) => {
        const { base } = await hostInfo(host);
        return fn((req) => attempt(host, req, waitMs, base), base);
      });
    },
  };
}

export type Transport = ReturnType<typeof createTransport>;

/** Most of an error body read to show it: distribution's JSON errors are far smaller. */
const ERROR_BODY_LIMIT = 64 * 1024;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

const retryableStatus = (status: number) => status === 429 || (status >= 500 && status !== 501 && status !== 505);

const absolute = (url: string, base?: string) => (/^https?:\/\//.test(url) ? url : `${base}${url}`);

const pathOf = (url: string) => (/^https?:\/\//.test(url) ? new URL(url).pathname : url.replace(/\?.*$/, ""));

/** The URL as retry lines show it: no user info, no query (upload states, token requests' accounts). */
const shownUrl = (url: string) => {
  if (!/^https?:\/\//.test(url)) return url.replace(/\?.*$/, "");
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
};

/** `503 Service Unavailable` */
export function statusText(status: number): string {
  const text = builtin("node:http").STATUS_CODES[status];
  return text ? `${status} ${text}` : String(status);
}

/**
 * What a registry said in an error body: distribution's `{"errors":[{code, message, detail}]}`
 * as `CODE: message: detail` (a detail only when it is text), else the first line of the text;
 * at most about 300 characters.
 */
export function errorBodyText(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes).trim();
  if (!text) return "";
  let said: string;
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown; detail?: unknown }[] }).errors;
    if (!Array.isArray(errors)) throw new Error("not distribution's errors");
    said = errors.map((e) => [e.code, e.message, detailText(e.detail)].filter((x) => typeof x === "string" && x).join(": ")).filter(Boolean).join("; ");
  } catch {
    said = text.split("\n")[0]!.trim();
  }
  // What a registry says is shown on one line and never drives the terminal: control characters escaped.
  said = said.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => ({ "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return said.length > 300 ? `${said.slice(0, 300)}...` : said;
}

/**
 * Go errors distribution serialises as they are: its filesystem driver's failures arrive as
 * `{"DriverName":"filesystem","Enclosed":{"Op":"mkdir","Path":"...","Err":30}}`, the errno a number.
 */
const ERRNO: Record<number, string> = {
  2: "no such file or directory", 5: "input/output error", 13: "permission denied", 20: "not a directory", 28: "no space left on device", 30: "read-only file system", 122: "disk quota exceeded",
};
function detailText(detail: unknown): string | undefined {
  if (typeof detail === "string") return detail;
  if (!detail || typeof detail !== "object") return undefined;
  const d = detail as { DriverName?: unknown; Enclosed?: { Op?: unknown; Path?: unknown; Err?: unknown } };
  const e = d.Enclosed;
  if (e && typeof e === "object" && typeof e.Op === "string" && typeof e.Path === "string") {
    const err = typeof e.Err === "number" ? ERRNO[e.Err] ?? `errno ${e.Err}` : typeof e.Err === "string" ? e.Err : "failed";
    return `${typeof d.DriverName === "string" ? `${d.DriverName}: ` : ""}${e.Op} ${e.Path}: ${err}`;
  }
  return JSON.stringify(detail);
}

/** Retry-After as seconds or an HTTP date → ms from now. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

class RetryableError extends Error {
  constructor(
    /** `PUT <url>` as retry lines show it. */
    readonly request: string,
    readonly reason: string,
    /** The error to throw when no attempt is left, given `(N attempts)`. */
    readonly final: (attempts: string) => Error,
    readonly delayMs?: number,
  ) {
    super(reason);
  }
}

/** The body was larger than the reader allows (`HttpResponse.bytes(limit)`). */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number, readonly size?: number) {
    super(`larger than ${limit} bytes${size !== undefined ? ` (${size})` : ""}`);
  }
}

/** A wait of the fetch senders ran out (undici reports its own, with codes). */
class WaitTimeout extends Error {
  constructor(readonly phase: "answer" | "body") {
    super(`${phase} timeout`);
  }
}

export type Failure = "tls-unknown-ca" | "tls-cert" | "not-tls" | "refused" | "reset" | "timeout-connect" | "timeout-answer" | "timeout-body" | "dns" | "other";

class NetworkFailure extends RegistryError {
  constructor(
    registry: string,
    readonly failure: Failure,
    readonly transient: boolean,
    message: string,
    /** Why, in a few words, for retry lines. */
    readonly reason = message,
  ) {
    super({ kind: failure.startsWith("tls") ? "tls" : "unreachable", registry }, message);
  }
}

/** Codes and messages of the error and its causes (Node codes, rustls and BoringSSL texts). */
function causeChainText(err: unknown): string {
  const parts: string[] = [];
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string") parts.push(e.code);
    if (typeof e.message === "string") parts.push(e.message);
  }
  return parts.join(" | ");
}

/**
 * What kind of network failure an error is, from the error and its cause chain's text as each
 * runtime words it (Node's undici codes, Deno's "(os error N)" messages, Bun's names).
 */
export function classify(err: unknown, text: string): Failure {
  if (err instanceof WaitTimeout) return err.phase === "answer" ? "timeout-answer" : "timeout-body";
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UnknownIssuer|unknown (certificate )?authority|self[- ]signed certificate|unable to verify the first certificate/i.test(text))
    return "tls-unknown-ca";
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|NotValidForName|invalid peer certificate|CERT_|certificate/i.test(text)) return "tls-cert";
  if (/WRONG_VERSION_NUMBER|wrong version number|EPROTO|does the server speak TLS|InvalidContentType|corrupt message|packet length too long|unknown protocol|HTTP_REQUEST|http request|InvalidMessage/i.test(text)) return "not-tls";
  if (/ECONNREFUSED|ConnectionRefused|connection refused/i.test(text)) return "refused";
  if (/UND_ERR_HEADERS_TIMEOUT/.test(text)) return "timeout-answer";
  if (/UND_ERR_BODY_TIMEOUT/.test(text)) return "timeout-body";
  if (/ECONNRESET|EPIPE|broken pipe|UND_ERR_SOCKET|ConnectionClosed|ConnectionReset|socket hang up|other side closed|connection (was )?(reset|closed)|unexpected end|closed unexpectedly/i.test(text)) return "reset";
  if (/ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|timed? ?out/i.test(text)) return "timeout-connect";
  if (/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|getaddrinfo/i.test(text)) return "dns";
  return "other";
}

function networkError(host: string, req: HttpRequest, url: string, err: unknown, waitMs: number, certsDirs: string[], insecure: boolean): Error {
  if (err instanceof RegistryError || err instanceof BodyTooLarge) return err;
  const text = causeChainText(err);
  const failure = classify(err, text);
  const certsDir = certsDirs[0] ?? "/etc/docker/certs.d";
  const target = new URL(url).host;
  const request = `${req.method} ${pathOf(url)}`;
  const wait = formatDelay(waitMs);
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
      return new NetworkFailure(host, failure, true, `cannot reach registry ${host}: connection refused`, "connection refused");
    case "reset":
      return new NetworkFailure(host, failure, true, `registry ${host} closed the connection during ${request}`, "connection reset");
    case "timeout-connect":
      return new NetworkFailure(host, failure, true, `cannot reach registry ${host}: no connection within ${wait}`, `no connection within ${wait}`);
    case "timeout-answer":
      return new NetworkFailure(host, failure, true, `registry ${host} did not answer ${request} within ${wait}`, `no answer within ${wait}`);
    case "timeout-body":
      return new NetworkFailure(host, failure, true, `registry ${host} stopped sending its answer to ${request} (nothing for ${wait})`, `answer stalled for ${wait}`);
    case "dns":
      return new NetworkFailure(host, failure, false, `cannot reach registry ${host}: cannot resolve ${target.replace(/:\d+$/, "")}`);
    default:
      return new NetworkFailure(host, failure, false, `cannot reach registry ${host}: ${text || String(err)}`);
  }
}

// ---------------------------------------------------------------- per-runtime senders

const tlsKey = (tls: TlsSettings) => `${tls.verify}\0${tls.ca.join("\0")}`;

/** Reads chunks up to `limit` bytes; a larger body is refused as soon as it passes the limit. */
async function readLimited(chunks: AsyncIterable<Uint8Array>, limit: number, stop: () => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > limit) {
      stop();
      throw new BodyTooLarge(limit);
    }
    parts.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkLength(contentLength: string | undefined, limit: number | undefined) {
  const length = Number(contentLength);
  if (limit !== undefined && contentLength && Number.isFinite(length) && length > limit) throw new BodyTooLarge(limit, length);
}

async function nodeSender(connectMs: number): Promise<Send> {
  const undici = await import("undici");
  const { rootCertificates } = await import("node:tls");
  const agents = new Map<string, InstanceType<typeof undici.Agent>>();
  const agentFor = (tls: TlsSettings) => {
    const key = tlsKey(tls);
    let agent = agents.get(key);
    if (!agent) {
      // A `ca` replaces Node's roots: keep them, and add the host's.
      const trust = tls.ca.length || !tls.verify ? { ca: tls.ca.length ? [...rootCertificates, ...tls.ca] : undefined, rejectUnauthorized: tls.verify } : {};
      agents.set(key, (agent = new undici.Agent({ connect: { ...trust, timeout: connectMs }, keepAliveTimeout: 30_000 })));
    }
    return agent;
  };
  return async (req, tls, waitMs) => {
    const body = req.body instanceof Uint8Array ? req.body : req.body ? createReadStream(req.body.path) : undefined;
    // undici's headers timeout is held off while the request body is being written, so it bounds the
    // wait for the answer (and a peer that stops reading an upload); the body timeout is idle time.
    const res = await undici.request(req.url, {
      method: req.method,
      headers: req.headers,
      body,
      dispatcher: agentFor(tls),
      maxRedirections: req.method === "GET" || req.method === "HEAD" ? 5 : 0,
      headersTimeout: waitMs,
      bodyTimeout: waitMs,
    });
    const header = (name: string) => {
      const v = res.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(", ") : v;
    };
    return {
      status: res.statusCode,
      header,
      bytes: async (limit) => {
        try {
          checkLength(header("content-length"), limit);
        } catch (e) {
          res.body.destroy();
          throw e;
        }
        if (limit === undefined) return new Uint8Array(await res.body.arrayBuffer());
        return readLimited(res.body, limit, () => res.body.destroy());
      },
      discard: () => res.body.dump(),
    };
  };
}

/**
 * fetch has no timeouts of its own: one timer, restarted whenever a chunk of the request body is
 * taken or a chunk of the answer arrives, aborts the request after `waitMs` without either.
 */
function idleTimer(waitMs: number) {
  const controller = new AbortController();
  let phase: WaitTimeout["phase"] = "answer";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new WaitTimeout(phase)), waitMs);
  };
  return {
    signal: controller.signal,
    touch,
    stop: () => clearTimeout(timer),
    answered() {
      phase = "body";
      touch();
    },
    /** Our own timeout when it fired, else the error as it was. */
    why: (e: unknown) => (controller.signal.aborted && controller.signal.reason instanceof WaitTimeout ? controller.signal.reason : e),
  };
}

type IdleTimer = ReturnType<typeof idleTimer>;

function fetchResponse(res: Response, timer: IdleTimer): HttpResponse {
  async function* chunks(body: ReadableStream<Uint8Array>) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read().catch((e: unknown) => {
          throw timer.why(e);
        });
        if (done) return;
        timer.touch();
        yield value;
      }
    } finally {
      timer.stop();
      reader.releaseLock();
    }
  }
  return {
    status: res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    bytes: async (limit) => {
      if (!res.body) {
        timer.stop();
        return new Uint8Array();
      }
      try {
        checkLength(res.headers.get("content-length") ?? undefined, limit);
      } catch (e) {
        timer.stop();
        await res.body.cancel().catch(() => {});
        throw e;
      }
      return readLimited(chunks(res.body), limit ?? Number.MAX_SAFE_INTEGER, () => void res.body?.cancel().catch(() => {}));
    },
    discard: async () => {
      timer.stop();
      await res.body?.cancel().catch(() => {});
    },
  };
}

/** The request body for fetch; a file's chunks restart the idle timer as fetch takes them. */
const fetchBody = (body: HttpRequest["body"], timer: IdleTimer) =>
  body instanceof Uint8Array
    ? body
    : body
      ? (builtin("node:stream").Readable.toWeb(createReadStream(body.path)) as unknown as ReadableStream<Uint8Array>).pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          timer.touch();
          out.enqueue(chunk);
        },
      }))
      : undefined;

async function timedFetch(url: string, init: RequestInit & Record<string, unknown>, req: HttpRequest, waitMs: number): Promise<HttpResponse> {
  const timer = idleTimer(waitMs);
  timer.touch();
  let res: Response;
  try {
    res = await fetch(url, { ...init, method: req.method, headers: req.headers, body: fetchBody(req.body, timer), signal: timer.signal } as RequestInit);
  } catch (e) {
    timer.stop();
    throw timer.why(e);
  }
  timer.answered();
  if (!res.body) timer.stop();
  return fetchResponse(res, timer);
}

declare const Deno: { createHttpClient(options: { caCerts?: string[] }): unknown };

async function denoSender(): Promise<Send> {
  const clients = new Map<string, unknown>();
  return async (req, tls, waitMs) => {
    // Deno has no per-client switch to skip verification (tls.verify): see networkError().
    let client: unknown;
    if (tls.ca.length) {
      const key = tlsKey(tls);
      client = clients.get(key);
      if (!client) clients.set(key, (client = Deno.createHttpClient({ caCerts: tls.ca })));
    }
    return timedFetch(req.url, client ? { client } : {}, req, waitMs);
  };
}

async function bunSender(): Promise<Send> {
  const { rootCertificates } = await import("node:tls");
  return async (req, tls, waitMs) => {
    const tlsOption = tls.ca.length || !tls.verify ? { tls: { ...(tls.ca.length ? { ca: [...rootCertificates, ...tls.ca] } : {}), rejectUnauthorized: tls.verify } } : {};
    return timedFetch(req.url, tlsOption, req, waitMs);
  };
}
