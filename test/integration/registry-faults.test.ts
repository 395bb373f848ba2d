// The registry client when the network or the registry misbehaves: a fault-injecting proxy
// (test/fault-proxy.ts) in front of the real registries answers 5xx/429, resets connections before
// and after the registry acted, stalls, drops uploads; registries of the test's own are killed
// mid-upload, run out of space (a small tmpfs) or have read-only storage. Bounds are set short
// through the client's options; the tests assert failures, messages and registry state, not time.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createRegistry, MediaTypes, type Blob, type Registry, type RegistryOptions } from "../../lib/registry/index.ts";
import { runtime } from "../../lib/runtime.ts";
import { registryFailure, sh } from "../helpers.ts";
import { startFaultProxy, type FaultProxy } from "../fault-proxy.ts";
import { services, startRegistry } from "../services.ts";

const svc = services();
const RUN = `f${process.pid}${Date.now().toString(36)}`;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-faults-test-"));
const enc = new TextEncoder();
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blobOf = (data: Uint8Array): Blob & { data: Uint8Array } => ({ digest: sha(data), size: data.length, data });
/** Every retry line and error message of the suite: checked for secrets at the end. */
const said: string[] = [];

function client(options: RegistryOptions & { lines?: string[] } = {}): Registry {
  const { lines, ...rest } = options;
  return createRegistry({
    dockerConfigDir: TMP,
    retry: { attempts: 4, baseDelayMs: 10 },
    timeouts: { requestMs: 2000, totalMs: 20_000 },
    log: (l) => {
      said.push(l);
      lines?.push(l);
    },
    ...rest,
  });
}

const failure = (p: Promise<unknown>) => registryFailure(p, said);

/** A manifest over a config and a layer, the blobs uploaded; returns its bytes and digest. */
async function image(r: Registry, name: string, arch = "amd64"): Promise<{ bytes: Uint8Array; digest: string }> {
  const layer = blobOf(randomBytes(512));
  const config = blobOf(enc.encode(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [layer.digest] }, run: RUN })));
  for (const b of [config, layer]) await r.uploadBlob(name, b);
  const bytes = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MediaTypes.dockerLayerGzip, digest: layer.digest, size: layer.size }],
  }));
  return { bytes, digest: sha(bytes) };
}

/** A proxy in front of the plain registry, stopped after `fn`. */
async function withProxy(fn: (proxy: FaultProxy) => Promise<void>, target = svc.registries.plain) {
  const proxy = await startFaultProxy(target);
  try {
    await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

const waits = (lines: string[]) => lines.map((l) => l.replace(/waiting [\d.]+s$/, "waiting Ns"));
const direct = client();

// ---------------------------------------------------------------- answers: 5xx, 429, bodies

test("5xx twice, then success: two retry lines in the documented form, three PUTs reached the proxy", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const r = client({ lines });
    const name = `${proxy.address}/${RUN}/busy`;
    const { bytes, digest } = await image(r, name);
    let puts = 0;
    proxy.fault = (req) => (req.method === "PUT" && req.path.includes("/manifests/") && ++puts <= 2
      ? { status: 503, body: JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "draining" }] }) } : undefined);
    assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest), digest);
    const url = `http://${proxy.address}/v2/${RUN}/busy/manifests/v1`;
    assert.equal(waits(lines), [
      `retrying PUT ${url} (2/4) after 503 Service Unavailable (UNAVAILABLE: draining); waiting Ns`,
      `retrying PUT ${url} (3/4) after 503 Service Unavailable (UNAVAILABLE: draining); waiting Ns`,
    ]);
    assert.equal(proxy.requests.filter((q) => q.method === "PUT" && q.path.includes("/manifests/")).map((q) => q.status), [503, 503, 201]);
    assert.is((await direct.headManifest(`${svc.registries.plain}/${RUN}/busy`, "v1"))?.digest, digest);
  });
});

test("5xx every time: fails after the attempts, with the registry's own message", async () => {
  await withProxy(async (proxy) => {
    proxy.fault = (req) => (req.path.includes("/tags/list")
      ? { status: 500, body: JSON.stringify({ errors: [{ code: "UNKNOWN", message: "unknown error", detail: "write /var/lib/registry/x: no space left on device" }] }) } : undefined);
    const e = await failure(client().listTags(`${proxy.address}/${RUN}/full`));
    assert.is(e.status, 500);
    assert.is(e.message, `registry ${proxy.address} answered 500 Internal Server Error to GET /v2/${RUN}/full/tags/list: UNKNOWN: unknown error: write /var/lib/registry/x: no space left on device (4 attempts)`);
  });
});

test("a non-JSON error body is shown as its first line, trimmed; 4xx is not retried", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    proxy.fault = (req) => (req.path.includes("/manifests/") ? { status: 418, body: `teapot says no\n${"x".repeat(1000)}`, headers: { "content-type": "text/plain" } } : undefined);
    const e = await failure(client({ lines }).getManifest(`${proxy.address}/${RUN}/tea`, "v1"));
    assert.is(e.message, `registry ${proxy.address} answered 418 I'm a Teapot to GET manifest ${proxy.address}/${RUN}/tea:v1 (teapot says no)`);
    assert.equal(lines, []);
  });
});

test("429 with Retry-After: the wait it asks for is taken (capped), then success", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const name = `${proxy.address}/${RUN}/slow-down`;
    let n = 0;
    proxy.fault = (req) => (req.path.includes("/tags/list") && ++n === 1 ? { status: 429, headers: { "retry-after": "1" } } : undefined);
    const r = client({ lines });
    await image(r, name).then(({ bytes }) => r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest));
    assert.equal(await r.listTags(name), ["v1"]);
    assert.equal(lines, [`retrying GET http://${proxy.address}/v2/${RUN}/slow-down/tags/list (2/4) after 429 Too Many Requests (UNAVAILABLE: fault proxy: 429); waiting 1.0s`]);
  });
});

test("429 asking for an hour: the wait is capped, and the operation's total bound ends it", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    proxy.fault = (req) => (req.path.includes("/tags/list") ? { status: 429, headers: { "retry-after": "3600" } } : undefined);
    const e = await failure(client({ lines, timeouts: { requestMs: 2000, totalMs: 1500 } }).listTags(`${proxy.address}/${RUN}/hour`));
    assert.is(e.message, `registry ${proxy.address} answered 429 Too Many Requests to GET /v2/${RUN}/hour/tags/list: UNAVAILABLE: fault proxy: 429 (1 attempt, 1.5s in all)`);
    assert.equal(lines, [`retrying GET http://${proxy.address}/v2/${RUN}/hour/tags/list (2/4) after 429 Too Many Requests (UNAVAILABLE: fault proxy: 429); waiting 10s`]);
  });
});

// ---------------------------------------------------------------- connections: resets, stalls, drops

test("resets before the registry saw the request: retried, the push converges", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const seen = new Set<string>();
    // The first POST, PUT and HEAD of each kind is reset.
    proxy.fault = (req) => {
      const key = `${req.method} ${req.path.replace(/\/[^/]*$/, "")}`;
      if (req.path === "/v2/" || seen.has(key)) return undefined;
      seen.add(key);
      return { reset: "before" };
    };
    const r = client({ lines });
    const name = `${proxy.address}/${RUN}/reset-before`;
    const { bytes, digest } = await image(r, name);
    assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest), digest);
    // Deno's and Bun's fetch send a request again by themselves when a reused connection closes before any answer.
    assert.is(proxy.requests.filter((q) => q.fault).length, 4, "HEAD, POST, PUT blob and PUT manifest were each reset once");
    if (runtime === "node") assert.is(lines.length, 4, lines.join("\n"));
    for (const l of lines) assert.match(l, /^retrying (HEAD|POST|PUT) http:\/\/127\.0\.0\.1:\d+\/v2\/\S+ \(\d\/4\) after connection reset; waiting \d\.\ds$/);
    assert.is((await direct.getManifest(`${svc.registries.plain}/${RUN}/reset-before`, "v1"))?.digest, digest);
  });
});

test("resets after the registry acted (blob upload and manifest PUT): retried, idempotent, the tag resolves", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const r = client({ lines });
    const name = `${proxy.address}/${RUN}/reset-after`;
    const layer = blobOf(randomBytes(200_000));
    let blobPuts = 0;
    let manifestPuts = 0;
    proxy.fault = (req) => {
      if (req.method === "PUT" && req.path.includes("/blobs/uploads/") && ++blobPuts === 1) return { reset: "after" };
      if (req.method === "PUT" && req.path.includes("/manifests/") && ++manifestPuts === 1) return { reset: "after" };
      return undefined;
    };
    assert.is(await r.uploadBlob(name, layer), "uploaded");
    const { bytes, digest } = await image(r, name);
    assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest), digest);
    assert.is(blobPuts, 4, "the layer's PUT twice (the first reset after it landed), then the image's config and layer");
    assert.is(manifestPuts, 2);
    assert.equal(proxy.requests.filter((q) => q.fault && "reset" in q.fault).length, 2);
    // Under Deno and Bun, fetch itself sends the request again (the upload then finds its session gone, and the blob there).
    if (runtime === "node") assert.is(lines.length, 2, lines.join("\n"));
    if (runtime === "node") assert.match(lines[0]!, new RegExp(`^retrying PUT http://${proxy.address}/v2/${RUN}/reset-after/blobs/uploads/[0-9a-f-]+ \\(2/4\\) after connection reset; waiting`));
    if (runtime === "node") assert.match(lines[1]!, `retrying PUT http://${proxy.address}/v2/${RUN}/reset-after/manifests/v1 (2/4) after connection reset; waiting`);
    const plain = `${svc.registries.plain}/${RUN}/reset-after`;
    assert.is((await direct.getManifest(plain, "v1"))?.digest, digest);
    assert.is(sha(await direct.getBlob(plain, layer.digest)), layer.digest);
  });
});

test("a stall before the answer: fails within the bound, naming the registry and the request", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const r = client({ lines, retry: { attempts: 2, baseDelayMs: 10 }, timeouts: { requestMs: 300, totalMs: 20_000 } });
    const name = `${proxy.address}/${RUN}/stall`;
    const { bytes } = await image(r, name);
    proxy.fault = (req) => (req.method === "PUT" && req.path.includes("/manifests/") ? { stall: true } : undefined);
    const e = await failure(r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest));
    assert.is(e.kind, "unreachable");
    assert.is(e.message, `registry ${proxy.address} did not answer PUT /v2/${RUN}/stall/manifests/v1 within 0.3s (2 attempts)`);
    assert.equal(waits(lines), [`retrying PUT http://${proxy.address}/v2/${RUN}/stall/manifests/v1 (2/2) after no answer within 0.3s; waiting Ns`]);
    assert.is(await direct.headManifest(`${svc.registries.plain}/${RUN}/stall`, "v1"), undefined, "no tag written");
  });
});

test("a stall of the answer's body: retried; stalled every time, it fails naming the request", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const r = client({ lines, retry: { attempts: 3, baseDelayMs: 10 }, timeouts: { requestMs: 300, totalMs: 20_000 } });
    const name = `${proxy.address}/${RUN}/stall-body`;
    const { bytes, digest } = await image(r, name);
    await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest);
    let gets = 0;
    proxy.fault = (req) => (req.method === "GET" && req.path.includes("/manifests/") && ++gets === 1 ? { stallBody: true } : undefined);
    assert.is((await r.getManifest(name, "v1"))?.digest, digest);
    assert.equal(waits(lines), [`retrying GET http://${proxy.address}/v2/${RUN}/stall-body/manifests/v1 (2/3) after answer stalled for 0.3s; waiting Ns`]);
    proxy.fault = (req) => (req.method === "GET" && req.path.includes("/manifests/") ? { stallBody: true } : undefined);
    const e = await failure(r.getManifest(name, "v1"));
    assert.is(e.message, `registry ${proxy.address} stopped sending its answer to GET /v2/${RUN}/stall-body/manifests/v1 (nothing for 0.3s) (3 attempts)`);
  });
});

test("an upload dropped part-way: the session starts over and the blob lands whole", async () => {
  await withProxy(async (proxy) => {
    const lines: string[] = [];
    const r = client({ lines });
    const name = `${proxy.address}/${RUN}/dropped`;
    const file = join(TMP, "dropped.bin");
    const data = randomBytes(3 * 1024 * 1024);
    writeFileSync(file, data);
    let puts = 0;
    proxy.fault = (req) => (req.method === "PUT" && req.path.includes("/blobs/uploads/") && ++puts === 1 ? { dropUpload: 1024 * 1024 } : undefined);
    assert.is(await r.uploadBlob(name, { digest: sha(data), size: data.length, data: { path: file } }), "uploaded");
    assert.is(puts, 2);
    assert.is(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /^retrying PUT http:\/\/127\.0\.0\.1:\d+\/v2\/\S+\/dropped\/blobs\/uploads\/[0-9a-f-]+ \(2\/4\) after connection reset; waiting/);
    assert.is(sha(await direct.getBlob(`${svc.registries.plain}/${RUN}/dropped`, sha(data))), sha(data));
  });
});

// ---------------------------------------------------------------- limits

test("a manifest larger than 4 MiB is refused when read, naming the limit", async () => {
  await withProxy(async (proxy) => {
    const huge = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [], pad: "x".repeat(5 * 1024 * 1024) });
    proxy.fault = (req) => (req.path.includes("/manifests/") ? { status: 200, body: huge, headers: { "content-type": MediaTypes.ociIndex } } : undefined);
    const e = await failure(client().getManifest(`${proxy.address}/${RUN}/huge`, "v1"));
    assert.is(e.kind, "protocol");
    assert.is(e.message, `${proxy.address}: GET manifest ${proxy.address}/${RUN}/huge:v1: the manifest is larger than 4194304 bytes, the most pkgkit reads of a manifest or index (4 MiB, the registry's own limit)`);
    assert.is(proxy.requests.filter((q) => q.path.includes("/manifests/")).length, 1, "not retried");
  });
});

// ---------------------------------------------------------------- the registry itself: killed, full, read-only

test("the registry killed during a 50 MB upload and restarted: the upload starts over and the image is whole", async () => {
  const reg = await startRegistry();
  try {
    await withProxy(async (proxy) => {
      const lines: string[] = [];
      const r = client({ lines, retry: { attempts: 10, baseDelayMs: 100 } });
      const name = `${proxy.address}/${RUN}/killed`;
      const file = join(TMP, "big.bin");
      const data = randomBytes(50 * 1024 * 1024);
      writeFileSync(file, data);
      let restarted: Promise<void> | undefined;
      proxy.fault = (req) => {
        if (!restarted && req.method === "PUT" && req.path.includes("/blobs/uploads/"))
          restarted = reg.stop().then(() => new Promise((ok) => setTimeout(ok, 500))).then(() => reg.restart());
        return undefined;
      };
      const { bytes, digest } = await image(r, name);
      assert.is(await r.uploadBlob(name, { digest: sha(data), size: data.length, data: { path: file } }), "uploaded");
      await restarted;
      assert.ok(lines.some((l) => / after (connection reset|connection refused); /.test(l)), lines.join("\n"));
      await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest);
      const back = client();
      assert.is((await back.headManifest(`${reg.address}/${RUN}/killed`, "v1"))?.digest, digest);
      assert.ok(await back.blobExists(`${reg.address}/${RUN}/killed`, sha(data)));
      assert.equal(sha(await back.getBlob(`${reg.address}/${RUN}/killed`, sha(data))), sha(data));
    }, reg.address);
  } finally {
    await reg.stop();
  }
});

/** A small tmpfs (or a read-only one) as a registry's storage (the test environment runs as root, so it can mount one). */
function mountTmpfs(options: string): string {
  const dir = join(TMP, `mnt-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  const r = sh(["mount", "-t", "tmpfs", "-o", options, "tmpfs", dir]);
  if (r.code !== 0) throw new Error(`mount -t tmpfs -o ${options} failed (${r.code}): ${r.stderr}; this test needs root, as test/env/start.sh does`);
  return dir;
}
const unmount = (dir: string) => sh(["umount", dir]);

test("a registry whose storage is full: the upload fails with the registry's own message, no manifest is written", async () => {
  const dir = mountTmpfs("size=4m");
  const reg = await startRegistry({ dataDir: join(dir, "data") });
  try {
    const r = client({ retry: { attempts: 2, baseDelayMs: 10 } });
    const name = `${reg.address}/${RUN}/full`;
    const data = randomBytes(6 * 1024 * 1024);
    const e = await failure(r.uploadBlob(name, blobOf(data)));
    assert.is(e.kind, "server");
    // The first PUT runs out of space; the retry's POST cannot even start a session.
    assert.match(e.message, new RegExp(`^registry ${reg.address} answered 500 Internal Server Error to (PUT|POST) /v2/${RUN}/full/blobs/uploads/\\S*: UNKNOWN: unknown error: .*: no space left on device \\(2 attempts\\)$`));
    assert.is(await r.blobExists(name, sha(data)), false);
  } finally {
    await reg.stop();
    unmount(dir);
  }
});

test("a registry whose storage is read-only: fails with the registry's own message", async () => {
  const dir = mountTmpfs("size=1m,ro");
  const reg = await startRegistry({ dataDir: join(dir, "data") });
  try {
    const e = await failure(client({ retry: { attempts: 2, baseDelayMs: 10 } }).uploadBlob(`${reg.address}/${RUN}/ro`, blobOf(randomBytes(1000))));
    assert.is(e.message, `registry ${reg.address} answered 500 Internal Server Error to POST /v2/${RUN}/ro/blobs/uploads/: UNKNOWN: unknown error: filesystem: mkdir ${dir}/data: read-only file system (2 attempts)`);
  } finally {
    await reg.stop();
    unmount(dir);
  }
});

// ---------------------------------------------------------------- secrets

test("basic auth behind the proxy: retry lines and errors hold no password, no Authorization and no upload state", async () => {
  const config = mkdtempSync(join(TMP, "auth-"));
  writeFileSync(join(config, "config.json"), JSON.stringify({ auths: { "127.0.0.1": {} } }));
  await withProxy(async (proxy) => {
    const b64 = Buffer.from(`${svc.username}:${svc.password}`).toString("base64");
    writeFileSync(join(config, "config.json"), JSON.stringify({ auths: { [proxy.address]: { auth: b64 } } }));
    const lines: string[] = [];
    const r = client({ lines, dockerConfigDir: config });
    const name = `${proxy.address}/${RUN}/secret`;
    const seen = new Set<string>();
    proxy.fault = (req) => {
      const key = `${req.method} ${req.path.replace(/\?.*$/, "").replace(/\/uploads\/.*/, "/uploads/")}`;
      if (req.path === "/v2/" || seen.has(key)) return undefined;
      seen.add(key);
      return seen.size % 2 ? { status: 503 } : { reset: "after" };
    };
    const { bytes, digest } = await image(r, name);
    assert.is(await r.putManifest(name, "v1", bytes, MediaTypes.dockerManifest), digest);
    assert.ok(lines.length >= 3, lines.join("\n"));
    for (const l of [...lines, ...said]) {
      for (const secret of [svc.password, b64, "_state=", "Basic "]) assert.not.ok(l.includes(secret), `secret in: ${l}`);
    }
  }, svc.registries.auth);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));

test.run();
