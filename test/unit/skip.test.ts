// What a push skips and what it does, decided from the registry look-up (recipes/push.ts
// observePush: lookupRegistry, then the engine for what the registry lacks) and plan(), against the
// in-memory registry and a Builder stand-in for the engine: no docker, no registry server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import type { IndexStep, Plan, SkipStep } from "../../lib/plan/schema.ts";
import type { Builder, LocalImage } from "../../lib/builder.ts";
import type { Shell } from "../../lib/shell.ts";
import { createMemoryRegistry, type MemoryRegistry } from "../../lib/registry/memory.ts";
import { RegistryError } from "../../lib/registry/errors.ts";
import { sha256 } from "../../lib/registry/digest.ts";
import { MediaTypes, type Descriptor } from "../../lib/registry/types.ts";
import { PLATFORMS, type Arch } from "../../lib/names.ts";
import { lookupRegistry, observePush, type PushOptions } from "../../recipes/push.ts";

const REPO = "registry.test/demo/app";
const dir = mkdtempSync(join(tmpdir(), "pkgkit-skip-"));
for (const image of ["app", "other"]) {
  mkdirSync(join(dir, image));
  writeFileSync(join(dir, image, "Dockerfile"), "FROM scratch\n");
}

/** A shell that must not be used: the look-ups and plan() start no process. */
const noShell: Shell = {
  name: "zx",
  exec: (argv) => Promise.reject(new Error(`shell stand-in: nothing may run here, asked for ${argv.join(" ")}`)),
};

/** Builder stand-in: answers inspect() from the images it is given, records what it was asked. */
function standInBuilder(images: string[] = []) {
  const asked: string[][] = [];
  const builder: Builder = {
    name: "stand-in",
    command: (req) => ({ argv: ["stand-in-build", req.ref] }),
    async inspect(refs) {
      asked.push([...refs]);
      const found = refs.filter((r) => images.includes(r)).map((ref): [string, LocalImage] => {
        const arch = ref.slice(ref.lastIndexOf("-") + 1) as Arch;
        return [ref, { ref, id: `sha256:local-${arch}`, os: "linux", architecture: PLATFORMS[arch].architecture, labels: {} }];
      });
      return new Map(found);
    },
    save: () => Promise.reject(new Error("builder stand-in: save is not part of planning")),
    saveAll: () => Promise.reject(new Error("builder stand-in: saveAll is not part of planning")),
    provide: () => Promise.reject(new Error("builder stand-in: provide is not part of planning")),
    load: () => Promise.reject(new Error("builder stand-in: load is not part of planning")),
    tag: () => Promise.reject(new Error("builder stand-in: tag is not part of planning")),
    engineArch: async () => undefined,
  };
  return { builder, asked };
}

async function resolve(image: string, hash = "h1"): Promise<Package> {
  const def = makeDefinition({ image, org: "registry.test/demo", disableContentTrust: true }, join(dir, image, "pkg.config.ts"));
  const [pkg] = await resolvePackages(noShell, [def], { hash });
  return pkg!;
}

const pkg = await resolve("app");

/** Pushes a tiny image for `arch` under `<tag>-<arch>` (config blob, then manifest), as a push does; returns its descriptor. */
async function pushArch(registry: MemoryRegistry, arch: Arch, n = 0, repository = REPO, tag = "h1"): Promise<Descriptor> {
  const config = new TextEncoder().encode(JSON.stringify({ ...PLATFORMS[arch], n }));
  const configDesc = { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length };
  await registry.uploadBlob(repository, { digest: configDesc.digest, size: configDesc.size, data: config });
  const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configDesc, layers: [] }));
  const digest = await registry.putManifest(repository, `${tag}-${arch}`, manifest, MediaTypes.dockerManifest);
  return { mediaType: MediaTypes.dockerManifest, digest, size: manifest.length, platform: { ...PLATFORMS[arch] } };
}

/** Writes an index listing `entries` at `tag` (and any `alsoTag`), as a merge does; returns its digest. */
async function putIndex(registry: MemoryRegistry, entries: Descriptor[], tag = "h1", alsoTag: string[] = []): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: entries }));
  let digest = "";
  for (const t of [tag, ...alsoTag]) digest = await registry.putManifest(REPO, t, bytes, MediaTypes.dockerManifestList);
  return digest;
}

/** The plan observePush's look-ups lead to. */
async function pushPlan(registry: MemoryRegistry, builder: Builder, options: Partial<PushOptions> = {}, packages = [pkg]): Promise<Plan> {
  const observed = await observePush(packages, { registry, builder, shell: noShell, ...options });
  return plan(packages, observed.options);
}
const steps = (p: Plan) => p.steps.map((s) => `${s.kind} ${s.id.slice(s.id.lastIndexOf("/", s.id.lastIndexOf(":")) + 1)}: ${s.reason}`);

test("nothing in the registry: each arch the engine has (builder stand-in) is pushed, not built; the other built and pushed; a new index", async () => {
  const registry = createMemoryRegistry();
  const { builder, asked } = standInBuilder([`${REPO}:h1-amd64`]);
  const p = await pushPlan(registry, builder);
  assert.equal(steps(p), [
    "skip app:h1/amd64: exists in local engine",
    "push app:h1/amd64/push: not in registry",
    "build app:h1/arm64: not in registry, not in local engine",
    "push app:h1/arm64/push: not in registry",
    "index app:h1/index: no index in registry yet",
  ]);
  assert.equal(asked, [[`${REPO}:h1-amd64`, `${REPO}:h1-arm64`, `${REPO}:h1`]], "the engine is asked for what the registry lacks (and the plain tag), in one query");
  assert.equal(p.observed?.registry, { [`${REPO}:h1-amd64`]: null, [`${REPO}:h1-arm64`]: null, [`${REPO}:h1`]: null });
  assert.equal(p.observed?.local, { [`${REPO}:h1-amd64`]: "sha256:local-amd64", [`${REPO}:h1-arm64`]: null });
  assert.equal(p.observed?.plain, { [`${REPO}:h1`]: null });
});

test("every arch in the registry: skipped as \"exists in registry\" with the tag's digest, the engine never asked; the index is merged from those digests", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  const { builder, asked } = standInBuilder([`${REPO}:h1-amd64`]);
  const p = await pushPlan(registry, builder);
  assert.equal(steps(p), ["skip app:h1/amd64: exists in registry", "skip app:h1/arm64: exists in registry", "index app:h1/index: no index in registry yet"]);
  assert.equal(p.steps.slice(0, 2).map((s) => [(s as SkipStep).skips, (s as SkipStep).found]), [["build+push", amd64.digest], ["build+push", arm64.digest]]);
  assert.equal((p.steps[2] as IndexStep).arches, [
    { arch: "amd64", ref: `${REPO}:h1-amd64`, digest: amd64.digest },
    { arch: "arm64", ref: `${REPO}:h1-arm64`, digest: arm64.digest },
  ]);
  assert.equal(asked, [], "nothing is missing from the registry: no engine look-up");
});

test("the index step is skipped only when the index lists every arch at the tag's digest and platform, and the release tag points at it", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  const { builder } = standInBuilder();
  const complete = await putIndex(registry, [amd64, arm64]);
  let p = await pushPlan(registry, builder);
  assert.equal(steps(p), ["skip app:h1/amd64: exists in registry", "skip app:h1/arm64: exists in registry", "skip app:h1/index: index in registry lists every arch"]);
  assert.equal([(p.steps[2] as SkipStep).skips, (p.steps[2] as SkipStep).found], ["index", complete]);

  // A release tag not pointing at the index yet: the index step points it.
  p = await pushPlan(registry, builder, { release: "v1" });
  assert.equal(steps(p).at(-1), "index app:h1/index: merge amd64, arm64 into the existing index (2 entries)");
  assert.is((p.steps.at(-1) as IndexStep).release, "v1");
  await putIndex(registry, [amd64, arm64], "h1", ["v1"]);
  assert.equal(steps(await pushPlan(registry, builder, { release: "v1" })).at(-1), "skip app:h1/index: index in registry lists every arch");

  // The index lists arm64 at another digest (the tag was pushed again since): merged.
  const older = await pushArch(registry, "arm64", 1, REPO, "old");
  await putIndex(registry, [amd64, older]);
  assert.equal(steps(await pushPlan(registry, builder)).at(-1), "index app:h1/index: merge amd64, arm64 into the existing index (2 entries)");
  // The index lists arm64's digest under another platform: merged.
  await putIndex(registry, [amd64, { ...arm64, platform: { os: "linux", architecture: "arm", variant: "v7" } }]);
  assert.equal(steps(await pushPlan(registry, builder)).at(-1), "index app:h1/index: merge amd64, arm64 into the existing index (2 entries)");
  // The index lacks an arch: merged.
  await putIndex(registry, [amd64]);
  assert.equal(steps(await pushPlan(registry, builder)).at(-1), "index app:h1/index: merge amd64, arm64 into the existing index (1 entries)");
  // arm64's v8 variant is the same platform as none.
  await putIndex(registry, [amd64, { ...arm64, platform: { ...arm64.platform!, variant: "v8" } }]);
  assert.equal(steps(await pushPlan(registry, builder)).at(-1), "skip app:h1/index: index in registry lists every arch");
});

test("--force: what exists in the registry and the engine is built and pushed again, and the index merged; forcing one package leaves the other skipped", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  await putIndex(registry, [amd64, arm64]);
  const { builder } = standInBuilder([`${REPO}:h1-amd64`, `${REPO}:h1-arm64`]);
  assert.equal(steps(await pushPlan(registry, builder, { force: true })), [
    "build app:h1/amd64: --force: rebuild although it exists in the registry",
    "push app:h1/amd64/push: --force: push although the registry has it",
    "build app:h1/arm64: --force: rebuild although it exists in the registry",
    "push app:h1/arm64/push: --force: push although the registry has it",
    "index app:h1/index: merge amd64, arm64 into the existing index (2 entries)",
  ]);
  const other = await resolve("other");
  await Promise.all((["amd64", "arm64"] as const).map((a) => pushArch(registry, a, 0, "registry.test/demo/other")));
  const p = await pushPlan(registry, builder, { force: [other.id] }, [pkg, other]);
  assert.equal(steps(p), [
    "skip app:h1/amd64: exists in registry",
    "skip app:h1/arm64: exists in registry",
    "skip app:h1/index: index in registry lists every arch",
    "build other:h1/amd64: --force: rebuild although it exists in the registry",
    "push other:h1/amd64/push: --force: push although the registry has it",
    "build other:h1/arm64: --force: rebuild although it exists in the registry",
    "push other:h1/arm64/push: --force: push although the registry has it",
    "index other:h1/index: no index in registry yet",
  ]);
  assert.equal([...new Set(p.steps.filter((s) => s.kind !== "skip").map((s) => s.package))], ["registry.test/demo/other:h1"]);
});

test("a per-arch manifest the registry answers 404 for (a tag deleted since) is missing, not existing: pushed again, and the index merged", async () => {
  const registry = createMemoryRegistry();
  const amd64 = await pushArch(registry, "amd64");
  const arm64 = await pushArch(registry, "arm64");
  await putIndex(registry, [amd64, arm64]);
  registry.remove(REPO, "h1-arm64");
  const { builder } = standInBuilder([`${REPO}:h1-arm64`]);
  const p = await pushPlan(registry, builder);
  assert.equal(steps(p), [
    "skip app:h1/amd64: exists in registry",
    "skip app:h1/arm64: exists in local engine",
    "push app:h1/arm64/push: not in registry",
    "index app:h1/index: merge amd64, arm64 into the existing index (2 entries)",
  ]);
  assert.is(p.observed?.registry[`${REPO}:h1-arm64`], null);
  assert.is(p.observed?.registry[`${REPO}:h1-amd64`], amd64.digest);
  const state = await lookupRegistry([pkg], registry);
  assert.equal([...state.remote.keys()], [`${REPO}:h1-amd64`]);
});

test("a 5xx during the look-up fails it with the registry's error, never read as \"missing\" (per-arch HEAD, index GET, release tag)", async () => {
  const registry = createMemoryRegistry();
  await pushArch(registry, "amd64");
  const { builder, asked } = standInBuilder();
  for (const [method, reference, release] of [["headManifest", "h1-arm64", undefined], ["getManifest", "h1", undefined], ["headManifest", "v1", "v1"]] as const) {
    registry.fault = (c) => (c.method === method && c.reference === reference ? { status: 503 } : undefined);
    const error = await observePush([pkg], { registry, builder, shell: noShell, ...(release ? { release } : {}) }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RegistryError, `${method} ${reference}: ${String(error)}`);
    assert.is(error.kind, "server");
    assert.is(error.message, `registry registry.test failed ${method} ${REPO} ${reference}: 503`);
  }
  assert.equal(asked, [], "no plan went on to the engine look-up");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
