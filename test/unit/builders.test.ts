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
import { defaultShell, type Shell } from "../../lib/shell.ts";
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

const WS = "/ws/pkgkit.config.ts";
const TLS = { ca: "/certs/ca.pem", cert: "/certs/cert.pem", key: "/certs/key.pem" };
test("a tcp:// engine with TLS files: every docker command verifies the engine and shows its certificate, by path; the plan records the paths for apply", () => {
  const req = { context: "/src", dockerfile: "/src/Dockerfile", arch: "arm64" as const, ref: "example/app:h1-arm64", network: false, cache: true, buildArgs: {}, labels: {} };
  const tls = buildxBuilder(shell, "docker", { host: "tcp://arm:2376", tls: TLS }, "arm64");
  assert.equal(tls.command(req).argv.slice(0, 12), ["docker", "--host", "tcp://arm:2376", "--tlsverify", "--tlscacert", TLS.ca, "--tlscert", TLS.cert, "--tlskey", TLS.key, "buildx", "build"]);
  assert.is(tls.name, "buildx@tcp://arm:2376");
  const p = plan([pkg], { command: "build", builder: local, builders: { arm64: tls }, local: new Map() });
  assert.equal(p.inputs?.builderTls, { arm64: TLS });
  assert.is(plan([pkg], { command: "build", builder: local, builders: { arm64: remote }, local: new Map() }).inputs?.builderTls, undefined);
});

test("TLS files: the workspace's (relative to its directory) > DOCKER_CERT_PATH's, for tcp:// engines only; elsewhere an error naming the field", () => {
  const workspace = makeWorkspace({ builders: { arm64: { host: "tcp://arm:2376", tls: { ca: "tls/ca.pem", cert: "tls/cert.pem", key: "/abs/key.pem" } }, riscv64: "tcp://rv:2376", amd64: "ssh://me@x" } }, WS);
  const ws = { file: workspace.file, value: workspaceDefaults(workspace).builders };
  const from = `${WS}: field "builders.arm64.tls"`;
  assert.equal(resolveBuilders({}, {}, ws).value, {
    arm64: { host: "tcp://arm:2376", tls: { ca: "/ws/tls/ca.pem", cert: "/ws/tls/cert.pem", key: "/abs/key.pem", from } },
    riscv64: { host: "tcp://rv:2376" },
    amd64: { host: "ssh://me@x" },
  });
  const certPath = { ca: "/d/ca.pem", cert: "/d/cert.pem", key: "/d/key.pem", from: "DOCKER_CERT_PATH" };
  assert.equal(resolveBuilders({}, { DOCKER_CERT_PATH: "/d" }, ws).value.riscv64, { host: "tcp://rv:2376", tls: certPath });
  assert.equal(resolveBuilders({}, { DOCKER_CERT_PATH: "/d" }, ws).value.arm64, resolveBuilders({}, {}, ws).value.arm64);
  assert.equal(resolveBuilders({ builders: "arm64=tcp://arm:2376,amd64=unix:///s" }, { DOCKER_CERT_PATH: "/d" }).value, { arm64: { host: "tcp://arm:2376", tls: certPath }, amd64: { host: "unix:///s" } });
});

test("engine errors name the builder (arch, endpoint) and what to check; other failures keep docker's message", async () => {
  const fake = (stderr: string): Shell => ({ name: shell.name, exec: async () => ({ code: 1, stdout: "", stderr }) });
  const inspectError = async (stderr: string, engine: Parameters<typeof buildxBuilder>[2]) => {
    try {
      await buildxBuilder(fake(stderr), "docker", engine, "arm64").inspect(["example/app:h1-arm64"]);
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  const tcp = { host: "tcp://arm:2376", tls: TLS };
  assert.match(await inspectError('Get "https://arm:2376/v1.50/images/x/json": remote error: tls: bad certificate', tcp), /^builder arm64 \(tcp:\/\/arm:2376\): the engine refused pkgkit's client certificate: check that the client certificate .* is signed by the CA the engine trusts .*The docker CLI said: .*tls: bad certificate$/);
  assert.match(await inspectError("tls: failed to verify certificate: x509: certificate signed by unknown authority", tcp), /^builder arm64 \(tcp:\/\/arm:2376\): pkgkit does not trust the engine's certificate: check the CA certificate/);
  assert.match(await inspectError("Error response from daemon: Client sent an HTTP request to an HTTPS server.", { host: "tcp://arm:2376" }), /^builder arm64 \(tcp:\/\/arm:2376\): the engine speaks TLS and pkgkit gave it no client certificate/);
  const ssh = { host: "ssh://me@arm:2222" };
  assert.match(await inspectError("error during connect: ... stderr=No ED25519 host key is known for [arm]:2222 and you have requested strict checking.\nHost key verification failed.\n", ssh), /^builder arm64 \(ssh:\/\/me@arm:2222\): ssh does not know this host's key .*`ssh-keyscan -p 2222 arm >> ~\/.ssh\/known_hosts`.*The docker CLI said: Host key verification failed\.$/);
  assert.match(await inspectError("stderr=me@arm: Permission denied (publickey).", ssh), /^builder arm64 \(ssh:\/\/me@arm:2222\): the ssh server refused the login: check that me's authorized_keys/);
  assert.match(await inspectError("Cannot connect to the Docker daemon at tcp://arm:2399. Is the docker daemon running?", { host: "tcp://arm:2399" }), /^builder arm64 \(tcp:\/\/arm:2399\): nothing accepts connections there \(connection refused\)/);
  assert.match(await inspectError("stderr=ssh: connect to host arm port 2222: Connection refused", ssh), /^builder arm64 \(ssh:\/\/me@arm:2222\): nothing accepts connections there/);
  assert.match(await inspectError("Cannot connect to the Docker daemon at unix:///run/arm.sock. Is the docker daemon running?", { host: "unix:///run/arm.sock" }), /^builder arm64 \(unix:\/\/\/run\/arm\.sock\): nothing accepts connections on that socket: check that the engine runs and listens there/);
  assert.is(await inspectError("something else broke", ssh), "docker image inspect on ssh://me@arm:2222 failed: something else broke. Is the Docker engine on ssh://me@arm:2222 running?");
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

const badWorkspaces: [string, unknown, string][] = [
  ["unknown arch", { builders: { x86: "ctx1" } }, `${WS}: field "builders.x86": "x86" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64 (got "ctx1")`],
  ["empty engine", { builders: { arm64: "" } }, `${WS}: field "builders.arm64": no engine given; expected an endpoint (unix://, tcp://, ssh://) or a docker context name (got "")`],
  ["bad endpoint", { builders: { arm64: "http://x" } }, `${WS}: field "builders.arm64": "http://x" is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>`],
  ["TLS for an ssh engine", { builders: { arm64: { host: "ssh://me@x", tls: { ca: "a", cert: "b", key: "c" } } } }, `${WS}: field "builders.arm64.tls": TLS files are for a tcp:// engine, not "ssh://me@x"; an ssh:// engine authenticates with ssh keys (~/.ssh/config, the agent), a docker context carries its own TLS (got {"ca":"a","cert":"b","key":"c"})`],
  ["TLS without a key", { builders: { arm64: { host: "tcp://x:2376", tls: { ca: "a", cert: "b" } } } }, `${WS}: field "builders.arm64.tls": missing key; expected { ca, cert, key }: paths of the CA's certificate, the client certificate and its key (PEM files) (got {"ca":"a","cert":"b"})`],
  ["a bad host in an entry", { builders: { arm64: { host: "http://x" } } }, `${WS}: field "builders.arm64.host": "http://x" is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>`],
  ["a string, not a map", { builders: "arm64=ctx" }, `${WS}: field "builders": expected "builders" to map arches to engines, e.g. { arm64: "ssh://user@arm-host" } (got "arm64=ctx")`],
];
for (const [name, raw, message] of badWorkspaces) {
  test(`bad workspace builders: ${name}`, () => {
    assert.is(specErrorOf(() => makeWorkspace(raw, WS)), message);
  });
}

test.run();
