/**
 * What `pkgkit doctor` learns about one registry, the way a push would reach it: the `GET /v2/`
 * ping (scheme, TLS trust, the auth challenge), where credentials come from, and whether they open
 * it. One attempt per request, bounded by `timeoutMs`: a stalled registry cannot hold doctor up.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createAuth } from "./auth.ts";
import { registryPlaces } from "./client.ts";
import { credentialStore } from "./credentials.ts";
import { RegistryError } from "./errors.ts";
import { parseRepository } from "./names.ts";
import { createTransport } from "./transport.ts";
import type { RegistryOptions } from "./types.ts";

/** What one registry looks like from here. Secrets never appear in it. */
export interface RegistryProbe {
  /** As users name it (`127.0.0.1:5000`, `docker.io`). */
  registry: string;
  /** Where its API is served. */
  host: string;
  /** The certs.d directories looked in for its CA. */
  certsDirs: string[];
  /** CA files trusted for it: `--registry-ca` ones, then `<certs.d>/<host>/*.crt`; none: the system's roots. */
  caFiles: string[];
  /** Listed as insecure (plain HTTP allowed, certificates not checked). */
  insecure: boolean;
  /** `https://host` or `http://host` once it answered; absent when it did not (see `error`). */
  base?: string;
  /** The scheme of its auth challenge, when `GET /v2/` asked for credentials. */
  challenge?: string;
  /** Where credentials for it were looked up, and what was found there (config.json, a helper). */
  credentials: { found: boolean; source: string } | { error: string };
  /** With a challenge: whether the credentials open `GET /v2/` (an error message when not). */
  login?: { ok: true } | { ok: false; error: RegistryError };
  /** Why the ping failed: `kind` "tls" (trust), "unreachable", or another. */
  error?: RegistryError;
}

/** Probes `registry` (a registry name, e.g. an org's first component) with `options` as a push would use them. */
export async function probeRegistry(registry: string, options: Pick<RegistryOptions, "ca" | "insecure" | "dockerConfigDir" | "certsDirs"> & { timeoutMs: number }): Promise<RegistryProbe> {
  const { host } = parseRepository(`${registry}/probe`);
  const { dockerConfigDir, certsDirs } = registryPlaces(options);
  const insecure = options.insecure ?? [];
  const caFiles = [...(options.ca ?? [])];
  for (const dir of certsDirs)
    caFiles.push(...(await readdir(join(dir, host)).catch(() => [] as string[])).filter((n) => n.endsWith(".crt")).sort().map((n) => join(dir, host, n)));
  const transport = createTransport({
    certsDirs, ca: options.ca ?? [], insecure,
    retry: { attempts: 1, baseDelayMs: 0 },
    timeouts: { requestMs: options.timeoutMs, totalMs: options.timeoutMs },
  });
  const store = credentialStore(dockerConfigDir);
  const credentials = await store.get(registry).then(
    (c) => ({ found: c.credential !== undefined, source: c.source }),
    (e: Error) => ({ error: e.message }),
  );
  const probe: RegistryProbe = { registry, host, certsDirs, caFiles, insecure: insecure.includes(host), credentials };
  try {
    const info = await transport.hostInfo(host);
    probe.base = info.base;
    if (info.challenge) probe.challenge = info.challenge.trim().split(/\s/)[0]!.toLowerCase();
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    probe.error = e;
    return probe;
  }
  if (probe.challenge) {
    const auth = createAuth(transport, (r) => store.get(r));
    try {
      const res = await auth.wrap({ registry, host, scopes: [] }, (req) => transport.request(host, req))({ method: "GET", url: "/v2/" });
      await res.discard();
      probe.login = res.status === 200 ? { ok: true } : { ok: false, error: new RegistryError({ kind: "auth", registry, status: res.status }, `registry ${registry} answered ${res.status} to GET /v2/ with the credentials`) };
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      probe.login = { ok: false, error: e };
    }
  }
  return probe;
}
