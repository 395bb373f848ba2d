/**
 * A fault-injecting HTTP proxy in front of a real registry, for tests of how pkgkit behaves when
 * the network or the registry misbehaves. It forwards every request unchanged (the Host header
 * included, so the registry's upload Locations point back at the proxy) unless the test's `fault`
 * function returns a fault for it:
 *
 * - `{ status, body? }`: answer that status itself; the registry never sees the request.
 * - `{ reset: "before" }`: close the connection without an answer; the registry never sees it.
 * - `{ reset: "after" }`: forward the request, let the registry act on it, then close the
 *   connection without passing its answer on (a write that happened, though the client saw a reset).
 * - `{ stall: true }`: read the request and never answer (until the proxy stops).
 * - `{ stallBody: true }`: forward, send the registry's status and headers, then never the body.
 * - `{ dropUpload: bytes }`: read at most that many bytes of the request body, then close the connection.
 * - `{ delayMs }` / `{ delayAfterMs }`: wait before forwarding / before answering, then go on as usual;
 *   `{ waitFor }`: forward once that promise has settled (then `delayMs`), to line requests up;
 *   `{ waitAfter }`: forward, let the registry act, and pass its answer on once that promise has settled.
 *
 * Every request is recorded (`requests`) with the fault applied to it and the scheme of its
 * Authorization header, so tests can assert how many attempts a client made and what it did after
 * each fault.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Fault =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { reset: "before" | "after" }
  | { stall: true }
  | { stallBody: true }
  | { dropUpload: number }
  | { delayMs?: number; delayAfterMs?: number; waitFor?: Promise<unknown>; waitAfter?: Promise<unknown> };

export interface ProxiedRequest {
  /** 1-based, in arrival order. */
  n: number;
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  fault?: Fault;
  /** The scheme of the request's Authorization header (`Bearer`, `Basic`), never its credentials. */
  authorization?: string;
  /** The status passed on to the client (absent when the connection was closed or stalled). */
  status?: number;
}

export interface FaultProxy {
  /** `127.0.0.1:<port>`: use it as the registry host. */
  address: string;
  requests: ProxiedRequest[];
  /** Decides the fault for each request (none: forward it as it is). Replace it at any time. */
  fault: (req: ProxiedRequest) => Fault | undefined;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(target: string, fault: FaultProxy["fault"] = () => undefined): Promise<FaultProxy> {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(":")), Number(target.slice(target.lastIndexOf(":") + 1))];
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { address: "", requests: [], fault, stop: async () => {} };

  const forward = (req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, f: Fault | undefined) =>
    new Promise<void>((resolve) => {
      const upstream = httpRequest(
        { host: targetHost, port: targetPort, method: req.method, path: req.url, headers: req.headers },
        async (answer) => {
          if (f && "reset" in f) {
            answer.resume();
            answer.on("end", () => {
              req.socket.destroy();
              resolve();
            });
            return;
          }
          if (f && "delayAfterMs" in f && f.delayAfterMs) await sleep(f.delayAfterMs);
          if (f && "waitAfter" in f && f.waitAfter) await f.waitAfter.catch(() => undefined);
          record.status = answer.statusCode;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          if (f && "stallBody" in f) {
            res.flushHeaders();
            answer.resume();
            resolve();
            return;
          }
          answer.pipe(res);
          answer.on("end", resolve);
        },
      );
      upstream.on("error", () => {
        req.socket.destroy();
        resolve();
      });
      req.pipe(upstream);
    });

  const server = createServer(async (req, res) => {
    const record: ProxiedRequest = { n: proxy.requests.length + 1, method: req.method ?? "", path: req.url ?? "" };
    if (req.headers.authorization) record.authorization = req.headers.authorization.split(" ")[0];
    proxy.requests.push(record);
    const f = proxy.fault(record);
    if (f) record.fault = f;
    if (!f) return forward(req, res, record, undefined);
    if ("status" in f) {
      req.resume();
      record.status = f.status;
      res.writeHead(f.status, { "content-type": "application/json", ...f.headers });
      res.end(f.body ?? JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: `fault proxy: ${f.status}` }] }));
      return;
    }
    if ("reset" in f && f.reset === "before") {
      req.socket.destroy();
      return;
    }
    if ("stall" in f) {
      req.resume();
      return;
    }
    if ("dropUpload" in f) {
      let seen = 0;
      req.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= f.dropUpload) req.socket.destroy();
      });
      req.on("end", () => req.socket.destroy());
      return;
    }
    if ("waitFor" in f && f.waitFor) await f.waitFor.catch(() => undefined);
    if ("delayMs" in f && f.delayMs) await sleep(f.delayMs);
    return forward(req, res, record, f);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

/** A fault function that delays each request by a random 0..`maxMs` ms (seeded, so a failing trial can be replayed). */
export function randomDelays(maxMs: number, seed = 1): FaultProxy["fault"] {
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: enough for spreading delays, and repeatable.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  return () => ({ delayMs: Math.floor(next() * maxMs) });
}
