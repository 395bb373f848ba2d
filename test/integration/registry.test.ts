// The registry client against real distribution registries: the three test/env/start.sh runs
// (plain, basic auth, TLS + basic auth) and ones of the test's own (stopped and restarted, token
// auth through a test token server). skopeo reads what the client wrote, as an outside check.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createRegistry, MediaTypes, type Blob, type Registry, type RegistryOptions } from "../../lib/registry/index.ts";
import { runtime } from "../../lib/runtime.ts";
import { must, registryFailure } from "../helpers.ts";
import { freePort, services, startRegistry } from "../services.ts";

const svc = services();
const { plain: PLAIN, auth: AUTH, tls: TLS } = svc.registries;
const RUN = `${process.pid}${Date.now().toString(36)}`;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-registry-test-"));
const NO_CERTS = join(TMP, "no-certs.d");
const FAST = { attempts: 3, baseDelayMs: 20 };
/** Every error message and log line of the suite: the last test checks none holds a secret. */
const said: string[] = [];

const enc = new TextEncoder();
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blobOf = (data: Uint8Array): Blob & { data: Uint8Array } => ({ digest: sha(data), size: data.length, data });
const repo = (host: string, name: string) => `${host}/${RUN}/${name}`;

/** A Docker config dir holding `config`. */
function dockerConfig(config: unknown): string {
  const dir = mkdtempSync(join(TMP, "docker-config-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}
const b64 = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString("base64");
const GOOD = dockerConfig({ auths: { [AUTH]: { auth: b64(svc.username, svc.password) }, [TLS]: { auth: b64(svc.username, svc.password) } } });

function client(options: RegistryOptions = {}): Registry {
  return createRegistry({ dockerConfigDir: GOOD, certsDirs: [svc.certsDir], retry: FAST, log: (l) => said.push(l), ...options });
}

const failure = (p: Promise<unknown>) => registryFailure(p, said);

/** Pushes a config and a layer, then a manifest of `mediaType` over them; returns its bytes. */
async function pushImage(r: Registry, name: string, mediaType: string, arch = "amd64"): Promise<{ bytes: Uint8Array; digest: string }> {
  const oci = mediaType === MediaTypes.ociManifest;
  const layer = blobOf(randomBytes(256));
  const config = blobOf(enc.encode(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] }, run: RUN })));
  for (const b of [config, layer]) await r.uploadBlob(name, b);
  const bytes = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? MediaTypes.ociConfig : MediaTypes.dockerConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: oci ? MediaTypes.ociLayerGzip : MediaTypes.dockerLayerGzip, digest: layer.digest, size: layer.size }],
  }));
  return { bytes, digest: sha(bytes) };
}

/** skopeo, as an outside reader of what the client wrote: the raw manifest bytes. */
function skopeoRaw(ref: string, authfile?: string): Buffer {
  const host = ref.split("/")[0]!;
  const tls = host === TLS ? ["--cert-dir", join(svc.certsDir, TLS)] : ["--tls-verify=false"];
  const auth = authfile ? ["--authfile", join(authfile, "config.json")] : [];
  return Buffer.from(must(["skopeo", "inspect", "--raw", ...tls, ...auth, `docker://${ref}`]), "utf8");
}

// ---------------------------------------------------------------- blobs

test("blob from bytes: uploaded, then it exists, reads back, and a second upload finds it", async () => {
  const r = client();
  const name = repo(PLAIN, "bytes");
  const b = blobOf(randomBytes(1000));
  assert.is(await r.blobExists(name, b.digest), false);
  assert.is(await r.uploadBlob(name, b), "uploaded");
  assert.is(await r.blobExists(name, b.digest), true);
  assert.equal(Buffer.from(await r.getBlob(name, b.digest)), Buffer.from(b.data));
  assert.is(await r.uploadBlob(name, b), "exists");
});

test("blob from a file (3 MiB, streamed): uploaded and read back byte for byte", async () => {
  const r = client();
  const name = repo(PLAIN, "file");
  const data = randomBytes(3 * 1024 * 1024);
  const path = join(TMP, "layer.bin");
  writeFileSync(path, data);
  const digest = sha(data);
  assert.is(await r.uploadBlob(name, { digest, size: data.length, data: { path } }), "uploaded");
  assert.is(sha(await r.getBlob(name, digest)), digest);
});

test("a blob whose data does not match its size is refused before any upload", async () => {
  const b = blobOf(randomBytes(10));
  try {
    await client().uploadBlob(repo(PLAIN, "size"), { ...b, size: 11 });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, "the descriptor says 11 bytes, the data has 10");
  }
});

test("mount across repositories: 'mounted', then HEAD-able in the target", async () => {
  const r = client();
  const source = repo(PLAIN, "mount-src");
  const target = repo(PLAIN, "mount-dst");
  const b = blobOf(randomBytes(2000));
  await r.uploadBlob(source, b);
  assert.is(await r.blobExists(target, b.digest), false);
  // A candidate on another registry is skipped; the one on this registry mounts.
  assert.is(await r.uploadBlob(target, b, { mountFrom: [repo(AUTH, "elsewhere"), source] }), "mounted");
  assert.is(await r.blobExists(target, b.digest), true);
  assert.equal(Buffer.from(await r.getBlob(target, b.digest)), Buffer.from(b.data));
});

test("mount from a repository without the blob: falls back to an upload into the opened session", async () => {
  const r = client();
  const b = blobOf(randomBytes(500));
  const target = repo(PLAIN, "mount-fallback");
  assert.is(await r.uploadBlob(target, b, { mountFrom: [repo(PLAIN, "never-had-it")] }), "uploaded");
  assert.is(await r.blobExists(target, b.digest), true);
});

// ---------------------------------------------------------------- manifests

for (const [label, mediaType] of [["Docker v2", MediaTypes.dockerManifest], ["OCI", MediaTypes.ociManifest]] as const) {
  test(`${label} manifest: put by tag returns the bytes' sha256; get and head by tag and digest agree`, async () => {
    const r = client();
    const name = repo(PLAIN, `manifest-${label === "OCI" ? "oci" : "docker"}`);
    const { bytes, digest } = await pushImage(r, name, mediaType);
    assert.is(await r.putManifest(name, "v1", bytes, mediaType), digest);
    for (const ref of ["v1", digest]) {
      const m = (await r.getManifest(name, ref))!;
      assert.equal(Buffer.from(m.bytes), Buffer.from(bytes), ref);
      assert.is(m.digest, digest);
      assert.is(m.mediaType, mediaType);
      assert.is(m.size, bytes.length);
      assert.is(m.json.layers?.length, 1);
      assert.equal(await r.headManifest(name, ref), { mediaType, digest, size: bytes.length });
    }
    assert.is(await r.getManifest(name, "missing"), undefined);
    assert.is(await r.headManifest(name, "missing"), undefined);
  });
}

for (const [label, indexType, manifestType] of [
  ["OCI index", MediaTypes.ociIndex, MediaTypes.ociManifest],
  ["Docker manifest list", MediaTypes.dockerManifestList, MediaTypes.dockerManifest],
] as const) {
  test(`${label} over two pushed manifests: stored as sent, and skopeo reads the same bytes`, async () => {
    const r = client();
    const name = repo(PLAIN, `index-${indexType === MediaTypes.ociIndex ? "oci" : "docker"}`);
    const manifests = [];
    for (const arch of ["amd64", "arm64"]) {
      const m = await pushImage(r, name, manifestType, arch);
      await r.putManifest(name, `x-${arch}`, m.bytes, manifestType);
      manifests.push({ mediaType: manifestType, digest: m.digest, size: m.bytes.length, platform: { os: "linux", architecture: arch } });
    }
    const bytes = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: indexType, manifests }));
    const digest = await r.putManifest(name, "x", bytes, indexType);
    assert.is(digest, sha(bytes));
    const back = (await r.getManifest(name, "x"))!;
    assert.is(back.mediaType, indexType);
    assert.equal(back.json.manifests, manifests);
    for (const d of manifests) assert.equal(await r.headManifest(name, d.digest), { mediaType: d.mediaType, digest: d.digest, size: d.size });
    const raw = skopeoRaw(`${name}:x`);
    assert.is(sha(raw), digest);
  });
}

test("listTags follows Link pagination (5 tags in pages of 2)", async () => {
  const r = client();
  const name = repo(PLAIN, "tags");
  const { bytes } = await pushImage(r, name, MediaTypes.ociManifest);
  const tags = ["a", "b", "c", "d", "e"];
  for (const t of tags) await r.putManifest(name, t, bytes, MediaTypes.ociManifest);
  assert.equal((await r.listTags(name, { pageSize: 2 })).sort(), tags);
  assert.equal((await r.listTags(name)).sort(), tags);
  assert.equal(await r.listTags(repo(PLAIN, "no-such-repo")), []);
});

test("a missing blob is a not-found RegistryError naming the registry", async () => {
  const e = await failure(client().getBlob(repo(PLAIN, "bytes"), sha(enc.encode("never uploaded"))));
  assert.is(e.kind, "not-found");
  assert.is(e.status, 404);
  assert.match(e.message, `not found in ${PLAIN}`);
});

test("150 concurrent manifest HEADs on the basic-auth registry all answer", async () => {
  const r = client();
  const name = repo(AUTH, "concurrent");
  const { bytes, digest } = await pushImage(r, name, MediaTypes.dockerManifest);
  await r.putManifest(name, "c", bytes, MediaTypes.dockerManifest);
  const fresh = client(); // no host state yet: all 150 start before the first answer
  const started = Date.now();
  const all = await Promise.all(Array.from({ length: 150 }, (_, i) => fresh.headManifest(name, i % 2 ? "c" : digest)));
  assert.ok(all.every((d) => d?.digest === digest));
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started}ms`);
});

// ---------------------------------------------------------------- basic auth and TLS

test("basic auth: credentials from DOCKER_CONFIG auths (base64 auth, and username/password under https://host)", async () => {
  for (const config of [GOOD, dockerConfig({ auths: { [`https://${AUTH}`]: { username: svc.username, password: svc.password } } })]) {
    const r = client({ dockerConfigDir: config });
    const name = repo(AUTH, "basic");
    const { bytes, digest } = await pushImage(r, name, MediaTypes.ociManifest);
    assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.ociManifest), digest);
    assert.is((await r.headManifest(name, "v1"))?.digest, digest);
  }
  assert.is(sha(skopeoRaw(`${repo(AUTH, "basic")}:v1`, GOOD)), (await client().headManifest(repo(AUTH, "basic"), "v1"))!.digest);
});

test("basic auth, wrong password: auth error naming the registry and where the credentials came from", async () => {
  const config = dockerConfig({ auths: { [AUTH]: { auth: b64(svc.username, "wrong-password-1234") } } });
  const e = await failure(client({ dockerConfigDir: config }).headManifest(repo(AUTH, "basic"), "v1"));
  assert.is(e.kind, "auth");
  assert.is(e.status, 401);
  assert.is(e.registry, AUTH);
  assert.is(e.message, `wrong or missing credentials for ${AUTH} (tried auths in ${join(config, "config.json")})`);
  assert.is(e.exitCode, 1);
});

test("basic auth, no credentials: auth error saying none were found", async () => {
  const config = dockerConfig({});
  const e = await failure(client({ dockerConfigDir: config }).blobExists(repo(AUTH, "basic"), sha(enc.encode("x"))));
  assert.is(e.kind, "auth");
  assert.match(e.message, `wrong or missing credentials for ${AUTH} (tried anonymous access; no credentials for ${AUTH} in`);
});

test("TLS with the CA from a certs.d directory: push, then skopeo reads the same bytes", async () => {
  const r = client({ certsDirs: [svc.certsDir] });
  const name = repo(TLS, "certsd");
  const { bytes, digest } = await pushImage(r, name, MediaTypes.dockerManifest);
  assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest), digest);
  assert.equal(skopeoRaw(`${name}:v1`, GOOD), Buffer.from(bytes));
});

test("TLS with the CA from the ca option (no certs.d)", async () => {
  const r = client({ certsDirs: [NO_CERTS], ca: [svc.ca] });
  const name = repo(TLS, "ca-option");
  const b = blobOf(randomBytes(100));
  assert.is(await r.uploadBlob(name, b), "uploaded");
  assert.is(await r.blobExists(name, b.digest), true);
});

test("TLS without the CA: a clear TLS error, not retried, no fallback to plain HTTP", async () => {
  const logged: string[] = [];
  const r = client({ certsDirs: [NO_CERTS], log: (l) => logged.push(l) });
  const e = await failure(r.blobExists(repo(TLS, "no-ca"), sha(enc.encode("x"))));
  assert.is(e.kind, "tls");
  assert.is(e.message, `TLS: certificate for ${TLS} is signed by an unknown authority; put its CA in ${NO_CERTS}/${TLS}/ca.crt or pass --registry-ca <file>`);
  assert.equal(logged, []);
});

if (runtime !== "deno") {
  test("TLS to an insecure-listed host: the certificate is not checked", async () => {
    const r = client({ certsDirs: [NO_CERTS], insecure: [TLS] });
    assert.is(await r.blobExists(repo(TLS, "insecure"), sha(enc.encode("x"))), false);
  });
}

const otherAddress = Object.values(networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
if (otherAddress) {
  test("plain HTTP on a non-loopback host: refused unless listed insecure, then used", async () => {
    const reg = await startRegistry({ host: otherAddress });
    try {
      const name = `${reg.address}/${RUN}/insecure`;
      const e = await failure(client().blobExists(name, sha(enc.encode("x"))));
      assert.is(e.kind, "tls");
      assert.is(e.message, `registry ${reg.address} does not speak TLS (HTTPS); if it is a plain-HTTP registry you trust, pass --insecure-registry ${reg.address}`);
      const r = client({ insecure: [reg.address] });
      assert.is(await r.uploadBlob(name, blobOf(randomBytes(10))), "uploaded");
    } finally {
      await reg.stop();
    }
  });
}

// ---------------------------------------------------------------- unreachable and retries

test("unreachable port: 'connection refused' after the configured attempts, each retry logged", async () => {
  const port = await freePort();
  const logged: string[] = [];
  const r = client({ retry: { attempts: 3, baseDelayMs: 20 }, log: (l) => logged.push(l) });
  const started = Date.now();
  const e = await failure(r.headManifest(`127.0.0.1:${port}/x/y`, "latest"));
  assert.is(e.kind, "unreachable");
  assert.is(e.registry, `127.0.0.1:${port}`);
  assert.is(e.message, `cannot reach registry 127.0.0.1:${port}: connection refused (3 attempts)`);
  assert.is(logged.length, 2, logged.join("\n"));
  assert.match(logged[1]!, /^retrying GET https:\/\/127\.0\.0\.1:\d+\/v2\/ \(3\/3\) after connection refused; waiting \d\.\ds$/);
  assert.ok(Date.now() - started < 3000);
});

test("a registry stopped mid-way: requests retry until it is back, on the same data", async () => {
  const reg = await startRegistry();
  try {
    const logged: string[] = [];
    const r = client({ retry: { attempts: 8, baseDelayMs: 100 }, log: (l) => logged.push(l) });
    const name = `${reg.address}/${RUN}/restart`;
    const b = blobOf(randomBytes(100));
    assert.is(await r.uploadBlob(name, b), "uploaded");
    await reg.stop();
    const pending = r.blobExists(name, b.digest);
    await new Promise((res) => setTimeout(res, 300));
    await reg.restart();
    assert.is(await pending, true);
    assert.ok(logged.some((l) => l.startsWith(`retrying HEAD http://${reg.address}/v2/${RUN}/restart/blobs/${b.digest} (2/8) after connection refused; waiting `)), logged.join("\n"));
  } finally {
    await reg.stop();
  }
});

test("5xx (a registry whose storage is broken): retried with backoff, then a server error with the status", async () => {
  const notADir = join(TMP, "storage-is-a-file");
  writeFileSync(notADir, "");
  const reg = await startRegistry({ dataDir: notADir });
  try {
    const logged: string[] = [];
    const r = client({ retry: { attempts: 3, baseDelayMs: 20 }, log: (l) => logged.push(l) });
    const e = await failure(r.listTags(`${reg.address}/${RUN}/broken`));
    assert.is(e.kind, "server");
    assert.is(e.status, 500);
    const said = `UNKNOWN: unknown error: filesystem: open ${notADir}/docker/registry/v2/repositories/${RUN}/broken/_manifests/tags: not a directory`;
    assert.is(e.message, `registry ${reg.address} answered 500 Internal Server Error to GET /v2/${RUN}/broken/tags/list: ${said} (3 attempts)`);
    assert.equal(logged.map((l) => l.replace(/waiting \d\.\ds$/, "waiting Ns")), [
      `retrying GET http://${reg.address}/v2/${RUN}/broken/tags/list (2/3) after 500 Internal Server Error (${said}); waiting Ns`,
      `retrying GET http://${reg.address}/v2/${RUN}/broken/tags/list (3/3) after 500 Internal Server Error (${said}); waiting Ns`,
    ]);
  } finally {
    await reg.stop();
  }
});

test("4xx other than 429 is never retried", async () => {
  const logged: string[] = [];
  const r = client({ log: (l) => logged.push(l) });
  const missing = blobOf(enc.encode(`never uploaded ${RUN}`));
  const manifest = { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: missing.digest, size: missing.size }, layers: [] };
  const e = await failure(r.putManifest(repo(PLAIN, "invalid"), "v1", enc.encode(JSON.stringify(manifest)), MediaTypes.ociManifest));
  assert.is(e.status, 400);
  assert.is(e.kind, "protocol");
  assert.match(e.message, `registry ${PLAIN} answered 400 Bad Request to PUT manifest ${repo(PLAIN, "invalid")}:v1 (MANIFEST_BLOB_UNKNOWN`);
  assert.equal(logged, []);
});

// ---------------------------------------------------------------- credential helpers

/** `docker-credential-<name>` on PATH: logs the server it was asked for, answers for AUTH. */
const BIN = join(TMP, "bin");
mkdirSync(BIN);
process.env.PATH = `${BIN}:${process.env.PATH}`;
function credentialHelper(name: string, secret: string, username = svc.username): string {
  const log = join(TMP, `${name}.log`);
  const answer = JSON.stringify({ ServerURL: AUTH, Username: username, Secret: secret });
  writeFileSync(join(BIN, `docker-credential-${name}`), [
    "#!/bin/sh",
    '[ "$1" = get ] || exit 2',
    "read -r server",
    `echo "$server" >> '${log}'`,
    `if [ "$server" = '${AUTH}' ]; then printf '%s' '${answer}'; else echo 'credentials not found in native keychain'; exit 1; fi`,
    "",
  ].join("\n"));
  chmodSync(join(BIN, `docker-credential-${name}`), 0o700);
  return log;
}

test("credHelpers: the helper for the registry is asked with the server on stdin, and its credentials work", async () => {
  const log = credentialHelper("pkgkithelper", svc.password);
  const r = client({ dockerConfigDir: dockerConfig({ credHelpers: { [AUTH]: "pkgkithelper" }, auths: { [AUTH]: { auth: b64("not", "used") } } }) });
  const b = blobOf(randomBytes(50));
  assert.is(await r.uploadBlob(repo(AUTH, "helper"), b), "uploaded");
  assert.is(await r.blobExists(repo(AUTH, "helper"), b.digest), true);
  assert.equal(readFileSync(log, "utf8").trim().split("\n"), [AUTH], "asked once, for this registry");
});

test("credHelpers with a wrong secret: the auth error names the helper", async () => {
  credentialHelper("pkgkitwrong", "wrong-secret-5678");
  const config = dockerConfig({ credHelpers: { [AUTH]: "pkgkitwrong" } });
  const e = await failure(client({ dockerConfigDir: config }).blobExists(repo(AUTH, "helper"), sha(enc.encode("x"))));
  assert.is(e.message, `wrong or missing credentials for ${AUTH} (tried credHelpers 'pkgkitwrong' in ${join(config, "config.json")})`);
});

test("credHelpers naming a helper that is not installed: says so", async () => {
  const e = await failure(client({ dockerConfigDir: dockerConfig({ credHelpers: { [AUTH]: "pkgkitmissing" } }) }).blobExists(repo(AUTH, "x"), sha(enc.encode("x"))));
  assert.match(e.message, "docker-credential-pkgkitmissing is not on PATH");
});

test("credsStore: asked only by registries that want credentials; 'credentials not found' leaves them anonymous", async () => {
  const log = credentialHelper("pkgkitstore", svc.password);
  const config = dockerConfig({ credsStore: "pkgkitstore" });
  const r = client({ dockerConfigDir: config });
  assert.is(await r.uploadBlob(repo(AUTH, "store"), blobOf(randomBytes(20))), "uploaded");
  assert.is(await r.uploadBlob(repo(PLAIN, "store"), blobOf(randomBytes(20))), "uploaded");
  const e = await failure(r.blobExists(repo(TLS, "store"), sha(enc.encode("x"))));
  assert.is(e.message, `wrong or missing credentials for ${TLS} (tried credsStore 'pkgkitstore' in ${join(config, "config.json")}, which has none for ${TLS})`);
  assert.equal(readFileSync(log, "utf8").trim().split("\n"), [AUTH, TLS], "the plain registry never asked");
});

// ---------------------------------------------------------------- bearer tokens (test token server)

test("bearer token via a test token server: scopes per operation, pull on the source for mounts, tokens cached", async () => {
  const reg = await startRegistry({ auth: "token" });
  const ts = reg.tokenServer!;
  try {
    const config = dockerConfig({ auths: { [reg.address]: { auth: b64(svc.username, svc.password) } } });
    const r = client({ dockerConfigDir: config });
    const src = `${reg.address}/${RUN}/src`;
    const dst = `${reg.address}/${RUN}/dst`;
    const { bytes, digest } = await pushImage(r, src, MediaTypes.ociManifest);
    assert.is(await r.putManifest(src, "v1", bytes, MediaTypes.ociManifest), digest);
    assert.is((await r.getManifest(src, "v1"))?.digest, digest);
    const b = blobOf(randomBytes(64));
    await r.uploadBlob(src, b);
    assert.is(await r.uploadBlob(dst, b, { mountFrom: [src] }), "mounted");
    assert.is(await r.blobExists(dst, b.digest), true);
    const scopes = ts.requests.filter((q) => q.granted).map((q) => q.scopes.join(" "));
    assert.ok(ts.requests.every((q) => q.auth === "basic" && q.granted), JSON.stringify(ts.requests));
    assert.ok(scopes.includes(`repository:${RUN}/src:pull,push`), scopes.join("\n"));
    assert.ok(scopes.includes(`repository:${RUN}/dst:pull,push repository:${RUN}/src:pull`), scopes.join("\n"));
    // One token per scope set, however many requests used it.
    assert.is(new Set(scopes).size, scopes.length, scopes.join("\n"));
  } finally {
    await reg.stop();
  }
});

test("bearer token via a test token server: an identity token is sent as an OAuth2 refresh token", async () => {
  const reg = await startRegistry({ auth: "token" });
  try {
    const port = reg.address.split(":")[1];
    const r = client({ dockerConfigDir: dockerConfig({ auths: { [reg.address]: { identitytoken: `identity-token-${port}` } } }) });
    assert.is(await r.uploadBlob(`${reg.address}/${RUN}/idtoken`, blobOf(randomBytes(8))), "uploaded");
    assert.ok(reg.tokenServer!.requests.length > 0);
    assert.ok(reg.tokenServer!.requests.every((q) => q.method === "POST" && q.auth === "refresh_token" && q.granted));
  } finally {
    await reg.stop();
  }
});

test("bearer token via a test token server: wrong password and anonymous are auth errors", async () => {
  const reg = await startRegistry({ auth: "token" });
  try {
    const wrong = dockerConfig({ auths: { [reg.address]: { auth: b64(svc.username, "wrong-token-password-9") } } });
    const e = await failure(client({ dockerConfigDir: wrong }).headManifest(`${reg.address}/${RUN}/x`, "v1"));
    assert.is(e.kind, "auth");
    assert.is(e.message, `wrong or missing credentials for ${reg.address} (tried auths in ${join(wrong, "config.json")})`);
    // The test token server grants anonymous callers nothing: the registry keeps saying 401.
    const anonymous = await failure(client({ dockerConfigDir: dockerConfig({}) }).headManifest(`${reg.address}/${RUN}/x`, "v1"));
    assert.is(anonymous.kind, "auth");
    assert.match(anonymous.message, `wrong or missing credentials for ${reg.address} (tried anonymous access`);
  } finally {
    await reg.stop();
  }
});

// ---------------------------------------------------------------- secrets

test("secrets: the password (plain or base64) is in no error message or log line of this suite", async () => {
  // Some more failures with the real password configured.
  const e1 = await failure(client({ certsDirs: [NO_CERTS] }).headManifest(repo(TLS, "x"), "v1"));
  assert.is(e1.kind, "tls");
  const broken = join(BIN, "docker-credential-pkgkitbroken");
  writeFileSync(broken, `#!/bin/sh\nread -r server\nprintf '%s' 'Secret: ${svc.password}'\n`, { mode: 0o700 });
  const e2 = await failure(client({ dockerConfigDir: dockerConfig({ credHelpers: { [AUTH]: "pkgkitbroken" } }) }).headManifest(repo(AUTH, "x"), "v1"));
  assert.match(e2.message, "docker-credential-pkgkitbroken get printed no valid JSON", e2.message);
  assert.ok(said.length >= 10, `only ${said.length} messages collected`);
  const wrong = ["wrong-password-1234", "wrong-secret-5678", "wrong-token-password-9"];
  const secrets = [svc.password, b64(svc.username, svc.password), ...wrong, ...wrong.map((w) => b64(svc.username, w))];
  for (const line of said) for (const s of secrets) assert.not.match(line, s, `secret in: ${line}`);
});

test.run();
