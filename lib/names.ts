/**
 * Names: architectures and their OCI platforms, and image references after the OCI distribution
 * reference grammar (github.com/distribution/reference):
 * `[domain[:port]/]path-component(/path-component)*:tag`. Pure: no I/O.
 *
 * pkgkit's images are `org/image:<tag>` (the multi-arch index) and `org/image:<tag>-<arch>` (one
 * architecture). An `ImageRef` holds those parts, checked once; code builds and reads names
 * through it instead of slicing strings.
 */
import { InputError } from "./errors.ts";

/** GOARCH names pkgkit can build for, with their OCI platform. */
export const PLATFORMS = {
  amd64: { os: "linux", architecture: "amd64" },
  arm64: { os: "linux", architecture: "arm64" },
  arm: { os: "linux", architecture: "arm", variant: "v7" },
  "386": { os: "linux", architecture: "386" },
  ppc64le: { os: "linux", architecture: "ppc64le" },
  s390x: { os: "linux", architecture: "s390x" },
  riscv64: { os: "linux", architecture: "riscv64" },
  mips64le: { os: "linux", architecture: "mips64le" },
  loong64: { os: "linux", architecture: "loong64" },
} as const;
/** An architecture by its GOARCH name (`amd64`, `arm64`, `arm`, ...): a key of PLATFORMS. */
export type Arch = keyof typeof PLATFORMS;
// Listed explicitly: Object.keys would put the integer-like "386" first.
export const ARCHES: Arch[] = ["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"];

/** `linux/arm/v7` */
export function platformString(arch: Arch): string {
  const p: { os: string; architecture: string; variant?: string } = PLATFORMS[arch];
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** An OCI platform as a comparable key: `linux/arm64` (arm64's default variant v8 dropped), `unknown` when absent. */
export function platformKey(p: { os: string; architecture: string; variant?: string } | undefined): string {
  if (!p) return "unknown";
  const variant = p.architecture === "arm64" && p.variant === "v8" ? undefined : p.variant;
  return [p.os, p.architecture, variant].filter(Boolean).join("/");
}

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const domainLabel = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `(?:${domainLabel}(?:\\.${domainLabel})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;

/** One or more path components, no registry host (an image name such as `app` or `tools/app`). */
export const pathRe = new RegExp(`^${component}(?:/${component})*$`);
const domainRe = new RegExp(`^${domain}$`);
export const tagRe = /^[\w][\w.-]{0,127}$/;
export const MAX_TAG_LENGTH = 128;

/** Like Docker: the first part of a name is a registry host only if it has a `.` or `:` or is `localhost`. */
export function isHost(first: string): boolean {
  return (first.includes(".") || first.includes(":") || first === "localhost") && domainRe.test(first);
}

/**
 * An org is what stands before the image name: `linuxkit`, `example/team`, or with a registry
 * host, `127.0.0.1:5000/demo` or `registry.example.com`. Returns a reason when invalid.
 */
export function checkOrg(org: string): string | undefined {
  if (org.includes("@")) return CREDENTIALS_IN_ORG;
  const [first = "", ...rest] = org.split("/");
  if (isHost(first)) {
    if (rest.length === 0 || pathRe.test(rest.join("/"))) return undefined;
    return "after the registry host, use lowercase path components (a-z, 0-9, separated by . _ __ or -)";
  }
  if (pathRe.test(org)) return undefined;
  return "use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/";
}

/** Why an org holding "user:password@" is refused; said without the value, which is a secret. */
export const CREDENTIALS_IN_ORG = "an org must not contain credentials (user:password@): give them to `docker login`, which pkgkit reads";

/** `org` for a message: anything up to an "@" (credentials) as ***. */
export const redactOrg = (org: string) => (org.includes("@") ? `***@${org.slice(org.lastIndexOf("@") + 1)}` : org);

export function checkImage(image: string): string | undefined {
  return pathRe.test(image)
    ? undefined
    : "use lowercase letters and digits, separated by . _ __ or - (and / between components)";
}

/** The longest repository name (`org/image`) registries accept. */
export const MAX_NAME_LENGTH = 255;

/**
 * One of a package's images: the index `org/image:<tag>`, or with `arch`, `org/image:<tag>-<arch>`.
 * Made by `imageRef` (checked) or `parseImageRef`; plain data, so it goes into plans as it is.
 */
export interface ImageRef {
  /** What stands before the image name: `linuxkit`, `example/team`, `127.0.0.1:5000/demo`. */
  readonly org: string;
  /** `app`, `tools/app`. */
  readonly image: string;
  /** `org/image`: the repository, registry host included when the org names one. */
  readonly repository: string;
  /** The package's tag, without the arch suffix. */
  readonly tag: string;
  /** Set for one architecture's image, whose registry tag is `<tag>-<arch>`. */
  readonly arch?: Arch;
}

/** The ref of `org/image:<tag>` (and with `arch`, of `<tag>-<arch>`); throws InputError when a part is not valid. */
export function imageRef(org: string, image: string, tag: string, arch?: Arch): ImageRef {
  const problem = checkOrg(org) ?? checkImage(image) ?? (tagRe.test(arch ? `${tag}-${arch}` : tag) ? undefined : `the tag ${JSON.stringify(tag)} is not a valid image tag`);
  if (problem) throw new InputError(`image ${JSON.stringify(`${redactOrg(org)}/${image}:${tag}`)}: ${problem}`);
  return Object.freeze({ org, image, repository: `${org}/${image}`, tag, ...(arch ? { arch } : {}) });
}

/** The same image for one architecture (`arch`), or the index (no `arch`). */
export const withArch = (ref: ImageRef, arch?: Arch): ImageRef =>
  Object.freeze({ org: ref.org, image: ref.image, repository: ref.repository, tag: ref.tag, ...(arch ? { arch } : {}) });

/** The tag in the registry: `<tag>`, or `<tag>-<arch>`. */
export const registryTag = (ref: ImageRef): string => (ref.arch ? `${ref.tag}-${ref.arch}` : ref.tag);

/** `org/image:<tag>[-<arch>]`, as Docker and registries name it. */
export const formatRef = (ref: ImageRef): string => `${ref.repository}:${registryTag(ref)}`;

/**
 * The registry host an org names (`127.0.0.1:5000` of `127.0.0.1:5000/demo`, or of the org
 * `127.0.0.1:5000` itself, since the image name follows it), or undefined: Docker Hub.
 */
export function registryHost(org: string): string | undefined {
  const first = org.split("/")[0]!;
  return isHost(first) ? first : undefined;
}

/**
 * `org/image:tag` (as plans write names) → its parts; `arch`: the ref is that arch's image, whose
 * tag ends in `-<arch>`. The image is the last path component. Throws InputError when not a
 * valid reference.
 */
export function parseImageRef(text: string, arch?: Arch): ImageRef {
  const colon = text.lastIndexOf(":");
  const slash = text.lastIndexOf("/");
  const bad = (why: string) => new InputError(`image ${JSON.stringify(text)}: ${why}; expected org/image:tag, e.g. linuxkit/init:1a2b3c`);
  if (colon < 0 || colon < slash || slash < 0) throw bad("no org/ and :tag");
  let tag = text.slice(colon + 1);
  if (arch) {
    if (!tag.endsWith(`-${arch}`)) throw bad(`its tag does not end in -${arch}`);
    tag = tag.slice(0, -arch.length - 1);
  }
  return imageRef(text.slice(0, slash), text.slice(slash + 1, colon), tag, arch);
}

/**
 * A reference in full, as LinuxKit's `show-tag --canonical` prints it (its util.ReferenceExpand):
 * one path component gets `docker.io/library/`, two get `docker.io/` unless the first is a
 * registry host (has "." or ":", or is localhost); three or more stay as they are.
 */
export function canonicalRef(ref: string): string {
  const parts = ref.split("/");
  if (parts.length === 1) return `docker.io/library/${ref}`;
  if (parts.length === 2 && !/[.:]/.test(parts[0]!) && parts[0] !== "localhost") return `docker.io/${ref}`;
  return ref;
}
