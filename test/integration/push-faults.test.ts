// `pkgkit push` when the registry misbehaves, through the fault proxy (test/fault-proxy.ts) in front
// of the real registry: retry lines printed by default, bounds set by flags and environment (bad
// values exit 2), a stalled registry failing within the bound, a full registry failing with its own
// message; nothing half-published. Registry state is read back with pkgkit's client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { BIN, sh, shAsync, tmpRepo } from "../helpers.ts";
import { randomDelays, startFaultProxy } from "../fault-proxy.ts";
import { services, startRegistry } from "../services.ts";
import { createRegistry, MediaTypes } from "../../lib/registry/index.ts";

const svc = services();
const RUN = `pf${process.pid}${Date.now().toString(36)}`;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-push-faults-"));
const client = createRegistry();
const repo = tmpRepo({ "p/Dockerfile": "FROM scratch\nCOPY data /data\n", "p/build.yml": "image: p\narches: [amd64]\n", "p/data": `${RUN}\n` });
const PKG = join(repo.dir, "p");
const TAG = sh([process.execPath, BIN, "show-tag", "--org", "x", PKG]).stdout.trim().split(":").pop()!;

/** `pkgkit push` without blocking this process (the proxy runs in it). */
const push = (org: string, args: string[] = [], env: Record<string, string> = {}) =>
  shAsync([process.execPath, BIN, "push", "--disable-content-trust", "--org", org, ...args, PKG], repo.dir, env);
const retryLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("retrying ")).map((l) => l.replace(/waiting [\d.]+s$/, "waiting Ns"));

test("bad bounds exit 2 naming the flag or variable, before anything is built or pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-bad`;
  const cases: [string[], Record<string, string>, string][] = [
    [["--registry-timeout", "10x"], {}, `pkgkit: --registry-timeout "10x": expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`],
    [["--registry-total-timeout", "0s"], {}, `pkgkit: --registry-total-timeout "0s": expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`],
    [["--registry-retries", "-1"], {}, `pkgkit: option --registry-retries needs a value: --registry-retries <n>`],
    [["--registry-retries", "100"], {}, `pkgkit: --registry-retries "100": expected a whole number of retries from 0 to 99, such as 3`],
    [[], { PKGKIT_REGISTRY_RETRIES: "three" }, `pkgkit: PKGKIT_REGISTRY_RETRIES "three": expected a whole number of retries from 0 to 99, such as 3`],
    [[], { PKGKIT_REGISTRY_TIMEOUT: "forever" }, `pkgkit: PKGKIT_REGISTRY_TIMEOUT "forever": expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`],
    [[], { PKGKIT_REGISTRY_TOTAL_TIMEOUT: "25h" }, `pkgkit: PKGKIT_REGISTRY_TOTAL_TIMEOUT "25h": expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`],
  ];
  for (const [args, env, message] of cases) {
    const r = await push(org, args, env);
    assert.is(r.code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${r.stderr}`);
    assert.is(r.stderr.trim().split("\n")[0], message);
    assert.not.match(r.stderr, "building");
  }
  // The flag wins over the variable.
  const ok = await push(org, ["--registry-retries", "2", "--dry-run"], { PKGKIT_REGISTRY_RETRIES: "three" });
  assert.is(ok.code, 0, ok.stderr);
  assert.is(await client.headManifest(`${org}/p`, TAG), undefined, "nothing pushed");
});

test("5xx answers and random delays: the push completes; each retry is one line on stderr without --verbose", async () => {
  const proxy = await startFaultProxy(svc.registries.plain);
  try {
    const delays = randomDelays(150, 7);
    const faulted = new Set<string>();
    proxy.fault = (req) => {
      if (req.method === "PUT" && req.path.includes("/manifests/") && !faulted.has(req.path)) {
        faulted.add(req.path);
        return { status: 503, body: JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "try again" }] }) };
      }
      return delays(req);
    };
    const org = `${proxy.address}/${RUN}-busy`;
    const r = await push(org, ["--json"]);
    assert.is(r.code, 0, r.stderr);
    const url = `http://${proxy.address}/v2/${RUN}-busy/p/manifests`;
    assert.equal(retryLines(r.stderr), [
      `retrying PUT ${url}/${TAG}-amd64 (2/4) after 503 Service Unavailable (UNAVAILABLE: try again); waiting Ns`,
      `retrying PUT ${url}/${TAG} (2/4) after 503 Service Unavailable (UNAVAILABLE: try again); waiting Ns`,
    ]);
    assert.equal(proxy.requests.filter((q) => q.method === "PUT" && q.path.includes("/manifests/")).map((q) => q.status), [503, 201, 503, 201]);
    const out = JSON.parse(r.stdout) as { packages: { index: { digest: string }; arches: Record<string, { digest: string }> }[] };
    const index = await client.getManifest(`${svc.registries.plain}/${RUN}-busy/p`, TAG);
    assert.is(index?.digest, out.packages[0]!.index.digest);
    assert.is(index?.mediaType, MediaTypes.dockerManifestList);
    assert.equal(index?.json.manifests?.map((d) => `${d.platform?.os}/${d.platform?.architecture} ${d.digest}`), [`linux/amd64 ${out.packages[0]!.arches.amd64!.digest}`]);
  } finally {
    await proxy.stop();
  }
});

test("a registry that stops answering: exit 1 within the bound, naming the registry and the request; no tag written", async () => {
  const proxy = await startFaultProxy(svc.registries.plain);
  try {
    proxy.fault = (req) => (req.method === "PUT" && req.path.includes("/manifests/") ? { stall: true } : undefined);
    const org = `${proxy.address}/${RUN}-stall`;
    const r = await push(org, ["--registry-timeout", "1s"], { PKGKIT_REGISTRY_RETRIES: "1" });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, `registry ${proxy.address} did not answer PUT /v2/${RUN}-stall/p/manifests/${TAG}-amd64 within 1.0s (2 attempts)`);
    assert.equal(retryLines(r.stderr), [`retrying PUT http://${proxy.address}/v2/${RUN}-stall/p/manifests/${TAG}-amd64 (2/2) after no answer within 1.0s; waiting Ns`]);
    assert.is(await client.headManifest(`${svc.registries.plain}/${RUN}-stall/p`, `${TAG}-amd64`), undefined);
    assert.is(await client.headManifest(`${svc.registries.plain}/${RUN}-stall/p`, TAG), undefined);
  } finally {
    await proxy.stop();
  }
});

test("a registry whose storage is full: exit 1 with its own message (no space left on device), no manifest written", async () => {
  const mnt = join(TMP, "full");
  mkdirSync(mnt);
  const mounted = sh(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
  assert.is(mounted.code, 0, `mount -t tmpfs (this test needs root, as test/env/start.sh does): ${mounted.stderr}`);
  const big = tmpRepo({ "p/Dockerfile": "FROM scratch\nCOPY data /data\n", "p/build.yml": "image: big\narches: [amd64]\n" });
  writeFileSync(join(big.dir, "p/data"), randomBytes(12 * 1024 * 1024));
  big.commit();
  const reg = await startRegistry({ dataDir: join(mnt, "data") });
  try {
    const org = `${reg.address}/${RUN}-full`;
    const r = await shAsync([process.execPath, BIN, "push", "--disable-content-trust", "--registry-retries", "1", "--org", org, join(big.dir, "p")], big.dir);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`registry ${reg.address} answered 500 Internal Server Error to (PUT|POST) /v2/${RUN}-full/big/blobs/uploads/\\S*: UNKNOWN: unknown error: .*no space left on device \\(2 attempts\\)`));
    assert.equal(await createRegistry().listTags(`${org}/big`), []);
  } finally {
    await reg.stop();
    sh(["umount", mnt]);
    big.rm();
  }
});

test.after(() => {
  repo.rm();
  rmSync(TMP, { recursive: true, force: true });
});

test.run();
