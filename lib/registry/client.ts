/**
 * createRegistry(): the Registry interface over the OCI distribution API. Each call checks the
 * repository name (parsed once per client), authorizes for its scopes and checks digests of what
 * it reads and writes.
 */
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { PkgkitError } from "../errors.ts";
import { createAuth, type AuthTarget } from "./auth.ts";
import { credentialStore } from "./credentials.ts";
import { DIGEST_RE, sha256 } from "./digest.ts";
import { RegistryError } from "./errors.ts";
import { parseRepository, type RepositoryName } from "./names.ts";
import { tagRe } from "../names.ts";
import { BodyTooLarge, createTransport, errorBodyText, statusText, type HttpRequest, type HttpResponse } from "./transport.ts";
import { INDEX_TYPES, MANIFEST_TYPES, type Blob, type Descriptor, type Manifest, type Registry, type RegistryOptions, type UploadOutcome } from "./types.ts";

/** The largest manifest or index pkgkit reads: distribution's own limit for what it accepts. */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;

const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const isReference = (reference: string) => tagRe.test(reference) || digestRe.test(reference);

/** Where credentials and certs.d CAs are looked for: the options', else the environment's, else Docker's defaults (see RegistryOptions). */
export function registryPlaces(options: Pick<RegistryOptions, "dockerConfigDir" | "certsDirs"> = {}, env = process.env): { dockerConfigDir: string; certsDirs: string[] } {
  return {
    dockerConfigDir: options.dockerConfigDir ?? env.DOCKER_CONFIG ?? join(homedir(), ".docker"),
    certsDirs: options.certsDirs ?? (env.PKGKIT_CERTS_DIR ? env.PKGKIT_CERTS_DIR.split(":").filter(Boolean) : ["/etc/docker/certs.d", "/etc/containers/certs.d"]),
  };
}

/**
 * A Registry over the OCI distribution API: credentials as `docker login` stores them (config.json,
 * credential helpers), CAs from certs.d directories and `options.ca`, retries and timeouts bounded
 * by `options`. Failures throw RegistryError naming the registry and what to do.
 */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const { dockerConfigDir, certsDirs } = registryPlaces(options);
  const transport = createTransport({
    certsDirs,
    ca: options.ca ?? [],
    insecure: options.insecure ?? [],
    retry: { attempts: Math.max(1, options.retry?.attempts ?? 4), baseDelayMs: options.retry?.baseDelayMs ?? 200 },
    timeouts: { requestMs: options.timeouts?.requestMs ?? 15_000, totalMs: options.timeouts?.totalMs ?? 60_000 },
    ...(options.log ? { log: options.log } : {}),
  });
  const store = credentialStore(dockerConfigDir);
  const auth = createAuth(transport, (registry) => store.get(registry));

  const target = (repo: RepositoryName, actions: string, extra: string[] = []): AuthTarget => ({
    registry: repo.registry,
    host: repo.host,
    scopes: [`repository:${repo.path}:${actions}`, ...extra],
  });
  const send = (t: AuthTarget, req: HttpRequest) => auth.wrap(t, (r) => transport.request(t.host, r))(req);

  // Every call names its repository: each name is parsed once per client.
  const parsed = new Map<string, RepositoryName>();
  function parse(name: string): RepositoryName {
    let repo = parsed.get(name);
    if (!repo) parsed.set(name, (repo = parseRepository(name)));
    return repo;
  }

  function repository(name: string, reference?: string): RepositoryName {
    const repo = parse(name);
    if (reference !== undefined && !isReference(reference))
      throw new PkgkitError(`${name}: ${JSON.stringify(reference)} is neither a tag nor a digest`);
    return repo;
  }

  function checkDigest(digest: string, what: string) {
    if (!DIGEST_RE.test(digest)) throw new PkgkitError(`${what}: ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
  }

  const registry: Registry = {
    async headManifest(name, reference) {
      const repo = repository(name, reference);
      const what = `manifest ${name}${sep(reference)}${reference}`;
      const res = await send(target(repo, "pull"), { method: "HEAD", url: `/v2/${repo.path}/manifests/${reference}`, headers: { accept: MANIFEST_TYPES.join(", ") } });
      if (res.status === 404) return discard(res, undefined);
      if (res.status !== 200) return fail(repo, res, `HEAD ${what}`);
      await res.discard();
      const digest = res.header("docker-content-digest");
      const size = Number(res.header("content-length"));
      const mediaType = mediaTypeOf(res.header("content-type"));
      if (!digest || !Number.isFinite(size) || !mediaType) {
        // Not every registry sends these on HEAD: read the manifest instead.
        const m = await registry.getManifest(name, reference);
        return m && { mediaType: m.mediaType, digest: m.digest, size: m.size };
      }
      if (reference.includes(":") && DIGEST_RE.test(digest) && digest !== reference)
        throw protocolError(repo, `${what}: the registry answered with ${digest}`);
      return { mediaType, digest, size };
    },

    async getManifest(name, reference) {
      const repo = repository(name, reference);
      const what = `manifest ${name}${sep(reference)}${reference}`;
      let res: HttpResponse;
      try {
        res = await send(target(repo, "pull"), { method: "GET", url: `/v2/${repo.path}/manifests/${reference}`, headers: { accept: MANIFEST_TYPES.join(", ") }, maxBody: MANIFEST_LIMIT });
      } catch (e) {
        if (!(e instanceof BodyTooLarge)) throw e;
        throw protocolError(repo, `GET ${what}: the manifest is larger than ${MANIFEST_LIMIT} bytes${e.size !== undefined ? ` (${e.size})` : ""}, the most pkgkit reads of a manifest or index (4 MiB, the registry's own limit)`);
      }
      if (res.status === 404) return discard(res, undefined);
      if (res.status !== 200) return fail(repo, res, `GET ${what}`);
      const bytes = await res.bytes();
      const digest = sha256(bytes);
      const said = res.header("docker-content-digest");
      if (said?.startsWith("sha256:") && said !== digest) throw protocolError(repo, `${what}: the registry says ${said}, its bytes hash to ${digest}`);
      if (reference.startsWith("sha256:") && reference !== digest) throw protocolError(repo, `${what}: the bytes the registry sent hash to ${digest}`);
      const json = parseJson<Manifest["json"]>(repo, bytes, what);
      if (!isObject(json)) throw protocolError(repo, `${what}: the registry sent JSON that is not a manifest (expected an object)`);
      const mediaType = (typeof json.mediaType === "string" && json.mediaType) || mediaTypeOf(res.header("content-type")) || "";
      if (INDEX_TYPES.includes(mediaType)) checkIndex(repo, what, json);
      return { mediaType, digest, size: bytes.length, bytes, json };
    },

    async putManifest(name, reference, bytes, mediaType) {
      const repo = repository(name, reference);
      const digest = sha256(bytes);
      const what = `manifest ${name}${sep(reference)}${reference}`;
      if (reference.startsWith("sha256:") && reference !== digest) throw new PkgkitError(`PUT ${what}: the manifest's digest is ${digest}`);
      const res = await send(target(repo, "pull,push"), {
        method: "PUT",
        url: `/v2/${repo.path}/manifests/${reference}`,
        headers: { "content-type": mediaType },
        body: bytes,
      });
      if (res.status !== 201 && res.status !== 200 && res.status !== 202) return fail(repo, res, `PUT ${what}`);
      await res.discard();
      const said = res.header("docker-content-digest");
      if (said?.startsWith("sha256:") && said !== digest) throw protocolError(repo, `PUT ${what}: the registry stored it as ${said}, its bytes hash to ${digest}`);
      return digest;
    },

    async blobExists(name, digest) {
      const repo = repository(name);
      checkDigest(digest, name);
      const res = await send(target(repo, "pull"), { method: "HEAD", url: `/v2/${repo.path}/blobs/${digest}` });
      await res.discard();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      return fail(repo, res, `HEAD blob ${name}@${digest}`);
    },

    async getBlob(name, digest) {
      const repo = repository(name);
      checkDigest(digest, name);
      const res = await send(target(repo, "pull"), { method: "GET", url: `/v2/${repo.path}/blobs/${digest}` });
      if (res.status !== 200) return fail(repo, res, `GET blob ${name}@${digest}`);
      const bytes = await res.bytes();
      if (sha256(bytes) !== digest) throw protocolError(repo, `GET blob ${name}@${digest}: the bytes the registry sent hash to ${sha256(bytes)}`);
      return bytes;
    },

    async uploadBlob(name, blob, uploadOptions = {}): Promise<UploadOutcome> {
      const repo = repository(name);
      checkDigest(blob.digest, name);
      await checkSize(blob, name);
      if (await registry.blobExists(name, blob.digest)) return "exists";

      // A session a refused mount opened: the spec says to upload into it.
      let session: string | undefined;
      for (const from of uploadOptions.mountFrom ?? []) {
        const source = parse(from);
        if (source.host !== repo.host || source.path === repo.path) continue;
        const t = target(repo, "pull,push", [`repository:${source.path}:pull`]);
        const query = new URLSearchParams({ mount: blob.digest, from: source.path });
        let res: HttpResponse;
        try {
          res = await send(t, { method: "POST", url: `/v2/${repo.path}/blobs/uploads/?${query}`, body: new Uint8Array() });
        } catch (e) {
          // No pull access on the source: not a reason to fail, an upload will do.
          if (e instanceof RegistryError && (e.kind === "auth" || e.kind === "forbidden")) continue;
          throw e;
        }
        await res.discard();
        if (res.status === 201) return "mounted";
        const location = res.header("location");
        if (res.status === 202 && location) {
          session = location;
          break;
        }
      }

      const t = target(repo, "pull,push");
      const what = `upload blob ${name}@${blob.digest}`;
      return transport.retrying(repo.host, what, async (raw, base) => {
        const sendAuthed = auth.wrap(t, raw);
        let location = session;
        session = undefined; // a retry starts a new session
        if (!location) {
          const res = await sendAuthed({ method: "POST", url: `/v2/${repo.path}/blobs/uploads/`, body: new Uint8Array() });
          location = res.header("location");
          if (res.status !== 202 || !location) return fail(repo, res, `POST ${what}`);
          await res.discard();
        }
        const url = new URL(location, base);
        url.searchParams.set("digest", blob.digest);
        const res = await sendAuthed({
          method: "PUT",
          url: url.toString(),
          headers: { "content-type": "application/octet-stream", "content-length": String(blob.size) },
          body: blob.data instanceof Uint8Array ? blob.data : { path: blob.data.path, size: blob.size },
        });
        // A session that is gone after a PUT that landed though its answer was lost (a client
        // that sent it again on its own, fetch does): the blob is there.
        if (res.status === 404 && (await sendAuthed({ method: "HEAD", url: `/v2/${repo.path}/blobs/${blob.digest}` }).then(async (head) => (await head.discard(), head.status === 200))))
          return discard(res, "uploaded" as const);
        if (res.status !== 201) return fail(repo, res, `PUT ${what}`);
        await res.discard();
        return "uploaded" as const;
      });
    },

    async listTags(name, listOptions = {}) {
      const repo = repository(name);
      const t = target(repo, "pull");
      const tags: string[] = [];
      const seen = new Set<string>();
      let url: string | undefined = `/v2/${repo.path}/tags/list${listOptions.pageSize ? `?n=${listOptions.pageSize}` : ""}`;
      while (url && !seen.has(url)) {
        seen.add(url);
        const res = await send(t, { method: "GET", url });
        if (res.status === 404) return discard(res, []);
        if (res.status !== 200) return fail(repo, res, `GET tags of ${name}`);
        const body = parseJson<{ tags?: string[] | null }>(repo, await res.bytes(), `GET tags of ${name}`);
        tags.push(...(body.tags ?? []));
        url = nextLink(res.header("link"));
      }
      return tags;
    },
  };
  return registry;
}

const sep = (reference: string) => (reference.includes(":") ? "@" : ":");


async function checkSize(blob: Blob, name: string) {
  const size = blob.data instanceof Uint8Array ? blob.data.length : (await stat(blob.data.path)).size;
  if (size !== blob.size) throw new PkgkitError(`upload blob ${name}@${blob.digest}: the descriptor says ${blob.size} bytes, the data has ${size}`);
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]!.trim() || undefined;
}

/** `Link: </v2/x/tags/list?last=b&n=2>; rel="next"` → the path and query. */
function nextLink(link: string | undefined): string | undefined {
  const m = link && /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  if (!m) return undefined;
  const url = new URL(m[1]!, "http://registry.invalid");
  return url.pathname + url.search;
}

async function discard<T>(res: HttpResponse, value: T): Promise<T> {
  await res.discard();
  return value;
}

function parseJson<T>(repo: RepositoryName, bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw protocolError(repo, `${what}: the registry sent no valid JSON`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const anyDigestRe = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** An index another writer (or a broken registry) made is read as data: its entries must be descriptors. */
function checkIndex(repo: RepositoryName, what: string, json: Record<string, unknown>) {
  const bad = (why: string) => protocolError(repo, `${what}: not a valid index: ${why}`);
  const { manifests } = json;
  if (!Array.isArray(manifests)) throw bad(`"manifests" is ${manifests === undefined ? "missing" : `${typeof manifests === "object" ? (manifests === null ? "null" : "an object") : `a ${typeof manifests}`}`}; expected an array of descriptors`);
  manifests.forEach((d: unknown, i) => {
    if (!isObject(d) || typeof d.mediaType !== "string" || typeof d.digest !== "string" || !anyDigestRe.test(d.digest) || typeof d.size !== "number")
      throw bad(`manifests[${i}] is not a descriptor (expected {mediaType, digest, size})`);
    const p = d.platform;
    if (p !== undefined && (!isObject(p) || typeof p.os !== "string" || typeof p.architecture !== "string"))
      throw bad(`manifests[${i}].platform is not a platform (expected {os, architecture})`);
  });
}

function protocolError(repo: RepositoryName, message: string) {
  return new RegistryError({ kind: "protocol", registry: repo.registry }, `${repo.registry}: ${message}`);
}

/** An unexpected answer → a RegistryError with what the registry said (its error codes and messages). */
async function fail(repo: RepositoryName, res: HttpResponse, what: string): Promise<never> {
  const said = errorBodyText(await res.bytes(64 * 1024).catch(() => new Uint8Array()));
  const detail = said ? ` (${said})` : "";
  const info = { registry: repo.registry, status: res.status };
  if (res.status === 403) throw new RegistryError({ ...info, kind: "forbidden" }, `denied by ${repo.registry}: ${what}${detail}`);
  if (res.status === 404) throw new RegistryError({ ...info, kind: "not-found" }, `${what}: not found in ${repo.registry}${detail}`);
  if (res.status >= 500) throw new RegistryError({ ...info, kind: "server" }, `registry ${repo.registry} failed ${what}: ${statusText(res.status)}${detail}`);
  throw new RegistryError({ ...info, kind: "protocol" }, `registry ${repo.registry} answered ${statusText(res.status)} to ${what}${detail}`);
}
