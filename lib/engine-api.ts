/**
 * The Docker Engine API over the engine's local unix socket, for the read-only look-ups a build
 * makes (image inspects, the engine's arch): a request costs a few milliseconds where a `docker`
 * process costs tens. Only for an engine that is a local unix socket (the default one, DOCKER_HOST
 * or an endpoint `unix://...`); contexts, tcp:// and ssh:// engines go through the docker CLI,
 * which knows how to reach them. Any answer that is not the engine's (no socket, no `Api-Version`
 * header, an unexpected status) is `undefined`: the caller asks the CLI, whose errors say more.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Engine } from "./options.ts";

/** A local request should answer at once; past this the CLI is asked instead. */
const REQUEST_TIMEOUT_MS = 10_000;

const DEFAULT_SOCKET = "/var/run/docker.sock";

/**
 * The unix socket of `engine` (or of the docker CLI's default engine), or undefined when the CLI
 * must be asked: a docker context, a DOCKER_CONTEXT or current context other than `default`, or an
 * endpoint that is not `unix://`.
 */
export function engineSocket(engine: Engine | undefined, env: Record<string, string | undefined> = process.env): string | undefined {
  if (engine) return "host" in engine ? unixPath(engine.host) : undefined;
  if (env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== "default") return undefined;
  if (env.DOCKER_HOST) return unixPath(env.DOCKER_HOST);
  try {
    const config = JSON.parse(readFileSync(join(env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json"), "utf8")) as { currentContext?: unknown };
    if (config.currentContext && config.currentContext !== "default") return undefined;
  } catch {
    // No (readable) config.json: the default context. An unreadable one is the CLI's to report.
  }
  return DEFAULT_SOCKET;
}

function unixPath(endpoint: string): string | undefined {
  return endpoint.startsWith("unix://") && endpoint.length > "unix://".length ? endpoint.slice("unix://".length) : undefined;
}

/**
 * A GET to the engine at `socket`: its status and JSON body, or undefined when the engine did not
 * answer. One HTTP/1.0 request a connection, written on a plain socket: the engine (Go's net/http)
 * then answers without chunks and closes the connection after the body, so the answer is the bytes
 * read until the end, headers first. node:http would do the same at several times the cost on the
 * build path (its agent, the first request's IP checks: milliseconds a request, before and after
 * every build). Anything that is not a complete answer of the engine is undefined.
 */
export async function engineGet(socket: string, path: string): Promise<{ status: number; body: unknown } | undefined> {
  if (!/^\/[\x21-\x7e]*$/.test(path)) return undefined;
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const conn = connect(socket);
    conn.setTimeout(REQUEST_TIMEOUT_MS, () => conn.destroy());
    // Written, not ended: the engine takes a closed request side for a client gone and cancels the request.
    conn.on("connect", () => conn.write(`GET ${path} HTTP/1.0\r\nHost: docker\r\n\r\n`));
    conn.on("data", (c: Buffer) => chunks.push(c));
    conn.on("error", () => resolve(undefined));
    conn.on("close", () => resolve(parseAnswer(Buffer.concat(chunks))));
  });
}

/** An engine's HTTP/1.x answer, read to its end: its status and JSON body; undefined if it is not one (no `Api-Version` header, cut short, chunked, not JSON). */
export function parseAnswer(answer: Buffer): { status: number; body: unknown } | undefined {
  const end = answer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine = "", ...lines] = answer.subarray(0, end).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (!status) return undefined;
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  if (!headers.get("api-version") || headers.has("transfer-encoding")) return undefined;
  const body = answer.subarray(end + 4);
  const length = headers.get("content-length");
  if (length !== undefined && Number(length) !== body.length) return undefined;
  try {
    return { status: Number(status[1]), body: JSON.parse(body.toString("utf8")) };
  } catch {
    return undefined;
  }
}

/** The path of an image inspect, or undefined for a ref that would not survive as a URL path unescaped (or whose `..` would climb out of /images/). */
export function imageInspectPath(ref: string): string | undefined {
  return /^[A-Za-z0-9._:@/-]+$/.test(ref) && !ref.includes("..") ? `/images/${ref}/json` : undefined;
}
