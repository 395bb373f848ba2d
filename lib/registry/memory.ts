/**
 * createMemoryRegistry(): the Registry interface over maps in memory, for tests of code that talks
 * to a registry (and for users testing their own pipelines) without a server. It checks what a
 * distribution registry checks: digests, manifest references (blobs of an image, manifests of an
 * index), and answers as the HTTP client does (undefined for 404, RegistryError otherwise).
 * Fault hooks (MemoryFault) make it slow, failing, forgetful or rewriting, call by call.
 */
import { readFile } from "node:fs/promises";
import { sha256 } from "./digest.ts";
import { RegistryError } from "./errors.ts";
import { parseRepository } from "./names.ts";
import { INDEX_TYPES, type Blob, type Descriptor, type Manifest, type Registry, type UploadOutcome } from "./types.ts";

export type MemoryMethod = keyof Registry;

/** One call made to a memory registry, as `calls` records it and `fault` is asked about it. */
export interface MemoryCall {
  /** 1-based, in call order. */
  n: number;
  method: MemoryMethod;
  repository: string;
  /** Tag or digest, for manifest and blob calls. */
  reference?: string;
  fault?: MemoryFault;
}

/** What goes wrong with one call (the fields may be combined). */
export interface MemoryFault {
  /** Wait this long before the call takes effect. */
  delayMs?: number;
  /** Before the call takes effect, wait until this settles (for interleavings a test sets up step by step). */
  waitFor?: Promise<unknown>;
  /** Wait this long after the call took effect, before answering. */
  delayAfterMs?: number;
  /** Answer with this HTTP status (a 5xx is a "server" RegistryError); nothing happens. */
  status?: number;
  /** Appended to the status's error message (such as a registry error code). */
  message?: string;
  /** "write": the write reports success but is not stored; "answer": it is stored, but the caller sees a dropped connection. */
  lose?: "write" | "answer";
  /** putManifest: store what this returns for the bytes sent, and answer its digest (a registry that rewrites manifests). */
  rewrite?: (bytes: Uint8Array) => Uint8Array;
}

/** A Registry in memory, with the calls made to it and the fault hook it asks. */
export interface MemoryRegistry extends Registry {
  /** Every call, in order, with the fault applied to it. */
  calls: MemoryCall[];
  /** Decides the fault for each call (none: it behaves). Replace it at any time. */
  fault: (call: MemoryCall) => MemoryFault | undefined;
  /** Removes a tag, or a manifest by digest (and every tag pointing at it), as a registry's delete API does. */
  remove(repository: string, reference: string): void;
}

interface Stored {
  mediaType: string;
  bytes: Uint8Array;
}

interface Repo {
  manifests: Map<string, Stored>;
  tags: Map<string, string>;
  blobs: Map<string, Uint8Array>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isDigest = (reference: string) => reference.startsWith("sha256:");

/** An empty registry in memory; `fault` (replaceable later through `.fault`) is asked before each call. */
export function createMemoryRegistry(fault: MemoryRegistry["fault"] = () => undefined): MemoryRegistry {
  const repos = new Map<string, Repo>();
  const repo = (name: string): Repo => {
    let r = repos.get(name);
    if (!r) repos.set(name, (r = { manifests: new Map(), tags: new Map(), blobs: new Map() }));
    return r;
  };
  const registryOf = (repository: string) => parseRepository(repository).registry;
  const resolve = (r: Repo, reference: string) => (isDigest(reference) ? reference : r.tags.get(reference));

  /** Runs `effect` under the call's fault. Writes give `lost`: what a write that was not stored reports. */
  async function call<T>(method: MemoryMethod, repository: string, reference: string | undefined, effect: (fault?: MemoryFault) => T | Promise<T>, lost?: () => T): Promise<T> {
    const write = lost !== undefined;
    const record: MemoryCall = { n: registry.calls.length + 1, method, repository, ...(reference !== undefined ? { reference } : {}) };
    registry.calls.push(record);
    const f = registry.fault(record);
    if (f) record.fault = f;
    if (f?.delayMs) await sleep(f.delayMs);
    if (f?.waitFor) await f.waitFor.catch(() => undefined);
    const what = `${method} ${repository}${reference ? ` ${reference}` : ""}`;
    if (f?.status) {
      const info = { registry: registryOf(repository), status: f.status };
      const detail = f.message ? ` (${f.message})` : "";
      throw f.status >= 500
        ? new RegistryError({ ...info, kind: "server" }, `registry ${info.registry} failed ${what}: ${f.status}${detail}`)
        : new RegistryError({ ...info, kind: "protocol" }, `registry ${info.registry} answered ${f.status} to ${what}${detail}`);
    }
    const result = lost && f?.lose === "write" ? lost() : await effect(f);
    if (f?.delayAfterMs) await sleep(f.delayAfterMs);
    if (write && f?.lose === "answer")
      throw new RegistryError({ kind: "unreachable", registry: registryOf(repository) }, `cannot reach registry ${registryOf(repository)}: connection reset during ${what}`);
    return result;
  }

  const manifestOf = (repository: string, reference: string): Manifest | undefined => {
    const r = repo(repository);
    const digest = resolve(r, reference);
    const stored = digest ? r.manifests.get(digest) : undefined;
    if (!stored || !digest) return undefined;
    return { mediaType: stored.mediaType, digest, size: stored.bytes.length, bytes: stored.bytes, json: JSON.parse(new TextDecoder().decode(stored.bytes)) };
  };

  const registry: MemoryRegistry = {
    calls: [],
    fault,
    remove(repository, reference) {
      const r = repo(repository);
      if (!isDigest(reference)) return void r.tags.delete(reference);
      r.manifests.delete(reference);
      for (const [t, d] of r.tags) if (d === reference) r.tags.delete(t);
    },
    headManifest: (repository, reference) =>
      call("headManifest", repository, reference, () => {
        const m = manifestOf(repository, reference);
        return m ? ({ mediaType: m.mediaType, digest: m.digest, size: m.size } as Descriptor) : undefined;
      }),
    getManifest: (repository, reference) => call("getManifest", repository, reference, () => manifestOf(repository, reference)),
    putManifest: (repository, reference, sent, mediaType) =>
      call("putManifest", repository, reference, (f) => {
        const bytes = f?.rewrite ? f.rewrite(sent) : sent;
        const digest = sha256(bytes);
        const r = repo(repository);
        if (isDigest(reference) && reference !== digest)
          throw new RegistryError({ kind: "protocol", registry: registryOf(repository), status: 400 }, `registry ${registryOf(repository)} answered 400 to putManifest ${repository}@${reference}: DIGEST_INVALID (the bytes are ${digest})`);
        const json = JSON.parse(new TextDecoder().decode(bytes)) as Manifest["json"];
        const unknown = INDEX_TYPES.includes(mediaType)
          ? (json.manifests ?? []).filter((d) => !r.manifests.has(d.digest)).map((d) => `manifest ${d.digest}`)
          : [json.config, ...(json.layers ?? [])].filter((d) => d && !r.blobs.has(d.digest)).map((d) => `blob ${d!.digest}`);
        if (unknown.length)
          throw new RegistryError({ kind: "protocol", registry: registryOf(repository), status: 400 }, `registry ${registryOf(repository)} answered 400 to putManifest ${repository}:${reference}: MANIFEST_BLOB_UNKNOWN (${unknown.join(", ")})`);
        r.manifests.set(digest, { mediaType, bytes: new Uint8Array(bytes) });
        if (!isDigest(reference)) r.tags.set(reference, digest);
        return digest;
      }, () => sha256(sent)),
    blobExists: (repository, digest) => call("blobExists", repository, digest, () => repo(repository).blobs.has(digest)),
    getBlob: (repository, digest) =>
      call("getBlob", repository, digest, () => {
        const b = repo(repository).blobs.get(digest);
        if (!b) throw new RegistryError({ kind: "not-found", registry: registryOf(repository), status: 404 }, `blob ${repository}@${digest}: not found in ${registryOf(repository)}`);
        return b;
      }),
    uploadBlob: (repository, blob: Blob, options = {}) =>
      call("uploadBlob", repository, blob.digest, async (): Promise<UploadOutcome> => {
        const r = repo(repository);
        if (r.blobs.has(blob.digest)) return "exists";
        const from = (options.mountFrom ?? []).map((m) => repos.get(m)?.blobs.get(blob.digest)).find(Boolean);
        if (from) {
          r.blobs.set(blob.digest, from);
          return "mounted";
        }
        const data = "path" in blob.data ? new Uint8Array(await readFile(blob.data.path)) : blob.data;
        if (sha256(data) !== blob.digest)
          throw new RegistryError({ kind: "protocol", registry: registryOf(repository), status: 400 }, `registry ${registryOf(repository)} answered 400 to uploadBlob ${repository}@${blob.digest}: DIGEST_INVALID`);
        r.blobs.set(blob.digest, data);
        return "uploaded";
      }, () => "uploaded"),
    listTags: (repository) => call("listTags", repository, undefined, () => [...repo(repository).tags.keys()].sort()),
  };
  return registry;
}
