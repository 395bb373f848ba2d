// The registry client's 401-then-retry path against a real distribution registry with token auth
// (the project's test token server, steered to issue expired tokens or tokens short of a scope),
// through a fault proxy that only forwards and counts: what the registry answered each request.
// The `GET /v2/` probe learns the challenge first, so without these a retry almost never runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createRegistry, type Blob, type Registry } from "../../lib/registry/index.ts";
import { registryFailure } from "../helpers.ts";
import { startFaultProxy } from "../fault-proxy.ts";
import { services, startRegistry } from "../services.ts";

const svc = services();
const RUN = `a${process.pid}${Date.now().toString(36)}`;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-auth-test-"));
/** Every retry line and error message of the suite: checked for secrets at the end. */
const said: string[] = [];

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blobOf = (data: Uint8Array): Blob & { data: Uint8Array } => ({ digest: sha(data), size: data.length, data });

const registry = await startRegistry({ auth: "token" });
const ts = registry.tokenServer!;
const proxy = await startFaultProxy(registry.address);
const HOST = proxy.address;
const CONFIG = join(TMP, "config.json");
writeFileSync(CONFIG, JSON.stringify({ auths: { [HOST]: { auth: Buffer.from(`${svc.username}:${svc.password}`).toString("base64") } } }));

/** A client of its own (an empty token cache) for the registry behind the proxy. */
const client = (): Registry => createRegistry({ dockerConfigDir: TMP, retry: { attempts: 2, baseDelayMs: 10 }, log: (l) => said.push(l) });
const failure = (p: Promise<unknown>) => registryFailure(p, said);

/** What the registry and the token server saw from here on: `since()` to read it. */
function mark() {
  const [p, t] = [proxy.requests.length, ts.requests.length];
  return () => ({
    // The probe's 401 is how the client learns the challenge: not a retry.
    registry: proxy.requests.slice(p).filter((q) => q.path !== "/v2/").map((q) => `${q.method} ${q.path.replace(/\?.*$/, "")} ${q.authorization ?? "-"} ${q.status}`),
    tokens: ts.requests.slice(t),
  });
}
const repo = (name: string) => `${HOST}/${RUN}/${name}`;
const scope = (name: string, actions: string) => `repository:${RUN}/${name}:${actions}`;

test("a token the registry rejects as expired: one new token, one retry carrying it, then the request succeeds; the new token is cached", async () => {
  const r = client();
  const b = blobOf(randomBytes(32));
  const since = mark();
  ts.expireNext(1);
  assert.is(await r.blobExists(repo("expired"), b.digest), false);
  const head = `HEAD /v2/${RUN}/expired/blobs/${b.digest}`;
  assert.equal(since().registry, [`${head} Bearer 401`, `${head} Bearer 404`]);
  assert.equal(since().tokens.map((q) => [q.scopes.join(" "), q.granted, q.expired ?? false]), [
    [scope("expired", "pull"), true, true],
    [scope("expired", "pull"), true, false],
  ]);
  // The expired token left the cache: the next request sends the new one, first time.
  assert.is(await r.blobExists(repo("expired"), b.digest), false);
  assert.equal(since().registry, [`${head} Bearer 401`, `${head} Bearer 404`, `${head} Bearer 404`]);
  assert.is(since().tokens.length, 2);
});

test("a token revoked between two requests (the token server's key rotated, the registry restarted trusting only the new one): one new token, one retry, then it succeeds", async () => {
  const r = client();
  const b = blobOf(randomBytes(24));
  const head = `HEAD /v2/${RUN}/revoked/blobs/${b.digest}`;
  assert.is(await r.blobExists(repo("revoked"), b.digest), false);
  const since = mark();
  ts.rotateKey();
  await registry.restart();
  assert.is(await r.blobExists(repo("revoked"), b.digest), false);
  assert.equal(since().registry, [`${head} Bearer 401`, `${head} Bearer 404`]);
  assert.equal(since().tokens.map((q) => [q.scopes.join(" "), q.granted]), [[scope("revoked", "pull"), true]]);
});

test("an insufficient_scope challenge on a cross-repository mount: a token with both scopes, one retry, mounted; later requests ask for their own scopes only", async () => {
  const r = client();
  const b = blobOf(randomBytes(48));
  assert.is(await r.uploadBlob(repo("src"), b), "uploaded");
  const since = mark();
  // The target's token leaves out pull on the source: the registry asks for it in its challenge.
  ts.withholdNext(scope("src", "pull"), 1);
  assert.is(await r.uploadBlob(repo("dst"), b, { mountFrom: [repo("src")] }), "mounted");
  const mount = `POST /v2/${RUN}/dst/blobs/uploads/`;
  assert.equal(since().registry.filter((l) => l.startsWith("POST")), [`${mount} Bearer 401`, `${mount} Bearer 201`]);
  // The retry asks for the same scopes, however the registry's challenge ordered their actions.
  const both = [scope("dst", "pull,push"), scope("src", "pull")];
  const mountTokens = since().tokens.filter((q) => q.scopes.includes(scope("src", "pull")));
  assert.equal(mountTokens.map((q) => [q.scopes, q.withheld ?? []]), [[both, [scope("src", "pull")]], [both, []]]);
  assert.is(await r.blobExists(repo("dst"), b.digest), true);
  // The challenge named the mount's scopes: they are not asked for again by unrelated requests.
  const later = mark();
  assert.is(await r.blobExists(repo("other"), b.digest), false);
  assert.equal(later().tokens.map((q) => q.scopes), [[scope("other", "pull")]]);
});

test("no pull on the mount's source, whatever is asked: the mount is refused after one retry and the blob is uploaded instead", async () => {
  const r = client();
  const b = blobOf(randomBytes(40));
  assert.is(await r.uploadBlob(repo("src2"), b), "uploaded");
  const since = mark();
  ts.withholdNext(scope("src2", "pull"), Infinity);
  try {
    assert.is(await r.uploadBlob(repo("dst2"), b, { mountFrom: [repo("src2")] }), "uploaded");
  } finally {
    ts.withholdNext(scope("src2", "pull"), 0);
  }
  const mount = `POST /v2/${RUN}/dst2/blobs/uploads/`;
  const posts = since().registry.filter((l) => l.startsWith("POST"));
  assert.equal(posts, [`${mount} Bearer 401`, `${mount} Bearer 401`, `${mount} Bearer 202`]);
  assert.is(await r.blobExists(repo("dst2"), b.digest), true);
});

test("a second 401 after the retry: the auth error, kind auth, exit 1, naming the registry and the credentials tried; no third attempt", async () => {
  const r = client();
  const b = blobOf(randomBytes(16));
  const since = mark();
  ts.expireNext(2);
  const e = await failure(r.blobExists(repo("twice"), b.digest));
  assert.is(e.kind, "auth");
  assert.is(e.status, 401);
  assert.is(e.exitCode, 1);
  assert.is(e.message, `wrong or missing credentials for ${HOST} (tried auths in ${CONFIG}); the registry does not accept the tokens ${new URL(ts.realm).origin} issues (invalid_token): check that it trusts that token server and that the clocks agree`);
  const head = `HEAD /v2/${RUN}/twice/blobs/${b.digest}`;
  assert.equal(since().registry, [`${head} Bearer 401`, `${head} Bearer 401`]);
  assert.equal(since().tokens.map((q) => q.expired ?? false), [true, true]);
  // Nothing is stuck: the next request gets a good token.
  assert.is(await r.blobExists(repo("twice"), b.digest), false);
});

test("credentials without pull on a repository: after one retry, the auth error names the scope the registry asked for", async () => {
  const since = mark();
  ts.withholdNext(scope("private", "pull"), Infinity);
  try {
    const e = await failure(client().blobExists(repo("private"), sha(randomBytes(8))));
    assert.is(e.kind, "auth");
    assert.is(e.message, `wrong or missing credentials for ${HOST} (tried auths in ${CONFIG}); the token from ${new URL(ts.realm).origin} does not grant what the registry asks for (${scope("private", "pull")}): those credentials lack that access`);
  } finally {
    ts.withholdNext(scope("private", "pull"), 0);
  }
  assert.is(since().registry.length, 2);
  assert.is(since().tokens.length, 2);
});

test("secrets: neither the password (plain or base64) nor a token is in an error message or log line of this suite", () => {
  assert.ok(said.length >= 2, `only ${said.length} messages collected`);
  const secrets = [svc.password, Buffer.from(`${svc.username}:${svc.password}`).toString("base64")];
  for (const line of said) {
    for (const s of secrets) assert.not.match(line, s, `secret in: ${line}`);
    assert.not.match(line, /eyJ[\w-]*\.eyJ/, `token in: ${line}`);
  }
});

test.after(async () => {
  await proxy.stop();
  await registry.stop();
});

test.run();
