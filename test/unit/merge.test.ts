// The index merge protocol (lib/push.ts mergeIndex) against the in-memory registry with fault
// hooks: many interleavings of concurrent writers, failed and lost writes, what an index keeps.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mergeIndex, pushImage, type OwnArch } from "../../lib/push.ts";
import { platformKey } from "../../lib/names.ts";
import type { ImageBlobs } from "../../lib/image.ts";
import { createMemoryRegistry, type MemoryFault, type MemoryRegistry } from "../../lib/registry/memory.ts";
import { sha256 } from "../../lib/registry/digest.ts";
import { MediaTypes, type Descriptor } from "../../lib/registry/types.ts";
import { ARCHES, PLATFORMS, type Arch } from "../../lib/spec.ts";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { run } from "../../lib/run.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";

const REPO = "registry.test/demo/app";
const TAG = "h1";
const bytesOf = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** xorshift32: seeded, so a failing trial can be replayed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/** Pushes a tiny image for `arch` under `<tag>-<arch>`, as pushImage does: blob first, then the manifest. */
async function pushArch(registry: MemoryRegistry, arch: Arch, n = 0, tag = TAG): Promise<OwnArch> {
  const config = bytesOf({ ...PLATFORMS[arch], n });
  const configDesc = { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length };
  await registry.uploadBlob(REPO, { digest: configDesc.digest, size: configDesc.size, data: config });
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configDesc, layers: [] });
  const digest = await registry.putManifest(REPO, `${tag}-${arch}`, manifest, MediaTypes.dockerManifest);
  return { arch, digest, descriptor: { mediaType: MediaTypes.dockerManifest, digest, size: manifest.length, platform: { ...PLATFORMS[arch] } } };
}

/** The per-arch tags in the registry and the index's entries, as `platform=digest`, sorted. */
async function state(registry: MemoryRegistry, tag = TAG) {
  const heads = await Promise.all(ARCHES.map((a) => registry.headManifest(REPO, `${tag}-${a}`)));
  const tagged = ARCHES.flatMap((a, i) => (heads[i] ? [`${platformKey(PLATFORMS[a])}=${heads[i]!.digest}`] : [])).sort();
  const index = await registry.getManifest(REPO, tag);
  const listed = (index?.json.manifests ?? []).map((d) => `${platformKey(d.platform)}=${d.digest}`).sort();
  return { tagged, listed, index };
}

const quiet = (registry: MemoryRegistry) => (registry.fault = () => undefined);

test("2-8 concurrent writers, random delays before and after every call: every trial ends with every arch in the index", async () => {
  const TRIALS = 400;
  const failures: string[] = [];
  const trial = async (t: number) => {
    const rnd = random(1000 + t);
    const registry = createMemoryRegistry(() => ({ delayMs: Math.floor(rnd() * 4), delayAfterMs: Math.floor(rnd() * 4) }));
    const writers = 2 + (t % 7);
    const arches = [...ARCHES].sort(() => rnd() - 0.5).slice(0, writers);
    const release = t % 4 === 0 ? ["v1"] : [];
    const results = await Promise.allSettled(
      arches.map(async (arch) => {
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 5)));
        const own = await pushArch(registry, arch);
        return mergeIndex(registry, REPO, TAG, [own], { alsoTag: release });
      }),
    );
    quiet(registry);
    const rejected = results.filter((r) => r.status === "rejected");
    const { tagged, listed, index } = await state(registry);
    if (rejected.length) failures.push(`trial ${t}: ${rejected.length} writer(s) failed: ${(rejected[0] as PromiseRejectedResult).reason}`);
    else if (tagged.length !== writers || listed.join() !== tagged.join()) failures.push(`trial ${t} (${writers} writers): tagged ${tagged.join(" ")}, index lists ${listed.join(" ")}`);
    else if (release.length && (await registry.headManifest(REPO, "v1"))?.digest !== index!.digest) failures.push(`trial ${t}: the release tag is not the final index`);
  };
  // Trials are independent (one registry each): run 50 at a time.
  for (let t = 0; t < TRIALS; t += 50) await Promise.all(Array.from({ length: 50 }, (_, i) => trial(t + i)));
  assert.is(failures.length, 0, `${failures.length} of ${TRIALS} trials lost an arch:\n${failures.slice(0, 3).join("\n")}`);
});

test("a stale writer's index PUT lands after another writer confirmed its merge: the stale writer sees the arch missing and merges again", async () => {
  const registry = createMemoryRegistry();
  const arm64 = await pushArch(registry, "arm64");
  // Hold the arm64 writer's index PUT (it read the tags before amd64's existed) until amd64's merge has returned.
  let arrived!: () => void;
  let release!: () => void;
  const atPut = new Promise<void>((r) => (arrived = r));
  const gate = new Promise<void>((r) => (release = r));
  registry.fault = (c) => {
    if (c.method !== "putManifest" || c.reference !== TAG || registry.calls.some((o) => o.fault?.waitFor)) return undefined;
    arrived();
    return { waitFor: gate };
  };
  const lines: string[] = [];
  const slow = mergeIndex(registry, REPO, TAG, [arm64], { log: (l) => lines.push(l) });
  await atPut;
  const amd64 = await pushArch(registry, "amd64");
  const fast = await mergeIndex(registry, REPO, TAG, [amd64]);
  assert.equal(fast.manifests.map((d) => platformKey(d.platform)), ["linux/amd64", "linux/arm64"]);
  release();
  const merged = await slow;
  assert.equal(merged.manifests.map((d) => `${platformKey(d.platform)}=${d.digest}`), [`linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`]);
  assert.equal((await state(registry)).listed, [`linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`]);
  assert.equal(lines, [`${REPO}:${TAG} lacks linux/amd64 (another writer replaced it, or the registry did not keep the write); merging again (round 2 of 10)`]);
});

test("a writer whose index PUT fails exits with the registry's error; one whose PUT was stored but unanswered fails too", async () => {
  for (const [fault, message] of [
    [{ status: 500 }, "failed putManifest registry.test/demo/app h1: 500"],
    [{ lose: "answer" }, "connection reset during putManifest registry.test/demo/app h1"],
  ] as [MemoryFault, string][]) {
    const registry = createMemoryRegistry();
    const own = await pushArch(registry, "amd64");
    registry.fault = (c) => (c.method === "putManifest" && c.reference === TAG ? fault : undefined);
    try {
      await mergeIndex(registry, REPO, TAG, [own]);
      assert.unreachable("the merge must fail");
    } catch (e) {
      assert.match((e as Error).message, message);
    }
  }
});

test("a read-back that fails fails the merge (never assumed to have worked)", async () => {
  const registry = createMemoryRegistry();
  const own = await pushArch(registry, "amd64");
  let gets = 0;
  registry.fault = (c) => (c.method === "getManifest" && ++gets === 2 ? { status: 503 } : undefined);
  try {
    await mergeIndex(registry, REPO, TAG, [own]);
    assert.unreachable("the merge must fail");
  } catch (e) {
    assert.match((e as Error).message, "failed getManifest registry.test/demo/app h1: 503");
  }
  assert.ok(registry.calls.some((c) => c.method === "putManifest" && c.reference === TAG), "the index was written before the read-back failed");
});

test("a PUT that reports success but is not stored is written again; one never stored fails after the bounded rounds, saying what to do", async () => {
  const registry = createMemoryRegistry();
  const own = await pushArch(registry, "amd64");
  let puts = 0;
  registry.fault = (c) => (c.method === "putManifest" && c.reference === TAG && ++puts === 1 ? { lose: "write" } : undefined);
  const merged = await mergeIndex(registry, REPO, TAG, [own]);
  assert.is(puts, 2);
  assert.equal((await state(registry)).listed, [`linux/amd64=${own.digest}`]);
  assert.is(merged.written, true);

  const never = createMemoryRegistry();
  const mine = await pushArch(never, "arm64");
  never.fault = (c) => (c.method === "putManifest" && c.reference === TAG ? { lose: "write" } : undefined);
  try {
    await mergeIndex(never, REPO, TAG, [mine], { attempts: 3 });
    assert.unreachable("the merge must fail");
  } catch (e) {
    assert.is(
      (e as Error).message,
      "registry.test/demo/app:h1: the index still lacks linux/arm64 after 3 rounds or 120 s (other writers kept replacing it, or the registry did not keep what pkgkit wrote). The per-arch images are pushed; run the push again to merge them.",
    );
  }
  assert.is(never.calls.filter((c) => c.method === "putManifest" && c.reference === TAG).length, 3);
});

test("the index covers per-arch tags pushed by others, at the digest each tag has now", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const old = await pushArch(registry, "arm64", 1);
  await mergeIndex(registry, REPO, TAG, [amd64, old]);
  // arm64 is pushed again (another build) and riscv64 appears, both without an index merge.
  const arm64 = await pushArch(registry, "arm64", 2);
  const riscv64 = await pushArch(registry, "riscv64");
  const lines: string[] = [];
  const merged = await mergeIndex(registry, REPO, TAG, [amd64], { log: (l) => lines.push(l) });
  assert.equal(merged.manifests.map((d) => `${platformKey(d.platform)}=${d.digest}`).sort(), [`linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`, `linux/riscv64=${riscv64.digest}`]);
  assert.equal(lines, []);
});

test("our own tag moved to another digest: the index lists the tag's digest, and says so; our tag gone: refused", async () => {
  const registry = createMemoryRegistry();
  const mine = await pushArch(registry, "amd64", 1);
  const theirs = await pushArch(registry, "amd64", 2);
  const lines: string[] = [];
  const merged = await mergeIndex(registry, REPO, TAG, [mine], { log: (l) => lines.push(l) });
  assert.equal(merged.manifests.map((d) => d.digest), [theirs.digest]);
  assert.equal(lines, [`${REPO}:${TAG}-amd64 is now ${theirs.digest} (pushed by another writer), not ${mine.digest}; the index lists the tag's digest`]);
  registry.remove(REPO, `${TAG}-amd64`);
  try {
    await mergeIndex(registry, REPO, TAG, [mine]);
    assert.unreachable("must refuse");
  } catch (e) {
    assert.is((e as Error).message, `${REPO}:${TAG}-amd64 (${mine.digest}) is not in the registry any more; not writing an index without it. Run the push again.`);
  }
});

test("kept: entries for platforms pkgkit does not know, attestations of kept images; dropped: dangling entries, attestations of replaced images", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64", 1);
  const arm64 = await pushArch(registry, "arm64", 1);
  // An image pkgkit has no arch for (windows/amd64), pushed by digest only, and one that will vanish.
  const foreign = async (n: number, platform: Descriptor["platform"]) => {
    const own = await pushArch(registry, "s390x", n, `tmp${n}`);
    registry.remove(REPO, `tmp${n}-s390x`);
    return { ...own.descriptor!, platform: platform! };
  };
  const windows = await foreign(3, { os: "windows", architecture: "amd64" });
  const gone = await foreign(4, { os: "linux", architecture: "sparc" });
  const attestation = async (of: string, n: number): Promise<Descriptor> => ({
    ...(await foreign(10 + n, { os: "unknown", architecture: "unknown" })),
    annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": of },
  });
  const keptAtt = await attestation(amd64.digest, 5);
  const droppedAtt = await attestation(arm64.digest, 6);
  const existing = [amd64.descriptor!, arm64.descriptor!, windows, gone, keptAtt, droppedAtt];
  await registry.putManifest(REPO, TAG, bytesOf({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: existing }), MediaTypes.ociIndex);
  registry.remove(REPO, gone.digest);
  const newArm64 = await pushArch(registry, "arm64", 2);
  const lines: string[] = [];
  const merged = await mergeIndex(registry, REPO, TAG, [newArm64], { log: (l) => lines.push(l) });
  assert.equal(merged.manifests.map((d) => `${platformKey(d.platform)}=${d.digest}`), [
    `linux/amd64=${amd64.digest}`, `linux/arm64=${newArm64.digest}`, `windows/amd64=${windows.digest}`, `unknown/unknown=${keptAtt.digest}`,
  ]);
  assert.is(merged.mediaType, MediaTypes.ociIndex, "an existing index keeps its media type");
  assert.equal(lines, [`${REPO}: dropping index entry linux/sparc ${gone.digest}: its manifest is no longer in the registry`]);
});

test("another writer's attestation manifest (unknown/unknown, for its amd64 image) and an unknown/unknown entry of no known kind stay when we merge arm64 in", async () => {
  const registry = createMemoryRegistry();
  // Another writer (buildx with --attest, say) pushed amd64 and wrote an index with its attestation manifest.
  const amd64 = await pushArch(registry, "amd64", 1);
  const unknownEntry = async (n: number, annotations?: Record<string, string>): Promise<Descriptor> => {
    const own = await pushArch(registry, "s390x", n, `other${n}`);
    registry.remove(REPO, `other${n}-s390x`);
    return { ...own.descriptor!, platform: { os: "unknown", architecture: "unknown" }, ...(annotations ? { annotations } : {}) };
  };
  const theirAttestation = await unknownEntry(20, { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd64.digest });
  const opaque = await unknownEntry(21);
  await registry.putManifest(REPO, TAG, bytesOf({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [amd64.descriptor!, theirAttestation, opaque] }), MediaTypes.ociIndex);
  const arm64 = await pushArch(registry, "arm64", 1);
  await mergeIndex(registry, REPO, TAG, [arm64]);
  const index = (await registry.getManifest(REPO, TAG))!;
  const entries = index.json.manifests!;
  assert.equal(entries.map((d) => `${platformKey(d.platform)}=${d.digest}`).sort(), [
    `linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`, `unknown/unknown=${opaque.digest}`, `unknown/unknown=${theirAttestation.digest}`,
  ].sort());
  assert.equal(entries.find((d) => d.digest === theirAttestation.digest)!.annotations, theirAttestation.annotations, "kept as written, annotations included");
});

test("release tags: pointed at the merged index, and again when the index is already complete", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const first = await mergeIndex(registry, REPO, TAG, [amd64]);
  assert.is(await registry.headManifest(REPO, "v1.0"), undefined);
  const again = await mergeIndex(registry, REPO, TAG, [amd64], { alsoTag: ["v1.0"] });
  assert.is(again.written, false, "the index itself was complete");
  assert.is(again.digest, first.digest);
  assert.is((await registry.headManifest(REPO, "v1.0"))?.digest, first.digest);
  // A release tag that a lost write never stored: pointed again, then confirmed.
  registry.remove(REPO, "v1.0");
  let lost = 0;
  registry.fault = (c) => (c.method === "putManifest" && c.reference === "v1.0" && ++lost === 1 ? { lose: "write" } : undefined);
  await mergeIndex(registry, REPO, TAG, [amd64], { alsoTag: ["v1.0"] });
  assert.is(lost, 2);
  assert.is((await registry.headManifest(REPO, "v1.0"))?.digest, first.digest);
});

test("another writer's per-arch tag holding another platform's image is not listed as that arch: refused, no index written", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const manifest = (await registry.getManifest(REPO, `${TAG}-amd64`))!;
  await registry.putManifest(REPO, `${TAG}-arm64`, manifest.bytes, manifest.mediaType); // the amd64 image, tagged as arm64
  const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}:${TAG}-arm64 (${amd64.digest}) holds a linux/amd64 image, not linux/arm64; not listing it in the index as that arch. Delete the tag or push the arm64 image to it again.`);
  assert.is((await state(registry)).index, undefined);
  // An arm64 image there is listed, its config read once.
  const arm64 = await pushArch(registry, "arm64", 1);
  const merged = await mergeIndex(registry, REPO, TAG, [amd64]);
  assert.equal(merged.manifests.map((d) => `${platformKey(d.platform)}=${d.digest}`), [`linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`]);
});

test("pushImage: only a 400 MANIFEST_BLOB_UNKNOWN is put again; another 400 or another status with that code is reported at once", async () => {
  const config = bytesOf({ ...PLATFORMS.amd64, n: 2 });
  const configBlob = { digest: sha256(config), size: config.length, data: config };
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: configBlob.digest, size: config.length }, layers: [] });
  const image: ImageBlobs = {
    config: configBlob, layers: [], platform: { ...PLATFORMS.amd64 },
    manifest: { bytes: manifest, digest: sha256(manifest), size: manifest.length, mediaType: MediaTypes.dockerManifest },
  };
  for (const refusal of [{ status: 400, message: "MANIFEST_INVALID: manifest invalid" }, { status: 404, message: "MANIFEST_BLOB_UNKNOWN: blob unknown to registry" }]) {
    const registry = createMemoryRegistry((c) => (c.method === "putManifest" ? refusal : undefined));
    const failed = await pushImage(registry, REPO, `${TAG}-amd64`, image).then(() => "pushed", (e: Error) => e.message);
    assert.match(failed, refusal.message.split(":")[0]!);
    assert.is(registry.calls.filter((c) => c.method === "putManifest").length, 1, refusal.message);
  }
});

test("a new index is a Docker manifest list when every entry is a Docker manifest, else (a Docker and an OCI image) an OCI index; a per-arch tag holding an index is refused", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  assert.is((await mergeIndex(registry, REPO, TAG, [amd64])).mediaType, MediaTypes.dockerManifestList);
  const ociRegistry = createMemoryRegistry();
  await pushArch(ociRegistry, "amd64");
  const config = bytesOf({ ...PLATFORMS.arm64 });
  await ociRegistry.uploadBlob(REPO, { digest: sha256(config), size: config.length, data: config });
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length }, layers: [] });
  const digest = await ociRegistry.putManifest(REPO, `${TAG}-arm64`, manifest, MediaTypes.ociManifest);
  const arm64: OwnArch = { arch: "arm64", digest, descriptor: { mediaType: MediaTypes.ociManifest, digest, size: manifest.length, platform: { ...PLATFORMS.arm64 } } };
  assert.is((await mergeIndex(ociRegistry, REPO, TAG, [arm64])).mediaType, MediaTypes.ociIndex);
  const index = (await registry.getManifest(REPO, TAG))!;
  await registry.putManifest(REPO, `${TAG}-arm64`, index.bytes, index.mediaType);
  const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
  assert.match(error, `${REPO}:${TAG}-arm64 is a multi-arch index`);
});

test("a single image at the index tag is not replaced", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  await registry.putManifest(REPO, TAG, (await registry.getManifest(REPO, amd64.digest))!.bytes, MediaTypes.dockerManifest);
  try {
    await mergeIndex(registry, REPO, TAG, [amd64]);
    assert.unreachable("must refuse");
  } catch (e) {
    assert.match((e as Error).message, `${REPO}:${TAG} is a single image (${MediaTypes.dockerManifest}), not a multi-arch index`);
  }
});

test("memory registry: refuses an index naming an unknown manifest and a manifest naming an unknown blob, as distribution does", async () => {
  const registry = createMemoryRegistry();
  const missing = `sha256:${"a".repeat(64)}`;
  const attempt = (bytes: Uint8Array, type: string) => registry.putManifest(REPO, "x", bytes, type).then(() => "stored", (e: Error) => e.message);
  assert.match(await attempt(bytesOf({ schemaVersion: 2, manifests: [{ mediaType: MediaTypes.dockerManifest, digest: missing, size: 1 }] }), MediaTypes.dockerManifestList), `MANIFEST_BLOB_UNKNOWN (manifest ${missing})`);
  assert.match(await attempt(bytesOf({ schemaVersion: 2, config: { mediaType: MediaTypes.dockerConfig, digest: missing, size: 1 }, layers: [] }), MediaTypes.dockerManifest), `MANIFEST_BLOB_UNKNOWN (blob ${missing})`);
  assert.equal(await registry.listTags(REPO), []);
});

test("pushImage: a manifest refused as naming an unknown blob while every blob is there is put again; with a blob missing the refusal stands", async () => {
  const config = bytesOf({ ...PLATFORMS.amd64 });
  const configBlob = { digest: sha256(config), size: config.length, data: config };
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: configBlob.digest, size: config.length }, layers: [] });
  const image: ImageBlobs = {
    config: configBlob, layers: [], platform: { ...PLATFORMS.amd64 },
    manifest: { bytes: manifest, digest: sha256(manifest), size: manifest.length, mediaType: MediaTypes.dockerManifest },
  };
  const refusal: MemoryFault = { status: 400, message: "MANIFEST_BLOB_UNKNOWN: blob unknown to registry" };
  const registry = createMemoryRegistry();
  let puts = 0;
  registry.fault = (c) => (c.method === "putManifest" && ++puts === 1 ? refusal : undefined);
  const pushed = await pushImage(registry, REPO, `${TAG}-amd64`, image);
  assert.is(pushed.descriptor.digest, image.manifest.digest);
  assert.is(puts, 2);
  assert.is((await registry.headManifest(REPO, `${TAG}-amd64`))?.digest, image.manifest.digest);
  // A refusal that persists is reported after the bounded attempts; a refusal with a blob really missing is reported at once.
  const always = createMemoryRegistry((c) => (c.method === "putManifest" ? refusal : undefined));
  const failed = await pushImage(always, REPO, `${TAG}-amd64`, image).then(() => "pushed", (e: Error) => e.message);
  assert.match(failed, "answered 400 to putManifest registry.test/demo/app h1-amd64 (MANIFEST_BLOB_UNKNOWN");
  assert.is(always.calls.filter((c) => c.method === "putManifest").length, 3);
  const lostBlob = createMemoryRegistry();
  lostBlob.fault = (c) => (c.method === "uploadBlob" ? { lose: "write" } : c.method === "putManifest" ? refusal : undefined);
  assert.match(await pushImage(lostBlob, REPO, `${TAG}-amd64`, image).then(() => "pushed", (e: Error) => e.message), "MANIFEST_BLOB_UNKNOWN");
  assert.is(lostBlob.calls.filter((c) => c.method === "putManifest").length, 1);
});

test("pushImage: a blob seen in another repository of the same host is mounted, one already there counted as existing, the rest uploaded; where each went is recorded", async () => {
  const blobOf = (v: unknown) => {
    const data = bytesOf(v);
    return { digest: sha256(data), size: data.length, data };
  };
  const config = blobOf({ ...PLATFORMS.amd64 });
  const [shared, fromOtherHost, alsoFromOtherHost, fresh] = [blobOf("shared"), blobOf("other host"), blobOf("other host too"), blobOf("fresh")];
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: config.digest, size: config.size }, layers: [shared, fromOtherHost, alsoFromOtherHost, fresh].map((b) => ({ mediaType: MediaTypes.dockerLayerGzip, digest: b.digest, size: b.size })) });
  const image: ImageBlobs = {
    config, layers: [shared, fromOtherHost, alsoFromOtherHost, fresh], platform: { ...PLATFORMS.amd64 },
    manifest: { bytes: manifest, digest: sha256(manifest), size: manifest.length, mediaType: MediaTypes.dockerManifest },
  };
  const registry = createMemoryRegistry();
  const base = "registry.test/demo/base";
  const elsewhere = "other.test/demo/base";
  for (const [repository, blob] of [[REPO, config], [base, shared], [elsewhere, fromOtherHost], [elsewhere, alsoFromOtherHost]] as const) await registry.uploadBlob(repository, blob);
  const seen = new Map([[shared.digest, [base]], [fromOtherHost.digest, [elsewhere]], [alsoFromOtherHost.digest, [elsewhere]], [fresh.digest, [REPO]]]);
  const pushed = await pushImage(registry, REPO, `${TAG}-amd64`, image, seen);
  assert.equal(pushed.blobs, { exists: 1, mounted: 1, uploaded: 3 });
  assert.equal(pushed, {
    ref: `${REPO}:${TAG}-amd64`,
    descriptor: { mediaType: MediaTypes.dockerManifest, digest: image.manifest.digest, size: manifest.length, platform: { ...PLATFORMS.amd64 } },
    blobs: pushed.blobs,
  });
  assert.equal(Object.fromEntries(seen), { [config.digest]: [REPO], [shared.digest]: [base, REPO], [fromOtherHost.digest]: [elsewhere, REPO], [alsoFromOtherHost.digest]: [elsewhere, REPO], [fresh.digest]: [REPO] });
});

test("pushImage: the manifest PUT it tries again says so through its log, as registry retries do", async () => {
  const config = bytesOf({ ...PLATFORMS.arm64 });
  const configBlob = { digest: sha256(config), size: config.length, data: config };
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: configBlob.digest, size: config.length }, layers: [] });
  const image: ImageBlobs = {
    config: configBlob, layers: [], platform: { ...PLATFORMS.arm64 },
    manifest: { bytes: manifest, digest: sha256(manifest), size: manifest.length, mediaType: MediaTypes.dockerManifest },
  };
  let puts = 0;
  const registry = createMemoryRegistry((c) => (c.method === "putManifest" && ++puts <= 2 ? { status: 400, message: "MANIFEST_BLOB_UNKNOWN: blob unknown to registry" } : undefined));
  const lines: string[] = [];
  await pushImage(registry, REPO, `${TAG}-arm64`, image, new Map(), { log: (l) => lines.push(l) });
  assert.equal(lines.map((l) => l.replace(/waiting [\d.]+s/, "waiting Ns")), [2, 3].map((n) =>
    `retrying PUT manifest ${REPO}:${TAG}-arm64 (${n}/3) after 400 MANIFEST_BLOB_UNKNOWN though every blob is there (another writer is pushing one of them); waiting Ns`));
});

test("run(): a push plan whose arches are all in the registry merges the index from their tags; a tag gone since the plan fails the step", async () => {
  const shell = await defaultShell();
  const builder = buildxBuilder(shell);
  const [pkg] = (await resolvePackages(shell, [makeDefinition({ image: "app", org: "registry.test/demo" }, join(tmpdir(), "pkg.config.ts"))], { hash: TAG })) as [Package];
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  const remote = new Map<string, Descriptor>([[`${REPO}:${TAG}-amd64`, amd64.descriptor!], [`${REPO}:${TAG}-arm64`, arm64.descriptor!]]);
  const p = plan([pkg], { command: "push", builder, remote, local: new Map(), indexes: new Map() });
  assert.equal(p.steps.map((s) => s.kind), ["skip", "skip", "index"]);
  const result = await run(p, { shell, builder, registry });
  assert.ok(result.ok, JSON.stringify(result.steps.map((s) => s.error)));
  assert.equal((await state(registry)).listed, [`linux/amd64=${amd64.digest}`, `linux/arm64=${arm64.digest}`]);

  registry.remove(REPO, TAG);
  registry.remove(REPO, `${TAG}-arm64`);
  const failed = await run(p, { shell, builder, registry });
  assert.is(failed.ok, false);
  assert.is(failed.steps[2]!.error, `${REPO}:${TAG}-arm64 (${arm64.digest}) is not in the registry any more; not writing an index without it. Run the push again.`);
  assert.is(await registry.getManifest(REPO, TAG), undefined, "no index written");
});

/** A one-blob image for `arch` as pushImage takes it. */
function imageOf(arch: Arch, n = 0): ImageBlobs {
  const config = bytesOf({ ...PLATFORMS[arch], n });
  const manifest = bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length }, layers: [] });
  return {
    config: { digest: sha256(config), size: config.length, data: config }, layers: [], platform: { ...PLATFORMS[arch] },
    manifest: { bytes: manifest, digest: sha256(manifest), size: manifest.length, mediaType: MediaTypes.dockerManifest },
  };
}

test("a registry that stores other bytes than those sent (it rewrites manifests): the image push and the index merge fail, naming the digest stored and the one expected", async () => {
  const rewrite = (bytes: Uint8Array) => bytesOf({ ...JSON.parse(new TextDecoder().decode(bytes)), annotations: { rewritten: "yes" } });
  const image = imageOf("amd64");
  const registry = createMemoryRegistry((c) => (c.method === "putManifest" ? { rewrite } : undefined));
  const failed = await pushImage(registry, REPO, `${TAG}-amd64`, image).then(() => "pushed", (e: Error) => e.message);
  assert.is(failed, `${REPO}:${TAG}-amd64: the registry stored the manifest as ${sha256(rewrite(image.manifest.bytes))}, expected ${image.manifest.digest}`);

  const merging = createMemoryRegistry();
  const own = await pushArch(merging, "amd64");
  let sent: Uint8Array | undefined;
  merging.fault = (c) => (c.method === "putManifest" && c.reference === TAG ? { rewrite: (b) => rewrite((sent = b)) } : undefined);
  const error = await mergeIndex(merging, REPO, TAG, [own]).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}:${TAG}: the registry stored the index as ${sha256(rewrite(sent!))}, expected ${sha256(sent!)}`);
});

test("merges that have something to say run without a log too: our tag moved, a dangling entry dropped, a write lost and merged again", async () => {
  const registry = createMemoryRegistry();
  const mine = await pushArch(registry, "amd64", 1);
  const theirs = await pushArch(registry, "amd64", 2);
  assert.equal((await mergeIndex(registry, REPO, TAG, [mine])).manifests.map((d) => d.digest), [theirs.digest]);

  const gone = await pushArch(registry, "s390x", 3, "tmp");
  const index = (await registry.getManifest(REPO, TAG))!;
  await registry.putManifest(REPO, TAG, bytesOf({ ...index.json, manifests: [...index.json.manifests!, gone.descriptor] }), index.mediaType);
  registry.remove(REPO, gone.digest);
  const arm64 = await pushArch(registry, "arm64");
  let lost = 0;
  registry.fault = (c) => (c.method === "putManifest" && c.reference === TAG && ++lost === 1 ? { lose: "write" } : undefined);
  const merged = await mergeIndex(registry, REPO, TAG, [arm64]);
  assert.equal(merged.manifests.map((d) => d.digest), [theirs.digest, arm64.digest]);
  assert.is(lost, 2, "written again after the lost write");
});

test("the merge stops at its deadline: with timeoutMs 0, one round, then the error says what is still missing", async () => {
  const registry = createMemoryRegistry();
  const own = await pushArch(registry, "amd64");
  registry.fault = (c) => (c.method === "putManifest" && c.reference === TAG ? { lose: "write" } : undefined);
  const error = await mergeIndex(registry, REPO, TAG, [own], { timeoutMs: 0 }).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}:${TAG}: the index still lacks linux/amd64 after 10 rounds or 0 s (other writers kept replacing it, or the registry did not keep what pkgkit wrote). The per-arch images are pushed; run the push again to merge them.`);
  assert.is(registry.calls.filter((c) => c.method === "putManifest" && c.reference === TAG).length, 1);
});

test("another writer's per-arch image with no config, or a config that is not JSON, is not listed as that arch; a config the registry fails to give fails the merge with its error", async () => {
  const cases: [string, (registry: MemoryRegistry) => Promise<Uint8Array>][] = [
    ["no config", async () => bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, layers: [] })],
    ["a config that is not JSON", async (registry) => {
      const config = new TextEncoder().encode("not json {");
      await registry.uploadBlob(REPO, { digest: sha256(config), size: config.length, data: config });
      return bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length }, layers: [] });
    }],
  ];
  for (const [what, manifestIn] of cases) {
    const registry = createMemoryRegistry();
    const amd64 = await pushArch(registry, "amd64");
    const digest = await registry.putManifest(REPO, `${TAG}-arm64`, await manifestIn(registry), MediaTypes.dockerManifest);
    const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
    assert.is(error, `${REPO}:${TAG}-arm64 (${digest}) holds an image whose platform cannot be read (no config, or one that is not JSON), not linux/arm64; not listing it in the index as that arch. Delete the tag or push the arm64 image to it again.`, what);
    assert.is((await state(registry)).index, undefined, what);
  }
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  await pushArch(registry, "arm64");
  registry.fault = (c) => (c.method === "getBlob" ? { status: 503 } : undefined);
  const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
  assert.match(error, /^registry registry\.test failed getBlob registry\.test\/demo\/app sha256:[0-9a-f]{64}: 503$/);
});

test("our image's manifest gone between reading its tag and writing the index: refused, no index pointing at it", async () => {
  const registry = createMemoryRegistry();
  const own = await pushArch(registry, "amd64");
  registry.fault = (c) => {
    if (c.method === "headManifest" && c.reference === own.digest) registry.remove(REPO, own.digest);
    return undefined;
  };
  const error = await mergeIndex(registry, REPO, TAG, [own]).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}@${own.digest} (linux/amd64) is not in the registry; not writing an index that points at it`);
  assert.is((await state(registry)).index, undefined);
});

test("another writer's per-arch image deleted between the tag's HEAD and the read of its manifest fails the merge, naming it, and writes no index", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  registry.fault = (c) => {
    if (c.method === "getManifest" && c.reference === arm64.digest) registry.remove(REPO, arm64.digest);
    return undefined;
  };
  const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}:${TAG}-arm64 (${arm64.digest}) went from the registry while the index was merged; not writing an index without it. Run the push again.`);
  assert.is((await state(registry)).index, undefined);
});

test("another writer's image of the right architecture but another os is refused; an entry the index already lists for a tag's digest is kept as it is, its config not read; no tag but the index's is written", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const config = bytesOf({ os: "windows", architecture: "arm64" });
  await registry.uploadBlob(REPO, { digest: sha256(config), size: config.length, data: config });
  const windows = await registry.putManifest(REPO, `${TAG}-arm64`, bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length }, layers: [] }), MediaTypes.dockerManifest);
  const error = await mergeIndex(registry, REPO, TAG, [amd64]).then(() => "merged", (e: Error) => e.message);
  assert.is(error, `${REPO}:${TAG}-arm64 (${windows}) holds a windows/arm64 image, not linux/arm64; not listing it in the index as that arch. Delete the tag or push the arm64 image to it again.`);

  const arm64 = await pushArch(registry, "arm64");
  const annotated = { ...arm64.descriptor!, annotations: { "org.example.note": "kept" } };
  await registry.putManifest(REPO, TAG, bytesOf({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: [annotated] }), MediaTypes.dockerManifestList);
  registry.calls.length = 0;
  const merged = await mergeIndex(registry, REPO, TAG, [amd64]);
  assert.equal(merged.manifests, [amd64.descriptor, annotated]);
  assert.equal(registry.calls.filter((c) => c.method === "getBlob"), [], "listed already: its config is not read");
  assert.equal(await registry.listTags(REPO), [TAG, `${TAG}-amd64`, `${TAG}-arm64`].sort(), "no release tag asked for, none written");
});

test("pushImage: a refusal naming an unknown blob stands when any one blob is missing, though another is there", async () => {
  const image = imageOf("amd64", 7);
  const layer = bytesOf("a layer");
  const withLayer: ImageBlobs = { ...image, layers: [{ digest: sha256(layer), size: layer.length, data: layer }] };
  const refusal: MemoryFault = { status: 400, message: "MANIFEST_BLOB_UNKNOWN: blob unknown to registry" };
  const registry = createMemoryRegistry((c) => (c.method === "uploadBlob" && c.reference === sha256(layer) ? { lose: "write" } : c.method === "putManifest" ? refusal : undefined));
  assert.match(await pushImage(registry, REPO, `${TAG}-amd64`, withLayer).then(() => "pushed", (e: Error) => e.message), "MANIFEST_BLOB_UNKNOWN");
  assert.is(registry.calls.filter((c) => c.method === "putManifest").length, 1, "not tried again");
});

test.run();
