/** One bounded GET, for doctor's checks of servers that are not registries (notary, Fulcio, Rekor, a TSA). */
import type { IncomingMessage } from "node:http";
import { rootCertificates } from "node:tls";

/** An answer (any status), or why there was none; `untrusted` when its certificate is not signed by a trusted CA. */
export type Reach = { status: number } | { error: string; untrusted: boolean };

/** GET `url`, trusting the system's roots and the PEMs in `ca`, waiting at most `timeoutMs` in all. */
export async function reach(url: string, options: { ca?: string[]; timeoutMs: number }): Promise<Reach> {
  const { request } = url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise((resolve) => {
    const ca = options.ca?.length ? { ca: [...rootCertificates, ...options.ca] } : {};
    const req = request(url, { method: "GET", timeout: options.timeoutMs, ...ca }, (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${options.timeoutMs / 1000}s`)), options.timeoutMs);
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs / 1000}s`)));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({
      error: e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message,
      untrusted: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT/.test(e.code ?? ""),
    }));
    req.on("close", () => clearTimeout(timer));
    req.end();
  });
}
