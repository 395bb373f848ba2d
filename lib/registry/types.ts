/**
 * The Registry interface: an OCI distribution client (manifests, blobs, tags), written against
 * the distribution spec. Repositories are named as in image references, registry host included:
 * `127.0.0.1:5000/demo/hello`; a name without a host (`linuxkit/hello`) is Docker Hub's.
 */

/** The manifest, config and layer media types pkgkit writes and reads (Docker v2 schema 2 and OCI). */
export const MediaTypes = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** Every manifest media type pkgkit reads (sent as Accept). */
export const MANIFEST_TYPES: string[] = [
  MediaTypes.ociIndex, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.dockerManifest,
];
export const INDEX_TYPES: string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];

/** The platform of an index entry, as OCI writes it: `{ os: "linux", architecture: "arm", variant: "v7" }`. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What points at a manifest or blob: its media type, digest and size (and, in an index, its platform). */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 hex>` */
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A manifest as the registry returned it: the exact bytes (the digest is over them) and parsed. */
export interface Manifest {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
  json: { schemaVersion?: number; mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[]; [k: string]: unknown };
}

/** A blob to upload: in memory, or a file on disk (streamed). */
export interface Blob {
  digest: string;
  size: number;
  data: Uint8Array | { path: string };
}

/** How `uploadBlob` made a blob present: it was there, it was mounted from another repository, or it was uploaded. */
export type UploadOutcome = "exists" | "mounted" | "uploaded";

/** An OCI distribution client. Implementations: `createRegistry()` (HTTP) and `createMemoryRegistry()` (in memory). */
export interface Registry {
  /** The manifest's descriptor, or undefined when the registry has none (404). */
  headManifest(repository: string, reference: string): Promise<Descriptor | undefined>;
  /** The manifest, or undefined when the registry has none (404). */
  getManifest(repository: string, reference: string): Promise<Manifest | undefined>;
  /** Put the exact bytes under a tag or digest; returns the digest the registry reports. */
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string>;
  blobExists(repository: string, digest: string): Promise<boolean>;
  getBlob(repository: string, digest: string): Promise<Uint8Array>;
  /**
   * Make the blob present in `repository`: nothing when it is there, a cross-repository mount
   * from one of `mountFrom` (same registry) when the registry allows it, else an upload.
   */
  uploadBlob(repository: string, blob: Blob, options?: { mountFrom?: string[] }): Promise<UploadOutcome>;
  /** Every tag, following `Link` pagination; `pageSize` asks for that many per page. */
  listTags(repository: string, options?: { pageSize?: number }): Promise<string[]>;
}

/** How `createRegistry()` authenticates, trusts, retries and waits; every field has a default. */
export interface RegistryOptions {
  /** Holds config.json (`auths`, `credsStore`, `credHelpers`). Default: $DOCKER_CONFIG, else ~/.docker. */
  dockerConfigDir?: string;
  /**
   * Directories in Docker's certs.d layout: `<dir>/<host:port>/*.crt` are CAs for that host.
   * Default: $PKGKIT_CERTS_DIR (a `:`-separated list) if set, else /etc/docker/certs.d and /etc/containers/certs.d.
   */
  certsDirs?: string[];
  /** CA PEM files trusted for every registry (the CLI's `--registry-ca`). */
  ca?: string[];
  /** host[:port]s that may speak plain HTTP and whose certificates are not checked (`--insecure-registry`). */
  insecure?: string[];
  /** Retries on 5xx, 429 and refused/reset connections: attempts in all (default 4), first delay (default 200 ms, doubling, with jitter). */
  retry?: { attempts?: number; baseDelayMs?: number };
  /**
   * How long to wait. `requestMs` (default 15 s): one attempt's wait for a connection, for the
   * answer once the request is sent, and between two chunks of a body (idle, so a large upload
   * goes on while bytes flow). `totalMs` (default 60 s): no retry of an operation starts after it,
   * and waits end by then.
   */
  timeouts?: { requestMs?: number; totalMs?: number };
  /** Retry lines (`retrying PUT <url> (2/4) after 503 Service Unavailable; waiting 0.2s`). Never hold secrets. */
  log?: (line: string) => void;
}

export { RegistryError, type RegistryErrorInfo, type RegistryErrorKind } from "./errors.ts";
