/**
 * Image names, after the OCI distribution reference grammar
 * (github.com/distribution/reference): `[domain[:port]/]path-component(/path-component)*:tag`.
 */

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const domainLabel = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domain = `(?:${domainLabel}(?:\\.${domainLabel})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;

/** One or more path components, no registry host (an image name such as `app` or `tools/app`). */
export const pathRe = new RegExp(`^${component}(?:/${component})*$`);
const domainRe = new RegExp(`^${domain}$`);
export const tagRe = /^[\w][\w.-]{0,127}$/;
export const MAX_TAG_LENGTH = 128;

/** Like Docker: the first part is a registry host only if it has a `.` or `:` or is `localhost`. */
function isHost(first: string): boolean {
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
