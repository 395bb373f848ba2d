// Remote builders, the pure parts: parsing `arch=<endpoint|context>` lists, the argv that points
// the docker CLI at an engine, plans that give each arch its own builder, and the precedence of
// --builders > PKGKIT_BUILDERS > the workspace.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import type { BuildStep, PushStep, SkipStep } from "../../lib/plan/schema.ts";
import { buildxBuilder, legacyBuilder, parseBuilders, parseEngine, type LocalImage } from "../../lib/builder.ts";
import { run } from "../../lib/run.ts";
import { defaultShell } from "../../lib/shell.ts";
import { makeWorkspace, workspaceDefaults } from "../../lib/workspace.ts";
import { resolveBuilders } from "../../lib/options.ts";
import { inputErrorOf, specErrorOf } from "../helpers.ts";

const shell = await defaultShell();
const REMOTE = "unix:///run/remote.sock";
const local = buildxBuilder(shell);
const remote = buildxBuilder(shell, "docker", { host: REMOTE });
const [pkg] = (await resolvePackages(shell, [makeDefinition({ image: "app", org: "example" }, join(tmpdir(), "pkg.config.ts"))], { hash: "h1" })) as [Package];

test("parseBuilders: endpoints and context names per arch, spaces and empty entries ignored", () => {
  assert.equal(parseBuilders(`arm64=${REMOTE}, amd64 = my-ctx,`, "--builders"), { arm64: { host: REMOTE }, amd64: { context: "my-ctx" } });
  assert.equal(parseBuilders("arm64=ssh://me@arm-host:2222,riscv64=tcp://10.0.0.5:2375", "--builders"), {
    arm64: { host: "ssh://me@arm-host:2222" },
    riscv64: { host: "tcp://10.0.0.5:2375" },
  });
});

const FORM = "expected arch=<endpoint|context>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock";
const badLists: [string, string, string][] = [
  ["arm64", "--builders", `--builders "arm64": "arm64" is not arch=<endpoint|context>; ${FORM}`],
  ["x86=ctx", "PKGKIT_BUILDERS", `PKGKIT_BUILDERS "x86=ctx": "x86" is not an arch pkgkit builds for (amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>); ${FORM}`],
  ["arm64=", "--builders", `--builders "arm64=": no engine for arm64; ${FORM}`],
  ["arm64=a1,arm64=a2", "--builders", `--builders "arm64=a1,arm64=a2": arm64 is given twice; ${FORM}`],
  ["arm64=ftp://host", "--builders", `--builders "arm64=ftp://host": "ftp://host" is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>; ${FORM}`],
  ["arm64=--host=x", "--builders", `--builders "arm64=--host=x": "--host=x" is neither an engine endpoint (unix://, tcp://, ssh://) nor a docker context name (letters, digits, "_", ".", "+", "-"); ${FORM}`],
  [" , ", "--builders", `--builders " , ": no builder given; ${FORM}`],
];
for (const [text, source, message] of badLists) {
  test(`parseBuilders rejects ${JSON.stringify(text)}, naming ${source} and the expected form`, () => {
    assert.is(inputErrorOf(() => parseBuilders(text, source)), message);
  });
}

test("parseEngine: what looks like a flag or shell text is neither an endpoint nor a context", () => {
  for (const v of ["-H", "a b", "ctx;rm -rf /", "unix://", "unix:///x y", "x"]) assert.ok("problem" in parseEngine(v), v);
  assert.equal(parseEngine("default"), { context: "default" });
});

test("builders on an engine: --host or --context before the subcommand, and a name that says where", () => {
  const req = { context: "/src", dockerfile: "/src/Dockerfile", arch: "arm64" as const, ref: "example/app:h1-arm64", network: false, cache: true, buildArgs: {}, labels: {} };
  assert.equal(remote.command(req).argv.slice(0, 6), ["docker", "--host", REMOTE, "buildx", "build", "--platform"]);
  assert.is(remote.name, `buildx@${REMOTE}`);
  assert.is(remote.engine, REMOTE);
  const ctx = legacyBuilder(shell, "docker", { context: "arm-box" });
  assert.equal(ctx.command(req).argv.slice(0, 4), ["docker", "--context", "arm-box", "build"]);
  assert.equal(ctx.command(req).env, { DOCKER_BUILDKIT: "0" });
  assert.is(ctx.name, "legacy@arm-box");
  assert.equal([local.name, local.engine], ["buildx", undefined]);
  assert.equal(local.command(req).argv.slice(0, 3), ["docker", "buildx", "build"]);
});

test("plan: each arch builds with its own builder, the others with the default; look-ups are per engine", () => {
  const found = new Map<string, LocalImage>([["example/app:h1-arm64", { ref: "example/app:h1-arm64", id: "sha256:remote", os: "linux", architecture: "arm64", labels: {} }]]);
  const p = plan([pkg], { command: "build", builder: local, builders: { arm64: remote }, local: new Map() });
  const [amd, arm] = p.steps as BuildStep[];
  assert.equal([amd!.builder, amd!.reason, amd!.command.argv[1]], ["buildx", "not in local engine", "buildx"]);
  assert.equal([arm!.builder, arm!.reason, arm!.command.argv.slice(1, 3)], [`buildx@${REMOTE}`, `not in engine ${REMOTE}`, ["--host", REMOTE]]);
  assert.match(formatPlan(p), `build  example/app:h1-arm64  [linux/arm64, buildx@${REMOTE}]  not in engine ${REMOTE}\n         $ docker --host ${REMOTE} buildx build`);
  const again = plan([pkg], { command: "build", builder: local, builders: { arm64: remote }, local: found });
  assert.equal((again.steps[1] as SkipStep).reason, `exists in engine ${REMOTE}`);
  const forced = plan([pkg], { command: "build", builder: local, builders: { arm64: remote }, local: found, force: true });
  assert.is((forced.steps[1] as BuildStep).reason, `--force: rebuild although it exists in engine ${REMOTE}`);
});

test("push plan: each arch is pushed from its builder's engine, and the plan says which", () => {
  const p = plan([pkg], { command: "push", builder: local, builders: { arm64: remote }, local: new Map(), remote: new Map(), indexes: new Map() });
  const pushes = p.steps.filter((s): s is PushStep & { needs: string[] } => s.kind === "push");
  assert.equal(pushes.map((s) => [s.arch, s.builder]), [["amd64", "buildx"], ["arm64", `buildx@${REMOTE}`]]);
  assert.match(formatPlan(p), `[linux/arm64, docker manifest, from buildx@${REMOTE}]`);
});

test("a dependency's arch image builds on the same arch's engine as its dependent, passed as its per-arch ref", async () => {
  const defs = [makeDefinition({ image: "base", org: "example" }, join(tmpdir(), "base/pkg.config.ts"))];
  defs.push(makeDefinition({ image: "app", org: "example", buildArgs: { BASE: defs[0]! } }, join(tmpdir(), "app/pkg.config.ts")));
  const pkgs = await resolvePackages(shell, defs, { hash: "h1" });
  const p = plan(pkgs, { command: "build", builder: local, builders: { arm64: remote }, local: new Map() });
  const appArm = p.steps.find((s) => s.id === "example/app:h1/arm64") as BuildStep & { needs: string[] };
  assert.is(appArm.builder, `buildx@${REMOTE}`);
  assert.equal(appArm.needs, ["example/base:h1/arm64"]);
  assert.is((p.steps.find((s) => s.id === "example/base:h1/arm64") as BuildStep).builder, `buildx@${REMOTE}`);
  assert.ok(appArm.command.argv.includes("BASE=example/base:h1-arm64"));
});

test("run() refuses, before starting anything, a plan made with other builders than it is given", async () => {
  const p = plan([pkg], { command: "build", builder: local, builders: { arm64: remote }, local: new Map() });
  let message = "";
  await run(p, { shell, builder: local }).catch((e: Error) => (message = e.message));
  assert.is(message, `plan step example/app:h1/arm64 uses builder buildx@${REMOTE}, but run() was given buildx for arm64: pass the builders the plan was made with`);
});

test("precedence: --builders > PKGKIT_BUILDERS > the workspace's builders, each as a whole; an empty PKGKIT_BUILDERS is unset", () => {
  const workspace = makeWorkspace({ builders: { arm64: "ws-ctx", amd64: REMOTE } }, "/ws/pkgkit.config.ts");
  const ws = { file: workspace.file, value: workspaceDefaults(workspace).builders };
  const env = { PKGKIT_BUILDERS: "arm64=env-ctx" };
  assert.equal(resolveBuilders({ builders: "riscv64=flag-ctx" }, env, ws).value, { riscv64: { context: "flag-ctx" } });
  assert.equal(resolveBuilders({}, env, ws).value, { arm64: { context: "env-ctx" } });
  assert.equal(resolveBuilders({}, { PKGKIT_BUILDERS: "" }, ws).value, { arm64: { context: "ws-ctx" }, amd64: { host: REMOTE } });
  assert.equal(resolveBuilders({}, {}).value, {});
  assert.match(inputErrorOf(() => resolveBuilders({}, { PKGKIT_BUILDERS: "arm64" })), /^PKGKIT_BUILDERS "arm64": /);
});

const WS = "/ws/pkgkit.config.ts";
const badWorkspaces: [string, unknown, string][] = [
  ["unknown arch", { builders: { x86: "ctx1" } }, `${WS}: field "builders.x86": "x86" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64 (got "ctx1")`],
  ["empty engine", { builders: { arm64: "" } }, `${WS}: field "builders.arm64": no engine given; expected an endpoint (unix://, tcp://, ssh://) or a docker context name (got "")`],
  ["bad endpoint", { builders: { arm64: "http://x" } }, `${WS}: field "builders.arm64": "http://x" is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>`],
  ["a string, not a map", { builders: "arm64=ctx" }, `${WS}: field "builders": expected "builders" to map arches to engines, e.g. { arm64: "ssh://user@arm-host" } (got "arm64=ctx")`],
];
for (const [name, raw, message] of badWorkspaces) {
  test(`bad workspace builders: ${name}`, () => {
    assert.is(specErrorOf(() => makeWorkspace(raw, WS)), message);
  });
}

test.run();
