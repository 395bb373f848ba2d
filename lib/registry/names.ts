/**
 * Repository names as in image references (`127.0.0.1:5000/demo/hello`, `linuxkit/hello`,
 * `hello`) → where the distribution API lives and which key the Docker config files them under.
 */
import { InputError } from "../errors.ts";
import { isHost, MAX_NAME_LENGTH, pathRe, redactOrg } from "../names.ts";

export interface RepositoryName {
  /** The registry as users name it: `127.0.0.1:5000`, `docker.io`. */
  registry: string;
  /** host[:port] the API is served from: `registry-1.docker.io` for Docker Hub. */
  host: string;
  /** The repository path within the registry: `demo/hello`, `library/hello`. */
  path: string;
}

export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";
/** Docker Hub's key in config.json `auths` and the server name given to credential helpers. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

/**
 * `[host[:port]/]path` → the registry, the host its API is on and the path there. The grammar is
 * lib/names.ts's: the first component is a registry host when `isHost` says so, as for an org
 * (checkOrg), and a name has at most MAX_NAME_LENGTH characters. Throws InputError when `name`
 * is not a repository name; credentials in it (`user:password@`) are not repeated.
 */
export function parseRepository(name: string): RepositoryName {
  if (name.length > MAX_NAME_LENGTH)
    throw new InputError(`repository ${JSON.stringify(redactOrg(name))}: ${name.length} characters; a repository name has at most ${MAX_NAME_LENGTH}`);
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  let registry = DOCKER_HUB;
  let path = name;
  if (slash >= 0 && isHost(first)) {
    registry = first === "index.docker.io" || first === DOCKER_HUB_API ? DOCKER_HUB : first;
    path = name.slice(slash + 1);
  }
  if (!pathRe.test(path))
    throw new InputError(`repository ${JSON.stringify(redactOrg(name))}: expected [host[:port]/]path with lowercase path components (a-z, 0-9, separated by . _ __ or -)`);
  if (registry === DOCKER_HUB) return { registry, host: DOCKER_HUB_API, path: path.includes("/") ? path : `library/${path}` };
  return { registry, host: registry, path };
}

/** 127.0.0.0/8, ::1 and localhost: plain HTTP is allowed there without `insecure`. */
export function isLoopback(host: string): boolean {
  // [v6]:port, bare v6 (more than one colon), or name:port
  const h = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.split(":").length > 2 ? host : host.replace(/:\d+$/, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Config keys (`https://host/v1/`, `http://host`, `host`) reduced to host[:port], as Docker matches them. */
export function hostOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
  return host === "index.docker.io" || host === DOCKER_HUB_API ? DOCKER_HUB : host;
}
