/**
 * Registry credentials from the Docker config (`$DOCKER_CONFIG/config.json`), as the docker CLI
 * finds them: `credHelpers[registry]`, else `credsStore`, else `auths`. Helpers run as
 * `docker-credential-<name> get` with the server name on stdin. Secrets stay in memory: never in
 * argv, messages or logs.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { defaultShell, type Shell } from "../shell.ts";
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY, hostOfKey } from "./names.ts";
import { RegistryError } from "./errors.ts";

export interface Credential {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`, or a helper's Username `<token>`). */
  identityToken?: string;
}

export interface CredentialLookup {
  credential?: Credential;
  /** Where the credential came from, or where none was found: for error messages. */
  source: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}
interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Looks credentials up once per registry (concurrent callers share the answer). */
export function credentialStore(dockerConfigDir: string, shell: () => Promise<Shell> = defaultShell) {
  const file = join(dockerConfigDir, "config.json");
  let config: Promise<DockerConfig | undefined> | undefined;
  const cache = new Map<string, Promise<CredentialLookup>>();

  async function lookup(registry: string): Promise<CredentialLookup> {
    const c = await (config ??= readConfig(file));
    if (!c) return { source: `anonymous access; no ${file}` };
    const helper = Object.entries(c.credHelpers ?? {}).find(([k]) => hostOfKey(k) === registry)?.[1];
    if (helper) return fromHelper(await shell(), helper, registry, `credHelpers '${helper}' in ${file}`);
    if (c.credsStore) return fromHelper(await shell(), c.credsStore, registry, `credsStore '${c.credsStore}' in ${file}`);
    const entries = Object.entries(c.auths ?? {});
    const entry = (entries.find(([k]) => k === registry) ?? entries.find(([k]) => hostOfKey(k) === registry))?.[1];
    const credential = entry && fromAuthEntry(entry, file, registry);
    return credential ? { credential, source: `auths in ${file}` } : { source: `anonymous access; no credentials for ${registry} in ${file}` };
  }

  return {
    file,
    get(registry: string): Promise<CredentialLookup> {
      let p = cache.get(registry);
      if (!p) cache.set(registry, (p = lookup(registry)));
      return p;
    },
  };
}

async function readConfig(file: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InputError(`${file}: cannot read the Docker config: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("expected a JSON object");
    return parsed as DockerConfig;
  } catch {
    // The parser's message may quote the file's text, which holds secrets: say where, not what.
    throw new InputError(`${file}: the Docker config is not a valid JSON object; fix or remove it`);
  }
}

function fromAuthEntry(entry: AuthEntry, file: string, registry: string): Credential | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken, ...(entry.username ? { username: entry.username } : {}) };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new InputError(`${file}: auths entry for ${registry}: "auth" must be base64 of "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined; // a placeholder written next to a credsStore
}

/** `docker-credential-<name> get`, server name on stdin, JSON `{ Username, Secret }` on stdout. */
async function fromHelper(shell: Shell, name: string, registry: string, source: string): Promise<CredentialLookup> {
  const program = `docker-credential-${name}`;
  const server = registry === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registry;
  const r = await shell.exec([program, "get"], { input: server });
  if (r.code !== 0) {
    const said = `${r.stdout}\n${r.stderr}`;
    if (/credentials not found/i.test(said)) return { source: `${source}, which has none for ${server}` };
    const reason = r.code === 127 || /command not found|no such file/i.test(r.stderr)
      ? `${program} is not on PATH`
      : `${program} get exited with ${r.code}: ${firstLine(r.stderr) || "no message"}`;
    throw new RegistryError({ kind: "auth", registry }, `credentials for ${registry} (${source}): ${reason}`);
  }
  let out: { Username?: unknown; Secret?: unknown };
  try {
    out = JSON.parse(r.stdout) as typeof out;
  } catch {
    // Never echo the output: it holds the secret.
    throw new RegistryError({ kind: "auth", registry }, `credentials for ${registry} (${source}): ${program} get printed no valid JSON`);
  }
  if (typeof out.Secret !== "string" || !out.Secret) return { source: `${source}, which has none for ${server}` };
  const username = typeof out.Username === "string" ? out.Username : "";
  const credential: Credential = username === "<token>" ? { identityToken: out.Secret } : { username, password: out.Secret };
  return { credential, source };
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]!.slice(0, 200);
}
