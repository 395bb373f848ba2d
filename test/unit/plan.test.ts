// plan() is pure: packages + what exists → steps. The builder's command() is pure too.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { InputError } from "../../lib/errors.ts";
import { MediaTypes, type Descriptor, type Manifest } from "../../lib/registry/types.ts";
import { plan } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import type { BuildStep, Step } from "../../lib/plan/schema.ts";
import { buildxBuilder, legacyBuilder, type LocalImage } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { parseArgs } from "../../lib/cli/args.ts";
import { resolveOptions } from "../../lib/options.ts";

const shell = await defaultShell();
const dir = mkdtempSync(join(tmpdir(), "pkgkit-plan-"));
const buildx = buildxBuilder(shell);

async function pkg(spec: Record<string, unknown>, argv: string[] = []): Promise<Package> {
  const { options } = parseArgs(argv, {
    network: { type: "boolean", negatedBy: ["no-network", "nonetwork"], help: "" },
    "disable-cache": { type: "boolean", negatedBy: ["enable-cache"], help: "" },
    "disable-content-trust": { type: "boolean", negatedBy: ["enable-content-trust"], help: "" },
  }, "");
  // --hash keeps git out of it: these tests are about precedence and plans.
  const [p] = await resolvePackages(shell, [makeDefinition({ image: "app", org: "example", ...spec }, join(dir, "pkg.config.ts"))], { ...resolveOptions(options, {}), hash: "h1" });
  return p!;
}
const steps = (pkgs: Package[], local = new Map<string, LocalImage>(), force = false) =>
  plan(pkgs, { command: "build", builder: buildx, local, force }).steps;
const argvOf = (p: Package) => (steps([p])[0] as BuildStep).command.argv;

// network: file value × command-line override. Override wins; unset falls back to the file, then false.
const fileValues = [undefined, false, true] as const;
const flagValues: [string[], boolean | undefined][] = [[[], undefined], [["--network"], true], [["--no-network"], false], [["-nonetwork"], false]];
for (const file of fileValues) {
  for (const [argv, flag] of flagValues) {
    test(`network: file ${file} × flags [${argv.join(" ")}]`, async () => {
      const expected = flag ?? file ?? false;
      const a = argvOf(await pkg(file === undefined ? {} : { network: file }, argv));
      const i = a.indexOf("--network");
      if (expected) assert.is(i, -1, "network allowed: no --network none");
      else assert.is(a[i + 1], "none");
    });
  }
}
const cacheFlags: [string[], boolean | undefined][] = [[[], undefined], [["--disable-cache"], true], [["--enable-cache"], false], [["--disable-cache=false"], false]];
for (const file of fileValues) {
  for (const [argv, flag] of cacheFlags) {
    test(`disableCache: file ${file} × flags [${argv.join(" ")}]`, async () => {
      const expected = flag ?? file ?? false;
      const a = argvOf(await pkg(file === undefined ? {} : { disableCache: file }, argv));
      assert.is(a.includes("--no-cache"), expected);
    });
  }
}

// Content trust (signing on push): on unless the flag or the file turns it off; the flag wins.
const trustFlags: [string[], boolean | undefined][] = [[[], undefined], [["--disable-content-trust"], true], [["--enable-content-trust"], false]];
for (const file of fileValues) {
  for (const [argv, flag] of trustFlags) {
    test(`disableContentTrust: file ${file} × flags [${argv.join(" ")}]`, async () => {
      const p = await pkg(file === undefined ? {} : { disableContentTrust: file }, argv);
      assert.is(p.trust, !(flag ?? file ?? false));
    });
  }
}

test("one build step per arch, named org/image:<tag>-<arch>, with platform args, labels and build args", async () => {
  const p = await pkg({ buildArgs: { BASE: "x y" }, labels: { team: "core" } });
  const s = steps([p]) as BuildStep[];
  assert.equal(s.map((x) => x.ref), ["example/app:h1-amd64", "example/app:h1-arm64"]);
  assert.equal(s.map((x) => x.platform), ["linux/amd64", "linux/arm64"]);
  const a = s[1]!.command.argv;
  assert.equal(a.slice(0, 5), ["docker", "buildx", "build", "--platform", "linux/arm64"]);
  assert.ok(a.includes("TARGETARCH=arm64"));
  assert.ok(a.includes("BASE=x y"), "values stay one argv element, never shell text");
  assert.ok(a.includes("team=core"));
  assert.is(a.at(-1), ".", "the build runs in the package directory");
  assert.equal([s[1]!.context, s[1]!.dir], ["package", dir]);
  assert.is(a[a.indexOf("--tag") + 1], "example/app:h1-arm64");
});

test("what exists locally is skipped, with the reason; --force rebuilds it", async () => {
  const p = await pkg({});
  const local = new Map<string, LocalImage>([["example/app:h1-arm64", { ref: "example/app:h1-arm64", id: "sha256:abc", os: "linux", architecture: "arm64", labels: {} }]]);
  const s = steps([p], local);
  assert.equal(s.map((x) => [x.kind, x.reason]), [["build", "not in local engine"], ["skip", "exists in local engine"]]);
  const forced = steps([p], local, true);
  assert.equal(forced.map((x) => [x.kind, x.reason]), [["build", "not in local engine"], ["build", "--force: rebuild although it exists locally"]]);
});

test("the plan is plain data: JSON round-trips, and the text form shows each decision", async () => {
  const p = plan([await pkg({ arches: ["arm64"] })], { command: "build", builder: buildx, local: new Map() });
  assert.equal(JSON.parse(JSON.stringify(p)), p);
  const text = formatPlan(p);
  assert.ok(text.startsWith(`plan: build (1 to build, 0 to skip)\n  build  example/app:h1-arm64  [linux/arm64, buildx]  not in local engine\n         $ docker buildx build --platform linux/arm64`));
});

test("extra sources: a context step before the builds, and builds use that context", async () => {
  const s = steps([await pkg({ extraSources: ["../common:/common"] })]);
  assert.equal(s.map((x) => x.kind), ["context", "build", "build"]);
  assert.equal(s[0]!.kind === "context" && s[0]!.sources.map((c) => c.dst), [".", "common"]);
  assert.is((s[1] as BuildStep).context, "assembled");
  assert.equal([s[1]!.needs, s[2]!.needs], [[s[0]!.id], [s[0]!.id]], "each build waits for the context");
  assert.is((s[1] as BuildStep).command.argv.at(-1), ".", "the build runs in the context, which no argument names");
  assert.equal(Object.keys(s[0]!).sort(), ["id", "kind", "needs", "package", "reason", "sources"], "no scratch path in the plan");
});

test("legacy builder: DOCKER_BUILDKIT=0, explicit TARGETARCH, always --no-cache (its cache ignores the platform)", async () => {
  const p = await pkg({ arches: ["arm64"] });
  const [s] = plan([p], { command: "build", builder: legacyBuilder(shell), local: new Map() }).steps as BuildStep[];
  assert.equal(s!.command.env, { DOCKER_BUILDKIT: "0" });
  assert.equal(s!.command.argv.slice(0, 4), ["docker", "build", "--platform", "linux/arm64"]);
  assert.ok(s!.command.argv.includes("--no-cache"));
  assert.ok(s!.command.argv.includes("TARGETARCH=arm64"));
});

test("the Dockerfile is named relative to the build's directory: the default, or one in a subdirectory", async () => {
  const file = (a: string[]) => a[a.indexOf("--file") + 1];
  assert.is(file(argvOf(await pkg({}))), "Dockerfile");
  assert.is(file(argvOf(await pkg({ dockerfile: "docker/Dockerfile.alt" }))), "docker/Dockerfile.alt");
});

const shape = (s: Step[]) => s.map((x) => `${x.kind} ${x.id} <- ${x.needs.join(",")}`);

test("a push plan with nothing looked up in the registry: each push after its build (none when the engine has the image), the index after every push; what it was made with recorded", async () => {
  const p = { ...(await pkg({})), commit: "c".repeat(40) };
  const local = new Map<string, LocalImage>([["example/app:h1-arm64", { ref: "example/app:h1-arm64", id: "sha256:abc", os: "linux", architecture: "arm64", labels: {} }]]);
  const legacy = legacyBuilder(shell);
  const made = plan([p], { command: "push", builder: buildx, builders: { arm64: legacy }, local, release: "v1", format: "oci" });
  assert.equal(shape(made.steps), [
    "build example/app:h1/amd64 <- ",
    "push example/app:h1/amd64/push <- example/app:h1/amd64",
    "skip example/app:h1/arm64 <- ",
    "push example/app:h1/arm64/push <- ",
    "index example/app:h1/index <- example/app:h1/amd64/push,example/app:h1/arm64/push",
  ]);
  assert.equal(made.steps.map((x) => (x.kind === "push" ? [x.builder, x.format] : x.kind === "index" ? [x.release, x.reason] : x.kind)), [
    "build", ["buildx", "oci"], "skip", [legacy.name, "oci"], ["v1", "no index in registry yet"],
  ]);
  assert.equal(made.inputs, { builder: "buildx", builders: { arm64: legacy.name }, release: "v1", format: "oci", force: false });
  assert.equal(made.packages, [{ name: "example/app:h1", dir, tag: "h1", dirty: false, arches: ["amd64", "arm64"], commit: "c".repeat(40) }]);
  assert.equal(plan([{ ...p, commit: undefined }], { command: "push", builder: buildx, local }).packages[0], { name: "example/app:h1", dir, tag: "h1", dirty: false, arches: ["amd64", "arm64"] });
});

test("the registry's index at the tag: skipped when it lists every arch (needing nothing); one that lists nothing, say an image pushed at the tag, is merged into", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const d: Descriptor = { mediaType: MediaTypes.dockerManifest, digest: `sha256:${"1".repeat(64)}`, size: 1, platform: { os: "linux", architecture: "amd64" } };
  const remote = new Map([["example/app:h1-amd64", d]]);
  const index = (json: Manifest["json"]): Manifest => ({ mediaType: MediaTypes.dockerManifestList, digest: `sha256:${"2".repeat(64)}`, size: 2, bytes: new Uint8Array(), json });
  const listing = plan([p], { command: "push", builder: buildx, local: new Map(), remote, indexes: new Map([["example/app:h1", index({ schemaVersion: 2, manifests: [d] })]]) });
  assert.equal(shape(listing.steps), ["skip example/app:h1/amd64 <- ", "skip example/app:h1/index <- "]);
  const image = plan([p], { command: "push", builder: buildx, local: new Map(), remote, indexes: new Map([["example/app:h1", index({ schemaVersion: 2, config: d, layers: [] })]]) });
  assert.equal(shape(image.steps), ["skip example/app:h1/amd64 <- ", "index example/app:h1/index <- "]);
  assert.is(image.steps[1]!.reason, "merge amd64 into the existing index (0 entries)");
});

test("a package building an arch its dependency does not: refused, naming both files, the build arg and the arches", async () => {
  const def = (image: string, spec: Record<string, unknown>) => makeDefinition({ image, org: "example", ...spec }, join(dir, image, "pkg.config.ts"));
  const base = def("base", { arches: ["amd64"] });
  const app = def("app", { arches: ["amd64", "arm64"], buildArgs: { BASE: base } });
  const pkgs = await resolvePackages(shell, [base, app], { hash: "h1" });
  const err = (() => {
    try {
      plan(pkgs, { command: "build", builder: buildx, local: new Map() });
    } catch (e) {
      return e as Error;
    }
  })();
  assert.instance(err, InputError);
  assert.is(err!.message, `${join(dir, "app", "pkg.config.ts")}: example/app builds arm64, but its dependency example/base (build arg BASE, ${join(dir, "base", "pkg.config.ts")}) has no arm64; its arches: amd64`);
  assert.equal(shape(plan(pkgs.map((p) => ({ ...p, arches: ["amd64"] })), { command: "build", builder: buildx, local: new Map() }).steps), [
    "build example/base:h1/amd64 <- ",
    "build example/app:h1/amd64 <- example/base:h1/amd64",
  ]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
// LinuxKit's flags in plans (lib/cli/linuxkit.ts): what each changes in the steps and the recorded inputs.

test("--manifest=false: a push plan pushes each arch and merges no index, and records it; a build plan ignores it", async () => {
  const p = await pkg({ arches: ["amd64", "arm64"] });
  const push = plan([p], { command: "push", builder: buildx, local: new Map(), remote: new Map(), manifest: false });
  assert.equal(push.steps.map((s) => s.kind), ["build", "push", "build", "push"]);
  assert.is(push.inputs!.manifest, false);
  const withIndex = plan([p], { command: "push", builder: buildx, local: new Map(), remote: new Map() });
  assert.equal(withIndex.steps.map((s) => s.kind), ["build", "push", "build", "push", "index"]);
  assert.is(withIndex.inputs!.manifest, undefined);
  assert.is(plan([p], { command: "build", builder: buildx, local: new Map(), manifest: false }).inputs!.manifest, undefined);
  assert.match(formatPlan(push), "(no index: --manifest=false pushes the per-arch images only)");
  assert.not.match(formatPlan(withIndex), "--manifest=false");
});

test("LinuxKit's signing default: the text plan says why nothing is signed", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const unsigned = plan([p], { command: "push", builder: buildx, local: new Map(), remote: new Map(), signingWith: { signByDefault: false } });
  assert.match(formatPlan(unsigned), "(nothing signed: no signer configured: LinuxKit's default under `pkgkit pkg`;");
  assert.not.match(formatPlan(plan([p], { command: "push", builder: buildx, local: new Map(), remote: new Map() })), "nothing signed");
});

test("--sbom-scanner false: buildx builds with --provenance=false --sbom=false, recorded; the legacy builder makes none anyway", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const off = plan([p], { command: "build", builder: buildx, local: new Map(), attestations: false });
  const argv = (off.steps[0] as BuildStep).command.argv;
  assert.ok(argv.includes("--provenance=false") && argv.includes("--sbom=false"), argv.join(" "));
  assert.is(off.inputs!.attestations, false);
  const on = plan([p], { command: "build", builder: buildx, local: new Map() });
  assert.not.ok((on.steps[0] as BuildStep).command.argv.some((a) => a.startsWith("--provenance") || a.startsWith("--sbom")));
  assert.is(on.inputs!.attestations, undefined);
  const legacy = plan([p], { command: "build", builder: legacyBuilder(shell), local: new Map(), attestations: false });
  assert.not.ok((legacy.steps[0] as BuildStep).command.argv.some((a) => a.startsWith("--provenance")));
});

test("--dockerfile, --build-arg-file, --skip-platforms: the builds use the other Dockerfile and the file's args over the package's; a skipped arch has no step", async () => {
  const [p] = await resolvePackages(shell, [makeDefinition({ image: "app", org: "example", arches: ["amd64", "arm64"], buildArgs: { A: "pkg", B: "pkg" } }, join(dir, "pkg.config.ts"))], {
    hash: "h1", dockerfile: "alt/Dockerfile", buildArgs: { B: "file", C: "file" }, skipArches: ["arm64"],
  });
  const built = steps([p!]);
  assert.equal(built.map((s) => s.id), ["example/app:h1/amd64"]);
  const argv = (built[0] as BuildStep).command.argv;
  assert.is(argv[argv.indexOf("--file") + 1], "alt/Dockerfile");
  for (const arg of ["A=pkg", "B=file", "C=file"]) assert.ok(argv.includes(arg), arg);
  assert.not.ok(argv.includes("B=pkg"));
});

test.run();
