// Concurrent index merges against the real registry, through the fault-injecting proxy: four
// `pkgkit push --arches <arch>` processes of one package at once, and the index they end with.
//
// Each trial is one package: each of the four processes pushes one arch of every trial's package
// (`--jobs` high enough that all trials run at once), so 20 trials cost four processes, not 80.
// The images are built once and tagged for each trial's package in the local engine, so a trial
// costs its pushes and the merge, not a build.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { BIN, must, pkgkit, shAsync, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { randomDelays, startFaultProxy, type FaultProxy } from "../fault-proxy.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import { MediaTypes } from "../../lib/registry/types.ts";

const svc = services();
const RUN = `t${process.pid}${Date.now().toString(36)}`;
const ARCHES = ["amd64", "arm64", "arm", "riscv64"] as const;
const PLATFORM = { amd64: "linux/amd64", arm64: "linux/arm64", arm: "linux/arm/v7", riscv64: "linux/riscv64" } as const;
const TRIALS = 20;
const client = createRegistry({});
const files = { Dockerfile: "FROM scratch\nCOPY hello.txt /\n", "hello.txt": "hello\n" };

// One package per trial (the image name differs, so does its tag); the images come from one build.
const repo = tmpRepo({
  ...Object.fromEntries(Object.entries(files).map(([f, t]) => [`built/${f}`, t])),
  "built/build.yml": `image: built\narches: [${ARCHES.map((a) => JSON.stringify(a)).join(", ")}]\n`,
  ...Object.fromEntries(
    Array.from({ length: TRIALS }, (_, i) => [
      ...Object.entries(files).map(([f, t]) => [`t${i}/${f}`, t]),
      [`t${i}/build.yml`, `image: t${i}\narches: [${ARCHES.map((a) => JSON.stringify(a)).join(", ")}]\n`],
    ]).flat(),
  ),
});
const dirs = Array.from({ length: TRIALS }, (_, i) => join(repo.dir, `t${i}`));
const built = pkgkit(["build", "--org", RUN, join(repo.dir, "built")]);
assert.is(built.code, 0, built.stderr);
const builtRef = pkgkit(["show-tag", "--org", RUN, join(repo.dir, "built")]).stdout.trim();

/** Tags the built images as every trial package's, under `org`; returns each trial's index ref. */
async function prepare(org: string): Promise<string[]> {
  const refs = pkgkit(["show-tag", "--org", org, ...dirs]).stdout.trim().split("\n");
  assert.is(refs.length, TRIALS);
  const tags = refs.flatMap((ref) => ARCHES.map((a) => ["docker", "tag", `${builtRef}-${a}`, `${ref}-${a}`]));
  for (let i = 0; i < tags.length; i += 8) await Promise.all(tags.slice(i, i + 8).map((cmd) => shAsync(cmd).then((r) => assert.is(r.code, 0, r.stderr))));
  return refs;
}

/** Four processes at once, one per arch, each pushing its arch of every trial's package through the proxy. */
async function race(proxy: FaultProxy, name: string) {
  const org = `${proxy.address}/${RUN}-${name}`;
  const refs = await prepare(org);
  const runs = await Promise.all(
    ARCHES.map((arch) => shAsync([process.execPath, BIN, "push", "--disable-content-trust", "--jobs", String(2 * TRIALS), "--org", org, "--arches", arch, ...dirs])),
  );
  runs.forEach((r, i) => assert.is(r.code, 0, `push --arches ${ARCHES[i]}: ${r.stderr}`));
  // Read back from the registry itself, not through the proxy.
  const lost: string[] = [];
  for (const ref of refs.map((r) => r.replace(proxy.address, svc.registries.plain))) {
    const [repository, tag] = [ref.slice(0, ref.lastIndexOf(":")), ref.slice(ref.lastIndexOf(":") + 1)];
    const index = await client.getManifest(repository, tag);
    assert.is(index?.mediaType, MediaTypes.dockerManifestList, `${ref} is an index`);
    const entries = index!.json.manifests!;
    const listed = entries.map((d) => [d.platform!.os, d.platform!.architecture, d.platform!.variant].filter(Boolean).join("/")).sort();
    if (listed.join() !== Object.values(PLATFORM).sort().join()) lost.push(`${ref}: ${listed.join(", ")}`);
    for (const arch of ARCHES) {
      const entry = entries.find((d) => `${d.platform!.os}/${d.platform!.architecture}${d.platform!.variant ? `/${d.platform!.variant}` : ""}` === PLATFORM[arch]);
      if (!entry) continue;
      assert.is(entry.digest, (await client.headManifest(repository, `${tag}-${arch}`))?.digest, `${ref} ${arch}: the entry is the per-arch tag's digest`);
      assert.is(entry.mediaType, MediaTypes.dockerManifest);
    }
  }
  assert.equal(lost, [], `${lost.length} of ${TRIALS} indexes lack an arch`);
  return runs;
}

const isIndexPut = (method: string, path: string) => method === "PUT" && /\/manifests\/[0-9a-f]{40}$/.test(path);

/**
 * Holds each trial's per-arch manifest PUTs until all four have arrived, then lets them go
 * together (each with the fault `then` gives it): the four writers reach their merges at the same
 * moment, however far apart their builds, exports and uploads finished.
 */
function perArchBarrier(then: FaultProxy["fault"]): FaultProxy["fault"] {
  const barriers = new Map<string, { arrived: number; open: () => void; opened: Promise<void> }>();
  return (req) => {
    const fault = then(req);
    const repository = /^\/v2\/(.+)\/manifests\/[0-9a-f]{40}-[a-z0-9]+$/.exec(req.path)?.[1];
    if (req.method !== "PUT" || !repository) return fault;
    let b = barriers.get(repository);
    if (!b) {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      barriers.set(repository, (b = { arrived: 0, open, opened }));
    }
    if (++b.arrived === ARCHES.length) b.open();
    return { ...(fault && "delayMs" in fault ? fault : {}), waitFor: b.opened };
  };
}

// Both races run at the same time (each on its own proxy and repositories), so the suite waits once.
const spread = randomDelays(1000, 11);
// Half the index PUTs at once, half 1.5 s late: a late one lands after the quick writers have read theirs back.
const indexPutDelay: FaultProxy["fault"] = (req) => ({ delayMs: ((spread(req) as { delayMs: number }).delayMs >= 500 ? 1500 : 0) });
const proxies = {
  random: await startFaultProxy(svc.registries.plain, perArchBarrier(randomDelays(400, 7))),
  slowput: await startFaultProxy(svc.registries.plain, perArchBarrier((req) => (isIndexPut(req.method, req.path) ? indexPutDelay(req) : undefined))),
};
const races = { random: race(proxies.random, "random"), slowput: race(proxies.slowput, "slowput") };
// Settled here, judged in the tests.
for (const r of Object.values(races)) r.catch(() => undefined);

/** Per trial repository: how many index PUTs reached the registry (more than one: writers overlapped). */
function indexWrites(proxy: FaultProxy): number[] {
  const counts = new Map<string, number>();
  for (const r of proxy.requests) {
    const repository = /^\/v2\/(.+)\/manifests\/[0-9a-f]{40}$/.exec(r.path)?.[1];
    if (r.method === "PUT" && repository && r.status === 201) counts.set(repository, (counts.get(repository) ?? 0) + 1);
  }
  return [...counts.values()];
}

for (const [name, what] of [["random", "random 0-400 ms delays on every request"], ["slowput", "index PUTs delayed 0 or 1.5 s"]] as const) {
  test(`4 concurrent single-arch pushes, ${what}: all 4 arches in the index in ${TRIALS} of ${TRIALS} trials`, async () => {
    const runs = await races[name];
    const writes = indexWrites(proxies[name]);
    const again = runs.map((r) => r.stderr.match(/merging again/g)?.length ?? 0).reduce((a, b) => a + b, 0);
    console.log(`  ${name}: index writes per trial ${writes.join(" ")}; merges repeated after a lost race: ${again}`);
    // A race was run, not four writers one after another: in most trials several writers wrote the index.
    assert.ok(writes.filter((n) => n > 1).length >= TRIALS / 2, `writers overlapped in only ${writes.filter((n) => n > 1).length} of ${TRIALS} trials`);
  });
}

test.after(async () => {
  for (const p of Object.values(proxies)) await p.stop();
  repo.rm();
  const images = must(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n").filter((r) => r.includes(`/${RUN}`) || r.startsWith(`${RUN}/`));
  if (images.length) must(["docker", "rmi", "-f", ...images]);
});

test.run();
