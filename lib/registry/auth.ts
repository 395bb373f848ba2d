/**
 * Registry auth, reactive as the distribution spec describes it: requests go out with what the
 * host asked for last time (nothing at first); a 401 names the scheme. Basic: send the
 * credentials. Bearer: get a token from the realm for the operation's scopes (with basic
 * credentials, or an identity token as an OAuth2 refresh token), cache it per scope set until it
 * expires, and send it.
 */
import { RegistryError } from "./errors.ts";
import type { Credential, CredentialLookup } from "./credentials.ts";
import type { HttpRequest, HttpResponse, Transport } from "./transport.ts";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"` → the challenges, scheme in lowercase. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /\s*,?\s*([!#$%&'*+.^_`|~\w-]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*))?/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) && m[0].trim() !== "") {
    const [, token, value] = m;
    if (value === undefined) out.push({ scheme: token!.toLowerCase(), params: {} });
    else if (out.length) out[out.length - 1]!.params[token!.toLowerCase()] = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, "$1") : value;
  }
  return out;
}

/** The challenge we can answer: Bearer before Basic. */
function pick(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const all = parseChallenges(header);
  return all.find((c) => c.scheme === "bearer" && c.params.realm) ?? all.find((c) => c.scheme === "basic");
}

/** What a challenge says about one request only: the scopes it lacked, why it was refused. */
const REQUEST_PARAMS = new Set(["scope", "error", "error_description", "error_uri"]);

/** The challenge as the host's, for later requests: without what it said about this one. */
function forHost(challenge: Challenge): Challenge {
  return { scheme: challenge.scheme, params: Object.fromEntries(Object.entries(challenge.params).filter(([k]) => !REQUEST_PARAMS.has(k))) };
}

/**
 * One scope per resource, its actions merged and sorted, the scopes sorted: the token cache's key
 * and what is asked. distribution names a challenge's actions in no fixed order (`push,pull`).
 */
export function mergeScopes(scopes: string[]): string[] {
  const actions = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const at = scope.lastIndexOf(":");
    if (at <= 0) continue;
    const resource = scope.slice(0, at);
    const set = actions.get(resource) ?? new Set<string>();
    for (const a of scope.slice(at + 1).split(",")) if (a) set.add(a);
    actions.set(resource, set);
  }
  return [...actions].map(([resource, set]) => `${resource}:${[...set].sort().join(",")}`).sort();
}

/** Which registry a request is for, and the scopes it needs (`repository:<path>:pull,push`). */
export interface AuthTarget {
  registry: string;
  host: string;
  scopes: string[];
}

interface Token {
  header: string;
  expiresAt: number;
}

export function createAuth(transport: Transport, credentials: (registry: string) => Promise<CredentialLookup>) {
  const challenges = new Map<string, Challenge>();
  const tokens = new Map<string, Promise<Token>>();

  const authError = (target: AuthTarget, source: string, status = 401, why = "") =>
    new RegistryError({ kind: "auth", registry: target.registry, status }, `wrong or missing credentials for ${target.registry} (tried ${source})${why}`);

  async function authorization(target: AuthTarget, challenge: Challenge): Promise<string | undefined> {
    const { credential } = await credentials(target.registry);
    if (challenge.scheme === "basic") return credential?.username !== undefined && credential.password !== undefined ? basic(credential) : undefined;
    const scopes = mergeScopes([...target.scopes, ...(challenge.params.scope ? challenge.params.scope.split(" ") : [])]);
    const key = `${challenge.params.realm}\0${challenge.params.service ?? ""}\0${scopes.join(" ")}`;
    let p = tokens.get(key);
    if (p) {
      const t = await p.catch(() => undefined);
      if (t && t.expiresAt > Date.now()) return t.header;
      if (tokens.get(key) === p) tokens.delete(key);
      p = tokens.get(key);
    }
    if (!p) {
      tokens.set(key, (p = fetchToken(target, challenge, scopes)));
      p.catch(() => tokens.delete(key));
    }
    return (await p).header;
  }

  async function fetchToken(target: AuthTarget, challenge: Challenge, scopes: string[]): Promise<Token> {
    const { credential, source } = await credentials(target.registry);
    const realm = challenge.params.realm!;
    const service = challenge.params.service;
    let res: HttpResponse;
    if (credential?.identityToken) {
      const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: credential.identityToken, client_id: "pkgkit" });
      if (service) form.set("service", service);
      if (scopes.length) form.set("scope", scopes.join(" "));
      res = await transport.requestUrl({ method: "POST", url: realm, headers: { "content-type": "application/x-www-form-urlencoded" }, body: new TextEncoder().encode(form.toString()) });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set("service", service);
      for (const s of scopes) url.searchParams.append("scope", s);
      const headers: Record<string, string> = {};
      if (credential?.username !== undefined && credential.password !== undefined) {
        url.searchParams.set("account", credential.username);
        headers.authorization = basic(credential);
      }
      res = await transport.requestUrl({ method: "GET", url: url.toString(), headers });
    }
    if (res.status === 401 || res.status === 403) {
      await res.discard();
      throw authError(target, source, res.status);
    }
    const body = await res.bytes();
    if (res.status !== 200)
      throw new RegistryError({ kind: "auth", registry: target.registry, status: res.status }, `token server ${new URL(realm).origin} answered ${res.status} for ${target.registry}`);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(new TextDecoder().decode(body)) as typeof json;
    } catch {
      throw new RegistryError({ kind: "protocol", registry: target.registry }, `token server ${new URL(realm).origin} sent no JSON for ${target.registry}`);
    }
    const token = typeof json.token === "string" && json.token ? json.token : typeof json.access_token === "string" ? json.access_token : "";
    if (!token) throw new RegistryError({ kind: "protocol", registry: target.registry }, `token server ${new URL(realm).origin} sent no token for ${target.registry}`);
    // The spec's default lifetime is 60 s; renew a little early.
    const seconds = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : 60;
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(seconds - 10, seconds / 2) * 1000 };
  }

  return {
    /**
     * `send` with authorization: sent with what the host asked for before; on 401, answered once
     * more with the new challenge; a second 401 is an auth error naming where credentials came from.
     */
    wrap(target: AuthTarget, send: (req: HttpRequest) => Promise<HttpResponse>) {
      return async (req: HttpRequest): Promise<HttpResponse> => {
        // Only to the registry itself (an upload Location may point elsewhere).
        const ours = !/^https?:\/\//.test(req.url) || new URL(req.url).host === target.host;
        if (!ours) return send(req);
        const known = challenges.get(target.host) ?? pick((await transport.hostInfo(target.host)).challenge);
        const first = known ? await authorization(target, known) : undefined;
        const res = await send(withAuth(req, first));
        if (res.status !== 401) return res;
        const challenge = pick(res.header("www-authenticate"));
        await res.discard();
        const { source } = await credentials(target.registry);
        if (!challenge) throw authError(target, source);
        challenges.set(target.host, forHost(challenge));
        if (first?.startsWith("Bearer ")) for (const [k, t] of tokens) if ((await t.catch(() => undefined))?.header === first) tokens.delete(k);
        const again = await authorization(target, challenge);
        if (again === undefined || again === first) throw authError(target, source);
        const retried = await send(withAuth(req, again));
        if (retried.status !== 401) return retried;
        await retried.discard();
        throw authError(target, source, 401, again.startsWith("Bearer ") ? tokenRefused(challenge, pick(retried.header("www-authenticate"))) : "");
      };
    },
  };
}

/**
 * Why a registry refused a token it was just given, from its challenge's `error`, and what to do.
 * Only distribution's fixed words and the scope's grammar are shown: the rest is the registry's text.
 */
function tokenRefused(asked: Challenge, refused: Challenge | undefined): string {
  const origin = new URL(asked.params.realm!).origin;
  const scope = refused?.params.scope;
  if (refused?.params.error === "insufficient_scope" && scope && /^[\w.:/, -]+$/.test(scope))
    return `; the token from ${origin} does not grant what the registry asks for (${scope}): those credentials lack that access`;
  if (refused?.params.error === "invalid_token")
    return `; the registry does not accept the tokens ${origin} issues (invalid_token): check that it trusts that token server and that the clocks agree`;
  return "";
}

function basic(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

function withAuth(req: HttpRequest, authorization: string | undefined): HttpRequest {
  return authorization ? { ...req, headers: { ...req.headers, authorization } } : req;
}
