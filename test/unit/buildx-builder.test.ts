// Named buildx builders (`--builders arm64=buildx:<name>`), the pure parts: parsing, the exact argv
// each driver gets (the docker-container, remote and kubernetes drivers need a moby/buildkit image,
// which cannot run offline, so their argv is checked here), plans that show the builder and its
// driver, and the driver look-up, remembered between runs (the docker CLI is a Shell stand-in; the
// files the answer is keyed by are real files in a temporary directory).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import { parsePlanFile } from "../../lib/apply.ts";
import type { BuildStep, PushStep } from "../../lib/plan/schema.ts";
import { buildxBuilder, namedBuildxBuilder, parseBuilders, type BuildRequest } from "../../lib/builder.ts";
import { buildxDriver, parseInspectDriver } from "../../lib/buildx-driver.ts";
import { buildxBuilderRow } from "../../lib/doctor/engine.ts";
import { resolveSettings } from "../../lib/options.ts";
import { makeWorkspace, workspaceDefaults } from "../../lib/workspace.ts";
import { InputError } from "../../lib/errors.ts";
import { defaultShell, type Shell } from "../../lib/shell.ts";
import { inputErrorOf, specErrorOf } from "../helpers.ts";

const shell = await defaultShell();
const local = buildxBuilder(shell);
const [pkg] = (await resolvePackages(shell, [makeDefinition({ image: "app", org: "example" }, join(tmpdir(), "pkg.config.ts"))], { hash: "h1" })) as [Package];
const req: BuildRequest = { context: ".", dockerfile: "Dockerfile", arch: "arm64", ref: "example/app:h1-arm64", network: false, cache: true, buildArgs: {}, labels: { l: "v" } };
const TAIL = [
  "--platform", "linux/arm64", "--load", "--progress", "plain", "--network", "none",
  "--build-arg", "TARGETPLATFORM=linux/arm64", "--build-arg", "TARGETOS=linux", "--build-arg", "TARGETARCH=arm64", "--build-arg", "TARGETVARIANT=",
  "--label", "l=v", "--file", "Dockerfile", "--tag", "example/app:h1-arm64", ".",
];

test("parseBuilders: buildx:<name> next to endpoints and contexts, in any of its sources' spellings", () => {
  assert.equal(parseBuilders("linux/arm64=buildx:arm-k8s,amd64=ctx,riscv64=buildx:remote.1", "--builders"), {
    arm64: { buildx: "arm-k8s" },
    amd64: { context: "ctx" },
    riscv64: { buildx: "remote.1" },
  });
  const settings = resolveSettings({}, { LINUXKIT_BUILDERS: "linux/arm64=buildx:bk" }, { builders: true });
  assert.equal([settings.engines, settings.engineSources], [{ arm64: { buildx: "bk" } }, { arm64: 'LINUXKIT_BUILDERS "arm64=buildx:bk"' }]);
  const ws = makeWorkspace({ builders: { arm64: "buildx:bk" } }, "/ws/pkgkit.config.ts");
  const fromWs = resolveSettings({}, {}, { builders: true, workspace: workspaceDefaults(ws) });
  assert.equal([fromWs.engines, fromWs.engineSources], [{ arm64: { buildx: "bk" } }, { arm64: '/ws/pkgkit.config.ts: field "builders.arm64"' }]);
});

test("a bad buildx:<name> names the source, the value and the expected form", () => {
  const form = "expected buildx:<name>, the name of a buildx builder as `docker buildx ls` lists it (letters, digits, \"_\", \".\", \"+\", \"-\")";
  assert.is(
    inputErrorOf(() => parseBuilders("arm64=buildx:", "--builders")),
    `--builders "arm64=buildx:": "buildx:": ${form}; expected arch=<endpoint|context|buildx:<name>>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock,riscv64=buildx:k8s`,
  );
  assert.match(inputErrorOf(() => parseBuilders("arm64=buildx:--host=x", "PKGKIT_BUILDERS")), `PKGKIT_BUILDERS "arm64=buildx:--host=x": "buildx:--host=x": ${form}`);
  assert.is(specErrorOf(() => makeWorkspace({ builders: { arm64: "buildx:a b" } }, "/ws/pkgkit.config.ts")), `/ws/pkgkit.config.ts: field "builders.arm64": "buildx:a b": ${form}`);
});

test("argv per driver: docker runs through its context (buildx refuses --builder <context> from another); the others load into the CLI's engine", () => {
  const docker = namedBuildxBuilder(shell, "arm-box", "docker");
  assert.equal(docker.command(req).argv, ["docker", "--context", "arm-box", "buildx", "build", "--builder", "arm-box", ...TAIL]);
  assert.equal([docker.name, docker.engine, docker.driver], ["buildx:arm-box", "arm-box", "docker"]);
  for (const driver of ["docker-container", "remote", "kubernetes"]) {
    const b = namedBuildxBuilder(shell, "bk", driver);
    assert.equal(b.command(req).argv, ["docker", "buildx", "build", "--builder", "bk", ...TAIL], driver);
    assert.equal([b.name, b.engine, b.driver], ["buildx:bk", undefined, driver], driver);
  }
  const noAttest = namedBuildxBuilder(shell, "bk", "remote").command({ ...req, attestations: false, alias: "example/app:h1" }).argv;
  assert.ok(noAttest.join(" ").includes("--provenance=false --sbom=false"));
  assert.equal(noAttest.slice(-5), ["--tag", "example/app:h1-arm64", "--tag", "example/app:h1", "."]);
});

test("plans show the builder and its driver (text and JSON), and read back", () => {
  const k8s = namedBuildxBuilder(shell, "k8s", "kubernetes");
  const p = plan([pkg], { command: "push", builder: local, builders: { arm64: k8s }, local: new Map(), remote: new Map(), indexes: new Map() });
  const build = p.steps.find((s) => s.kind === "build" && s.arch === "arm64") as BuildStep;
  assert.equal([build.builder, build.driver, build.reason], ["buildx:k8s", "kubernetes", "not in registry, not in local engine"]);
  assert.is((p.steps.find((s) => s.kind === "build" && s.arch === "amd64") as BuildStep).driver, undefined);
  assert.equal(p.steps.filter((s): s is PushStep & { needs: string[] } => s.kind === "push").map((s) => [s.arch, s.builder]), [["amd64", "buildx"], ["arm64", "buildx:k8s"]]);
  assert.equal(p.inputs!.builders, { arm64: "buildx:k8s" });
  const text = formatPlan(p);
  assert.match(text, "build  example/app:h1-arm64  [linux/arm64, buildx:k8s (kubernetes driver, loaded into the local engine)]  not in registry, not in local engine\n         $ docker buildx build --builder k8s --platform linux/arm64");
  assert.match(text, "push   example/app:h1-arm64  [linux/arm64, docker manifest, from buildx:k8s]");
  const ctx = plan([pkg], { command: "build", builder: local, builders: { arm64: namedBuildxBuilder(shell, "arm-box", "docker") }, local: new Map() });
  assert.match(formatPlan(ctx), "[linux/arm64, buildx:arm-box (docker driver)]  not in engine arm-box");
  const withResolved = { ...p, observed: { registry: {}, local: {} }, inputs: { ...p.inputs!, resolved: { from: "/src" } } };
  const read = parsePlanFile(JSON.stringify(withResolved), "plan.json");
  assert.equal("steps" in read && read.inputs!.builders, { arm64: "buildx:k8s" });
});

/** A Shell stand-in for `docker buildx inspect <name>`: answers from `drivers`, records each call. */
function standInBuildx(drivers: Record<string, string>): Shell & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: "zx",
    calls,
    exec: async (argv) => {
      calls.push([...argv]);
      const driver = drivers[argv[3]!];
      return driver
        ? { code: 0, stdout: `Name:          ${argv[3]}\nDriver:        ${driver}\n\nNodes:\nName:      ${argv[3]}0\nEndpoint:  unix:///x\n`, stderr: "" }
        : { code: 1, stdout: "", stderr: `ERROR: no builder "${argv[3]}" found` };
    },
  };
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), "pkgkit-driver-"));
  const bin = join(root, "bin");
  const config = join(root, "docker-config");
  mkdirSync(bin);
  mkdirSync(join(config, "buildx", "instances"), { recursive: true });
  writeFileSync(join(bin, "docker"), "cli v1");
  const options = { file: join(root, "cache", "buildx-drivers.json"), env: { PATH: bin, DOCKER_CONFIG: config } };
  return { root, config, options, done: () => rmSync(root, { recursive: true, force: true }) };
}

test("buildxDriver (Shell stand-in): asked once per builder, then remembered while its instance file or context is unchanged", async () => {
  const t = setup();
  try {
    const instance = join(t.config, "buildx", "instances", "bk");
    writeFileSync(instance, '{"Name":"bk","Driver":"docker-container"}');
    const contextMeta = join(t.config, "contexts", "meta", createHash("sha256").update("arm-box").digest("hex"), "meta.json");
    mkdirSync(join(contextMeta, ".."), { recursive: true });
    writeFileSync(contextMeta, '{"Name":"arm-box"}');
    const shell = standInBuildx({ bk: "docker-container", "arm-box": "docker", default: "docker" });
    assert.is(await buildxDriver(shell, "bk", "--builders", "docker", t.options), "docker-container");
    assert.is(await buildxDriver(shell, "arm-box", "--builders", "docker", t.options), "docker");
    assert.is(await buildxDriver(shell, "bk", "--builders", "docker", t.options), "docker-container");
    assert.is(await buildxDriver(shell, "arm-box", "--builders", "docker", t.options), "docker");
    assert.equal(shell.calls, [["docker", "buildx", "inspect", "bk"], ["docker", "buildx", "inspect", "arm-box"]]);
    // `docker buildx rm bk; docker buildx create --name bk --driver remote ...`: a new instance file.
    writeFileSync(instance, '{"Name":"bk","Driver":"remote","Nodes":[]}');
    const remade = standInBuildx({ bk: "remote" });
    assert.is(await buildxDriver(remade, "bk", "--builders", "docker", t.options), "remote");
    assert.is(remade.calls.length, 1);
    // A name no file defines (buildx's "default") is asked every time.
    await buildxDriver(shell, "default", "--builders", "docker", t.options);
    await buildxDriver(shell, "default", "--builders", "docker", t.options);
    assert.is(shell.calls.filter((c) => c[3] === "default").length, 2);
  } finally {
    t.done();
  }
});

test("buildxDriver: an unknown builder is bad input naming where it was given, the value and docker buildx ls", async () => {
  const t = setup();
  try {
    const error = await buildxDriver(standInBuildx({}), "nosuch", '--builders "arm64=buildx:nosuch"', "docker", t.options).then(() => undefined, (e: unknown) => e);
    assert.instance(error, InputError);
    assert.is(
      (error as Error).message,
      '--builders "arm64=buildx:nosuch": no buildx builder "nosuch" (no builder "nosuch" found); `docker buildx ls` lists the builders, `docker buildx create --name nosuch ...` makes one',
    );
  } finally {
    t.done();
  }
});

test("doctor's row of a buildx:<name> builder (Shell stand-in): known, its driver, status and platforms; unknown is missing with the fix", async () => {
  const inspect = (stdout: string, code = 0, stderr = ""): Shell => ({ name: "zx", exec: async () => ({ code, stdout, stderr }) });
  const arm = "Name: arm\nDriver: remote\n\nNodes:\nName: arm0\nEndpoint: tcp://arm:1234\nStatus: running\nPlatforms: linux/arm64*, linux/arm/v7\n";
  assert.equal(await buildxBuilderRow(inspect(arm), "arm64", "arm", 1000), { check: "builder arm64", status: "ok", found: "buildx:arm, remote driver, running; builds linux/arm64, linux/arm/v7", fix: "" });
  assert.is((await buildxBuilderRow(inspect(arm), "riscv64", "arm", 1000)).status, "warn");
  assert.is((await buildxBuilderRow(inspect("Name: bk\nDriver: docker-container\nNodes:\nName: bk0\nStatus: inactive\n"), "riscv64", "bk", 1000)).found, "buildx:bk, docker-container driver, inactive");
  const gone = await buildxBuilderRow(inspect("", 1, 'ERROR: no builder "gone" found\n'), "arm64", "gone", 1000);
  assert.equal([gone.status, gone.found], ["missing", 'buildx:gone: ERROR: no builder "gone" found']);
  assert.match(gone.fix, "`docker buildx ls` lists the builders");
});

test("parseInspectDriver: the Driver line of docker buildx inspect", () => {
  assert.is(parseInspectDriver("Name:   bk\nDriver: docker-container\nLast Activity: x\n"), "docker-container");
  assert.is(parseInspectDriver("Name: x\n"), undefined);
});

test.run();
