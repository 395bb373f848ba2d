// run()'s scheduler (lib/run.ts): the order steps start in, what a failure stops, how many run at
// once, what an interrupt leaves. Build steps run through a Shell stand-in that records what it
// ran and how many ran at once; image look-ups through a Builder stand-in; push and index steps
// talk to the in-memory registry. No docker, no registry server, no timing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, type Reporter, type Result } from "../../lib/run.ts";
import { plan } from "../../lib/plan/plan.ts";
import type { Plan, Step } from "../../lib/plan/schema.ts";
import type { Builder } from "../../lib/builder.ts";
import type { ExecOptions, Shell } from "../../lib/shell.ts";
import type { Registry } from "../../lib/registry/types.ts";
import { createMemoryRegistry, type MemoryRegistry } from "../../lib/registry/memory.ts";
import { sha256 } from "../../lib/registry/digest.ts";
import { MediaTypes } from "../../lib/registry/types.ts";
import { platformKey, PLATFORMS, type Arch } from "../../lib/names.ts";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages } from "../../lib/package.ts";

const tmp = mkdtempSync(join(tmpdir(), "pkgkit-scheduler-"));

/** The one call of run() in this file: the stand-ins, the run's options. */
function runWith(p: Plan, parts: { shell: Shell; builder: Builder; registry?: Registry }, options: { jobs?: number; reporter?: Reporter; signal?: AbortSignal } = {}): Promise<Result> {
  return run(p, parts, { ...options, tmpDir: tmp });
}

/** Lets the run go on (a microtask later): other steps may start or end meanwhile. */
const turn = () => new Promise((r) => queueMicrotask(() => r(undefined)));

/**
 * Shell stand-in for build steps (`stand-in-build <step>`): each build takes a few turns of the
 * event loop, fails with exit code 1 when `fails` names it, and may run `during` first. It counts
 * the builds running at once.
 */
function standInShell(o: { fails?: string[]; during?: (name: string, options: ExecOptions) => void } = {}) {
  const ran: string[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  let running = 0;
  const shell = {
    name: "zx" as const,
    most: 0,
    ran,
    signals,
    async exec(argv: readonly string[], options: ExecOptions = {}) {
      const name = argv[1]!;
      ran.push(name);
      signals.push(options.signal);
      shell.most = Math.max(shell.most, ++running);
      o.during?.(name, options);
      for (let i = 0; i < 3; i++) await turn();
      running--;
      return { code: o.fails?.includes(name) ? 1 : 0, stdout: "", stderr: "" };
    },
  };
  return shell;
}

/** A `docker save` archive of an image with no layers: manifest.json and its config, as ustar entries. */
function saveArchive(arch: Arch): Buffer {
  const files = {
    "manifest.json": JSON.stringify([{ Config: "config.json", Layers: [] }]),
    "config.json": JSON.stringify({ ...PLATFORMS[arch], rootfs: { type: "layers", diff_ids: [] } }),
  };
  const blocks = Object.entries(files).flatMap(([name, text]) => {
    const data = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, "latin1");
    header.write(data.length.toString(8).padStart(11, "0"), 124, "latin1");
    header.write("0", 156, "latin1");
    return [header, data, Buffer.alloc((512 - (data.length % 512)) % 512)];
  });
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

const archOf = (ref: string): Arch => (ref.endsWith("-arm64") ? "arm64" : "amd64");

/**
 * Builder stand-in: every image a build made is there (arm64 when its ref ends in -arm64, else
 * amd64); export (save) writes a layerless archive of it, or fails for the refs in `cannotExport`.
 */
function standInBuilder(cannotExport: string[] = []): Builder {
  return {
    name: "stand-in",
    command: (req) => ({ argv: ["stand-in-build", req.ref] }),
    inspect: async (refs) => new Map(refs.map((ref) => [ref, { ref, id: `sha256:${ref}`, os: "linux", architecture: PLATFORMS[archOf(ref)].architecture, labels: {} }])),
    async save(ref, file) {
      if (cannotExport.includes(ref)) throw new Error(`builder stand-in: cannot export ${ref}`);
      writeFileSync(file, saveArchive(archOf(ref)));
    },
    saveAll: () => Promise.reject(new Error("builder stand-in: saveAll is not part of these plans")),
    provide: () => Promise.reject(new Error("builder stand-in: provide is not part of these plans")),
    load: () => Promise.reject(new Error("builder stand-in: load is not part of these plans")),
    tag: () => Promise.reject(new Error("builder stand-in: tag is not part of these plans")),
    engineArch: async () => undefined,
  };
}
const builder = standInBuilder();

/** Reporter that records `start <id>` and `end <id> <status>` in order. */
function recorder() {
  const events: string[] = [];
  const reporter: Reporter = {
    stepStart: (s) => void events.push(`start ${s.id}`),
    stepOutput: () => {},
    stepEnd: (s, r) => void events.push(`end ${s.id} ${r.status}`),
  };
  return { events, reporter };
}

const build = (id: string, needs: string[] = []): Extract<Step, { kind: "build" }> => ({
  kind: "build", id, package: `demo/${id}:t`, dir: tmp, arch: "amd64", platform: "linux/amd64", ref: id, builder: "stand-in",
  context: "package", command: { argv: ["stand-in-build", id] }, reason: "", needs,
});
const skip = (id: string, needs: string[] = []): Extract<Step, { kind: "skip" }> => ({ kind: "skip", id, package: `demo/${id}:t`, ref: id, reason: "exists in registry", skips: "build+push", needs });
const buildPlan = (steps: Step[]): Plan => ({ version: 1, command: "build", packages: [], steps });
const statuses = (r: Result) => Object.fromEntries(r.steps.map((s) => [s.id, s.blockedBy ? `${s.status}, blocked by ${s.blockedBy}` : s.status]));

test("a step starts only after every step it needs has succeeded (shell stand-in)", async () => {
  const shell = standInShell();
  const { events, reporter } = recorder();
  const p = buildPlan([build("d", ["b", "c"]), build("b", ["a"]), build("c", ["a"]), build("a")]);
  const result = await runWith(p, { shell, builder }, { jobs: 4, reporter });
  assert.ok(result.ok);
  for (const step of p.steps)
    for (const need of step.needs)
      assert.ok(events.indexOf(`end ${need} done`) < events.indexOf(`start ${step.id}`), `${step.id} started before ${need} ended: ${events.join(", ")}`);
  assert.equal(events.slice(0, 2), ["start a", "end a done"]);
  assert.equal(events.slice(-2), ["start d", "end d done"]);
  assert.is(shell.most, 2, "b and c, which need only a, ran together");
});

test("a failed step blocks exactly the steps that need it, directly or not (blockedBy names it); independent steps go on (shell stand-in)", async () => {
  const shell = standInShell({ fails: ["a"] });
  const { events, reporter } = recorder();
  const p = buildPlan([build("a"), build("b", ["a"]), build("c", ["b"]), build("d"), build("e", ["d"]), build("f", ["e", "c"])]);
  const result = await runWith(p, { shell, builder }, { jobs: 2, reporter });
  assert.is(result.ok, false);
  assert.equal(statuses(result), {
    a: "failed", b: "skipped, blocked by a", c: "skipped, blocked by a", d: "done", e: "done", f: "skipped, blocked by a",
  });
  assert.equal(shell.ran.sort(), ["a", "d", "e"]);
  assert.is(result.steps[0]!.error, "build of a (linux/amd64) failed with exit code 1:\n");
  assert.equal(result.steps.slice(1, 3).map((s) => s.error), ["not run: a failed", "not run: a failed"]);
  assert.not.ok(events.includes("start b") || events.includes("start c") || events.includes("start f"), "blocked steps are not started");
});

test("at most `jobs` steps run at once (counted by the shell stand-in), and every step runs", async () => {
  for (const jobs of [1, 2, 3]) {
    const shell = standInShell();
    const ids = ["a", "b", "c", "d", "e", "f"];
    const result = await runWith(buildPlan(ids.map((id) => build(id))), { shell, builder }, { jobs });
    assert.ok(result.ok);
    assert.is(shell.most, jobs, `jobs ${jobs}`);
    assert.equal(shell.ran.sort(), ids);
  }
});

test("skip steps take no job slot: with one job they start and end while a build runs (shell stand-in)", async () => {
  const shell = standInShell();
  const { events, reporter } = recorder();
  const result = await runWith(buildPlan([build("a"), skip("s1"), skip("s2"), build("b")]), { shell, builder }, { jobs: 1, reporter });
  assert.ok(result.ok);
  assert.is(events[0], "start a");
  assert.is(events.length, 8);
  for (const e of ["start s1", "start s2", "end s1 skipped", "end s2 skipped"]) assert.ok(events.indexOf(e) < events.indexOf("end a done"), `${e} after a ended: ${events.join(", ")}`);
  assert.equal(events.slice(-3), ["end a done", "start b", "end b done"]);
  assert.is(shell.most, 1);
});

test("an abort (signal) while a step runs: no further step starts, the run reports interrupted (shell stand-in)", async () => {
  const controller = new AbortController();
  const shell = standInShell({ during: (name) => name === "a" && controller.abort() });
  const { events, reporter } = recorder();
  const result = await runWith(buildPlan([build("a"), build("b"), build("c", ["a"])]), { shell, builder }, { jobs: 1, reporter, signal: controller.signal });
  assert.is(result.ok, false);
  assert.is(result.interrupted, true);
  assert.equal(shell.ran, ["a"]);
  assert.is(shell.signals[0], controller.signal, "the build's process was given the signal (to be stopped)");
  assert.equal(events.filter((e) => e.startsWith("start")), ["start a"]);
  assert.is(result.steps[0]!.status, "failed");
  assert.equal(result.steps.slice(1).map((s) => [s.id, s.status, s.interrupted, s.error]), [
    ["b", "skipped", true, "not run: interrupted"],
    ["c", "skipped", true, "not run: interrupted"],
  ]);
});

test("a plan whose steps wait on each other is refused, as is one that needs a step it does not have", async () => {
  const shell = standInShell();
  const circle = await runWith(buildPlan([build("a", ["b"]), build("b", ["a"]), build("c")]), { shell, builder }).then(() => "ran", (e: Error) => e.message);
  assert.is(circle, "plan steps wait on each other: a, b");
  assert.equal(shell.ran, ["c"], "only the step outside the circle ran");
  const dangling = await runWith(buildPlan([build("a"), build("b", ["x"])]), { shell, builder }).then(() => "ran", (e: Error) => e.message);
  assert.is(dangling, "plan step b needs x, which is not in the plan");
  assert.equal(shell.ran, ["c"], "nothing ran");
});

test("a plan whose sign step names a signer id the session lacks is refused before any step starts (shell stand-in)", async () => {
  const shell = standInShell();
  const sign: Step = {
    kind: "sign", id: "demo/a:t/sign-prepare", package: "demo/a:t", action: "prepare", signer: "sigstore", signerId: "sigstore#2",
    using: "sigstore key /keys/b.pem", ref: "demo/a:t", repository: "demo/a", tags: [], reason: "before anything is pushed", needs: [],
  };
  const refused = await runWith(buildPlan([build("a"), sign]), { shell, builder }).then(() => "ran", (e: Error) => e.message);
  assert.is(refused, "this plan signs with sigstore key /keys/b.pem (signer id sigstore#2), but run() was given no such signer (Session.signers, by signer id)");
  assert.equal(shell.ran, [], "nothing ran");
});

/** A tiny image for `arch` under `<tag>-<arch>` in the memory registry; its digest. */
async function pushArch(registry: MemoryRegistry, repository: string, tag: string, arch: Arch): Promise<string> {
  const config = new TextEncoder().encode(JSON.stringify(PLATFORMS[arch]));
  const configDesc = { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length };
  await registry.uploadBlob(repository, { digest: configDesc.digest, size: configDesc.size, data: config });
  const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configDesc, layers: [] }));
  return registry.putManifest(repository, `${tag}-${arch}`, manifest, MediaTypes.dockerManifest);
}

test("push plan (memory registry, builder stand-in whose export fails): a failed push blocks its package's index; another package's index is merged", async () => {
  const registry = createMemoryRegistry();
  const shell = standInShell();
  const { events, reporter } = recorder();
  const app = "registry.test/demo/app";
  const base = "registry.test/demo/base";
  const baseDigest = await pushArch(registry, base, "t", "amd64");
  const p: Plan = {
    version: 1, command: "push", packages: [],
    steps: [
      { ...build("app"), ref: `${app}:t-amd64`, id: `${app}:t/amd64`, command: { argv: ["stand-in-build", "app"] } },
      { kind: "push", id: `${app}:t/amd64/push`, package: `${app}:t`, arch: "amd64", platform: "linux/amd64", ref: `${app}:t-amd64`, repository: app, tag: "t-amd64", format: "docker", builder: "stand-in", reason: "", needs: [`${app}:t/amd64`] },
      { kind: "index", id: `${app}:t/index`, package: `${app}:t`, ref: `${app}:t`, repository: app, tag: "t", arches: [{ arch: "amd64", ref: `${app}:t-amd64` }], reason: "", needs: [`${app}:t/amd64/push`] },
      { ...skip(`${base}:t/amd64`), ref: `${base}:t-amd64` },
      { kind: "index", id: `${base}:t/index`, package: `${base}:t`, ref: `${base}:t`, repository: base, tag: "t", arches: [{ arch: "amd64", ref: `${base}:t-amd64`, digest: baseDigest }], reason: "", needs: [] },
    ],
  };
  const result = await runWith(p, { shell, builder: standInBuilder([`${app}:t-amd64`]), registry }, { jobs: 2, reporter });
  assert.equal(statuses(result), {
    [`${app}:t/amd64`]: "done",
    [`${app}:t/amd64/push`]: "failed",
    [`${app}:t/index`]: `skipped, blocked by ${app}:t/amd64/push`,
    [`${base}:t/amd64`]: "skipped",
    [`${base}:t/index`]: "done",
  });
  assert.is(result.steps[1]!.error, `builder stand-in: cannot export ${app}:t-amd64`);
  assert.not.ok(events.includes(`start ${app}:t/index`));
  assert.is(await registry.getManifest(app, "t"), undefined, "no index for the package whose push failed");
  assert.equal((await registry.getManifest(base, "t"))?.json.manifests?.map((d) => d.digest), [baseDigest]);
});

test("a package's push plan from plan() (shell and builder stand-ins, memory registry): each push after its build, the index after every push, listing what was pushed", async () => {
  mkdirSync(join(tmp, "app"), { recursive: true });
  writeFileSync(join(tmp, "app", "Dockerfile"), "FROM scratch\n");
  const def = makeDefinition({ image: "app", org: "registry.test/demo", arches: ["amd64", "arm64"], disableContentTrust: true }, join(tmp, "app", "pkg.config.ts"));
  const shell = standInShell();
  const [pkg] = await resolvePackages(shell, [def], { hash: "h1" });
  const registry = createMemoryRegistry();
  const p = plan([pkg!], { command: "push", builder, local: new Map(), remote: new Map(), indexes: new Map() });
  const { events, reporter } = recorder();
  const result = await runWith(p, { shell, builder, registry }, { jobs: 4, reporter });
  assert.ok(result.ok, JSON.stringify(result.steps.map((s) => s.error)));
  const at = (e: string) => {
    assert.ok(events.includes(e), `${e} in ${events.join(", ")}`);
    return events.indexOf(e);
  };
  const REPO = "registry.test/demo/app";
  for (const arch of ["amd64", "arm64"]) assert.ok(at(`end ${REPO}:h1/${arch} done`) < at(`start ${REPO}:h1/${arch}/push`));
  for (const arch of ["amd64", "arm64"]) assert.ok(at(`end ${REPO}:h1/${arch}/push done`) < at(`start ${REPO}:h1/index`));
  assert.equal(shell.ran.sort(), [`${REPO}:h1-amd64`, `${REPO}:h1-arm64`]);
  assert.is(shell.most, 2, "the two builds ran together");
  const pushed = result.steps.filter((s) => s.kind === "push").map((s) => `${platformKey(s.pushed!.descriptor.platform)}=${s.pushed!.descriptor.digest}`);
  const index = await registry.getManifest(REPO, "h1");
  assert.equal(index?.json.manifests?.map((d) => `${platformKey(d.platform)}=${d.digest}`), pushed);
  assert.equal(result.steps.at(-1)!.index?.digest, index?.digest);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
