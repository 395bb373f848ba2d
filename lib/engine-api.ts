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

/** A GET to the engine at `socket`: its status and JSON body, or undefined when the engine did not answer. */
export async function engineGet(socket: string, path: string): Promise<{ status: number; body: unknown } | undefined> {
  const { request } = await import("node:http");
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path, method: "GET", headers: { host: "docker" }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", () => resolve(undefined));
      res.on("end", () => {
        if (!res.headers["api-version"]) return resolve(undefined);
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/** The path of an image inspect, or undefined for a ref that would not survive as a URL path unescaped (or whose `..` would climb out of /images/). */
export function imageInspectPath(ref: string): string | undefined {
  return /^[A-Za-z0-9._:@/-]+$/.test(ref) && !ref.includes("..") ? `/images/${ref}/json` : undefined;
}
