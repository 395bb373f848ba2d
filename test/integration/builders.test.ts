// Remote builders: `--builders arm64=<endpoint|context|buildx:<name>>` sends arm64 to its own engine or builder. The second
// engine test/env/start.sh runs on its own socket stands in for a native arm64 machine; each test
// reads that engine's image list (and the local one's) to see where each arch was built.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect } from "node:net";
import { BIN, chainRepo, must, pkgkit, pushedManifestOf, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { engineSocket } from "../../lib/engine-api.ts";
import { defaultShell, type Shell } from "../../lib/shell.ts";

const svc = services();
const REMOTE = svc.remoteEngine;
if (!REMOTE) throw new Error("services.json has no remoteEngine: run test/env/start.sh (it starts the remote builder engine)");
const RUN = `${process.pid}${Date.now().toString(36)}`;
const ORG = `pkgkit-test-builders-${RUN}`;
const HELLO = join(ROOT, "examples/hello");
const TAG = pkgkit(["show-tag", "--org", ORG, HELLO]).stdout.trim().split(":").pop()!;

type Engine = "local" | "remote";
const docker = (engine: Engine, args: string[]) => (engine === "remote" ? ["docker", "--host", REMOTE, ...args] : ["docker", ...args]);
/** The image as that engine has it, or undefined. */
function imageIn(engine: Engine, ref: string): { Id: string; Architecture: string } | undefined {
  const r = sh(docker(engine, ["image", "inspect", ref]));
  return r.code === 0 ? (JSON.parse(r.stdout) as { Id: string; Architecture: string }[])[0] : undefined;
}
const refsIn = (engine: Engine) => must(docker(engine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])).split("\n").filter((r) => r.includes(RUN));

interface PlanStep { kind: string; id: string; arch?: string; ref: string; builder?: string; reason: string; found?: string; command?: { argv: string[] } }
const planOf = (args: string[], env: Record<string, string> = {}, cwd = ROOT) => {
  const r = pkgkit(["plan", "--json", ...args], { env, cwd });
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { steps: PlanStep[] };
};
const builderOf = (p: { steps: PlanStep[] }, arch: string) => p.steps.find((s) => s.kind === "build" && s.arch === arch)?.builder;

test("build --builders arm64=<endpoint>: arm64 is built in that engine only, amd64 in the local one only", () => {
  const r = pkgkit(["build", "--json", "--org", ORG, "--builders", `arm64=${REMOTE}`, HELLO]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `building ${ORG}/hello:${TAG}-arm64 (linux/arm64, buildx@${REMOTE})`);
  assert.match(r.stderr, `building ${ORG}/hello:${TAG}-amd64 (linux/amd64, buildx)`);
  const { plan } = JSON.parse(r.stdout) as { plan: { steps: PlanStep[] } };
  const arm = plan.steps.find((s) => s.arch === "arm64")!;
  assert.equal([arm.builder, arm.command!.argv.slice(0, 5)], [`buildx@${REMOTE}`, ["docker", "--host", REMOTE, "buildx", "build"]]);
  assert.equal(builderOf(plan, "amd64"), "buildx");

  const arm64 = `${ORG}/hello:${TAG}-arm64`;
  const amd64 = `${ORG}/hello:${TAG}-amd64`;
  assert.is(imageIn("remote", arm64)?.Architecture, "arm64", "arm64 is in the remote engine's image list");
  assert.is(imageIn("local", arm64), undefined, "and not in the local engine");
  assert.is(imageIn("local", amd64)?.Architecture, "amd64");
  assert.is(imageIn("remote", amd64), undefined);
  // An engine given for one arch is that arch's machine: its image also gets the plain tag there (local chaining).
  assert.equal(refsIn("remote").sort(), [`${ORG}/hello:${TAG}`, arm64].sort());
  assert.is(imageIn("remote", `${ORG}/hello:${TAG}`)?.Id, imageIn("remote", arm64)?.Id);
  // The remote engine runs it (under the kernel's qemu binfmt here; natively on an arm64 machine).
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", arm64])).trim(), "hello from aarch64");
});

test("look-ups go to the engine API over the engine's unix socket, no docker process, and agree with docker image inspect; an engine that does not answer there is asked through the CLI", async () => {
  const real = await defaultShell();
  const calls: string[][] = [];
  const shell: Shell = { name: real.name, exec: (argv, options) => (calls.push([...argv]), real.exec(argv, options)) };
  const refs = [`${ORG}/hello:${TAG}-arm64`, `${ORG}/hello:${TAG}-amd64`, `${ORG}/hello:${TAG}`, `${ORG}/hello:not-built`];
  for (const [engine, builder] of [["local", buildxBuilder(shell)], ["remote", buildxBuilder(shell, "docker", { host: REMOTE })]] as const) {
    const found = await builder.inspect(refs);
    const expected = refs.flatMap((ref) => {
      const r = sh(docker(engine, ["image", "inspect", ref]));
      if (r.code !== 0) return [];
      const i = (JSON.parse(r.stdout) as { Id: string; Os: string; Architecture: string; Variant?: string; Config: { Labels: Record<string, string> } }[])[0]!;
      return [[ref, { ref, id: i.Id, os: i.Os, architecture: i.Architecture, ...(i.Variant ? { variant: i.Variant } : {}), labels: i.Config.Labels }]];
    });
    assert.equal(Object.fromEntries(found), Object.fromEntries(expected), engine);
    assert.ok(found.size >= 1, `${engine} has an image of this run`);
    assert.is(await builder.engineArch(), must(docker(engine, ["version", "--format", "{{.Server.Arch}}"])).trim());
    assert.equal(calls, [], `${engine}: no docker process`);
  }
  const before = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${join(tmpdir(), `pkgkit-no-engine-${RUN}.sock`)}`;
  try {
    const error = await buildxBuilder(shell).inspect(refs).then(() => undefined, (e: Error) => e.message);
    assert.match(error ?? "", "Is the Docker engine running?");
    assert.equal(calls.map((c) => c.slice(0, 3)), [["docker", "image", "inspect"]]);
  } finally {
    if (before === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = before;
  }
});

test("a build asks the engine, over its socket, for its arch once and for each image of the plan's look-up, then for the built image: one HTTP/1.0 request a connection", async () => {
  // A unix socket in front of the local engine, passing the bytes both ways, that records each
  // connection's first line: pkgkit's requests (HTTP/1.0) and the docker CLI's (HTTP/1.1, which the build runs through it too).
  const engine = engineSocket(undefined)!;
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-engine-proxy-"));
  const socket = join(dir, "engine.sock");
  const firstLines: string[] = [];
  const proxy = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect(engine);
    let head = "";
    const record = (c: Buffer) => {
      head += c.toString("latin1");
      if (!head.includes("\r\n")) return client.once("data", record);
      firstLines.push(head.slice(0, head.indexOf("\r\n")));
    };
    client.once("data", record);
    client.pipe(upstream).on("error", () => client.destroy());
    upstream.pipe(client).on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(socket, resolve));
  try {
    const org = `${ORG}-requests`;
    const r = await shAsync([process.execPath, BIN, "build", "--force", "--arches", "amd64", "--org", org, HELLO], ROOT, { DOCKER_HOST: `unix://${socket}` });
    assert.is(r.code, 0, r.stderr);
    const ours = firstLines.filter((l) => l.endsWith(" HTTP/1.0")).sort();
    const image = (ref: string) => `GET /images/${ref}/json HTTP/1.0`;
    // Before the build: the per-arch image and the plain tag (the look-up) and the arch; after it, the built image.
    assert.equal(ours, [image(`${org}/hello:${TAG}-amd64`), image(`${org}/hello:${TAG}-amd64`), image(`${org}/hello:${TAG}`), "GET /version HTTP/1.0"].sort());
    assert.ok(firstLines.some((l) => / HTTP\/1\.1$/.test(l)), `the build's docker CLI went through the proxy too: ${firstLines.join(" | ")}`);
    sh(["docker", "image", "rm", `${org}/hello:${TAG}-amd64`, `${org}/hello:${TAG}`]);
  } finally {
    await new Promise((resolve) => proxy.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the look-up asks each arch's engine: built again nothing is rebuilt; without --builders arm64 is not local", () => {
  const ids = { amd64: imageIn("local", `${ORG}/hello:${TAG}-amd64`)!.Id, arm64: imageIn("remote", `${ORG}/hello:${TAG}-arm64`)!.Id };
  const p = planOf(["--org", ORG, "--builders", `arm64=${REMOTE}`, HELLO]);
  assert.equal(p.steps.map((s) => [s.kind, s.reason, s.found]), [
    ["skip", "exists in local engine", ids.amd64],
    ["skip", `exists in engine ${REMOTE}`, ids.arm64],
  ]);
  const plain = planOf(["--org", ORG, HELLO]);
  assert.equal(plain.steps.map((s) => [s.kind, s.builder, s.reason]), [["skip", undefined, "exists in local engine"], ["build", "buildx", "not in local engine"]]);
});

test("push --builders: arm64 is built in and exported from the remote engine; the index has both arches", async () => {
  const org = `${svc.registries.plain}/${ORG}-push`;
  const r = pkgkit(["push", "--disable-content-trust", "--json", "--org", org, "--builders", `arm64=${REMOTE}`, HELLO]);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { packages: { arches: Record<string, { digest: string; action: string }> }[]; plan: { steps: PlanStep[] } };
  assert.equal(out.plan.steps.filter((s) => s.kind === "push").map((s) => [s.arch, s.builder]), [["amd64", "buildx"], ["arm64", `buildx@${REMOTE}`]]);
  assert.equal(Object.values(out.packages[0]!.arches).map((a) => a.action), ["built, pushed", "built, pushed"]);
  const remoteArm = imageIn("remote", `${org}/hello:${TAG}-arm64`)!;
  assert.ok(remoteArm, "arm64 built in the remote engine");
  assert.is(imageIn("local", `${org}/hello:${TAG}-arm64`), undefined, "not in the local one");

  const client = createRegistry();
  const index = await client.getManifest(`${org}/hello`, TAG);
  assert.equal(index!.json.manifests!.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort(), ["linux/amd64", "linux/arm64"]);
  // Each arch's manifest is the image of the engine it was built in, as push normalises it.
  const manifestOf = (arch: string) => index!.json.manifests!.find((d) => d.platform?.architecture === arch)!.digest;
  assert.is(manifestOf("arm64"), await pushedManifestOf(docker("remote", []), `${org}/hello:${TAG}-arm64`));
  assert.is(manifestOf("amd64"), await pushedManifestOf(docker("local", []), `${org}/hello:${TAG}-amd64`));

  const again = pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--org", org, "--builders", `arm64=${REMOTE}`, HELLO]);
  assert.equal((JSON.parse(again.stdout) as { steps: PlanStep[] }).steps.map((s) => s.kind), ["skip", "skip", "skip"]);
});

test("PKGKIT_BUILDERS works like --builders; the flag wins over it", () => {
  const env = { PKGKIT_BUILDERS: `arm64=${REMOTE}` };
  const org = `${ORG}-env`;
  const fromEnv = planOf(["--org", org, HELLO], env);
  assert.equal([builderOf(fromEnv, "amd64"), builderOf(fromEnv, "arm64")], ["buildx", `buildx@${REMOTE}`]);
  const r = pkgkit(["build", "--org", org, "--arches", "arm64", HELLO], { env });
  assert.is(r.code, 0, r.stderr);
  assert.is(imageIn("remote", `${org}/hello:${TAG}-arm64`)?.Architecture, "arm64");
  assert.is(imageIn("local", `${org}/hello:${TAG}-arm64`), undefined);
  const flagWins = planOf(["--org", org, "--builders", `amd64=${REMOTE}`, HELLO], env);
  assert.equal([builderOf(flagWins, "amd64"), builderOf(flagWins, "arm64")], [`buildx@${REMOTE}`, "buildx"]);
});

test("a workspace's builders apply when neither the flag nor PKGKIT_BUILDERS is set", () => {
  const repo = tmpRepo({
    "pkgkit.config.ts": `import { defineWorkspace } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\nexport default defineWorkspace({ builders: { arm64: ${JSON.stringify(REMOTE)} } });\n`,
    "pkgs/a/build.yml": "image: a\n",
    "pkgs/a/Dockerfile": "FROM scratch\n",
  });
  const org = `${ORG}-ws`;
  const p = (env: Record<string, string> = {}, args: string[] = []) => planOf(["--org", org, ...args], env, repo.dir);
  assert.equal(builderOf(p(), "arm64"), `buildx@${REMOTE}`);
  const amd64Remote = { PKGKIT_BUILDERS: `amd64=${REMOTE}` };
  assert.equal([builderOf(p(amd64Remote), "amd64"), builderOf(p(amd64Remote), "arm64")], [`buildx@${REMOTE}`, "buildx"], "the variable replaces the workspace's map as a whole");
  assert.equal([builderOf(p({}, ["--builders", `amd64=${REMOTE}`]), "amd64"), builderOf(p({}, ["--builders", `amd64=${REMOTE}`]), "arm64")], [`buildx@${REMOTE}`, "buildx"]);
  repo.rm();
});

test("a docker context name works: docker --context <name>, built in that context's engine", () => {
  const config = mkdtempSync(join(tmpdir(), "pkgkit-docker-config-"));
  const env = { DOCKER_CONFIG: config };
  const name = "pkgkit-test-remote";
  must(["docker", "context", "create", name, "--docker", `host=${REMOTE}`], undefined, env);
  try {
    const org = `${ORG}-ctx`;
    const r = pkgkit(["build", "--json", "--org", org, "--arches", "arm64", "--builders", `arm64=${name}`, HELLO], { env });
    assert.is(r.code, 0, r.stderr);
    const step = (JSON.parse(r.stdout) as { plan: { steps: PlanStep[] } }).plan.steps[0]!;
    assert.equal([step.builder, step.command!.argv.slice(0, 4)], [`buildx@${name}`, ["docker", "--context", name, "buildx"]]);
    assert.is(imageIn("remote", `${org}/hello:${TAG}-arm64`)?.Architecture, "arm64");
    assert.is(imageIn("local", `${org}/hello:${TAG}-arm64`), undefined);
  } finally {
    sh(["docker", "context", "rm", "--force", name], undefined, env);
    rmSync(config, { recursive: true, force: true });
  }
});

test("--builders arm64=buildx:<name>, a docker-context builder (buildx's docker driver): arm64 built on that context's engine, pushed from it, merged with amd64", async () => {
  // A docker context is itself a buildx builder of the docker driver (`docker buildx ls` lists it;
  // `docker buildx create` makes docker-container builders, which need a moby/buildkit image).
  const config = mkdtempSync(join(tmpdir(), "pkgkit-docker-config-"));
  const env = { DOCKER_CONFIG: config, XDG_CACHE_HOME: join(config, "cache") };
  const name = `pkgkit-bx-${RUN}`;
  must(["docker", "context", "create", name, "--docker", `host=${REMOTE}`], undefined, env);
  try {
    assert.match(must(["docker", "buildx", "ls"], undefined, env), new RegExp(`^${name}\\s+docker\\s*$`, "m"));
    const org = `${svc.registries.plain}/${ORG}-bx`;
    const text = pkgkit(["plan", "--push", "--disable-content-trust", "--org", org, "--builders", `linux/arm64=buildx:${name}`, HELLO], { env });
    assert.is(text.code, 0, text.stderr);
    assert.match(text.stdout, `build  ${org}/hello:${TAG}-arm64  [linux/arm64, buildx:${name} (docker driver)]  not in registry, not in engine ${name}\n         $ docker --context ${name} buildx build --builder ${name} --platform linux/arm64 --load`);
    // Planned, then applied: apply looks the builder's driver up again.
    const planned = pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--org", org, "--builders", `linux/arm64=buildx:${name}`, HELLO], { env });
    assert.is(planned.code, 0, planned.stderr);
    const file = join(config, "plan.json");
    const gone = join(config, "gone.json");
    writeFileSync(file, planned.stdout);
    writeFileSync(gone, planned.stdout.replaceAll(`buildx:${name}`, "buildx:no-such-builder"));
    const refused = pkgkit(["apply", gone], { env });
    assert.is(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, `pkgkit: ${gone}: field "inputs.builders.arm64": "buildx:no-such-builder": no buildx builder "no-such-builder"`);
    const r = pkgkit(["apply", "--json", file], { env });
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { plan: { steps: (PlanStep & { driver?: string })[]; inputs: { builders: Record<string, string> } } };
    const arm = out.plan.steps.find((s) => s.kind === "build" && s.arch === "arm64")!;
    assert.equal([arm.builder, arm.driver, arm.command!.argv.slice(0, 7)], [`buildx:${name}`, "docker", ["docker", "--context", name, "buildx", "build", "--builder", name]]);
    assert.equal(out.plan.steps.filter((s) => s.kind === "push").map((s) => [s.arch, s.builder]), [["amd64", "buildx"], ["arm64", `buildx:${name}`]]);
    assert.equal(out.plan.inputs.builders, { arm64: `buildx:${name}` });
    const remoteArm = imageIn("remote", `${org}/hello:${TAG}-arm64`);
    assert.is(remoteArm?.Architecture, "arm64", "built on the context's engine");
    assert.is(imageIn("local", `${org}/hello:${TAG}-arm64`), undefined, "not on the local one");
    const client = createRegistry();
    const index = await client.getManifest(`${org}/hello`, TAG);
    assert.equal(index!.json.manifests!.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort(), ["linux/amd64", "linux/arm64"]);
    const armEntry = index!.json.manifests!.find((d) => d.platform?.architecture === "arm64")!;
    assert.is(armEntry.digest, (await client.headManifest(`${org}/hello`, `${TAG}-arm64`))!.digest);
    // The registry's arm64 image is the one the context's engine built, as push normalises it.
    assert.is(armEntry.digest, await pushedManifestOf(docker("remote", []), `${org}/hello:${TAG}-arm64`));
  } finally {
    sh(["docker", "context", "rm", "--force", name], undefined, env);
    rmSync(config, { recursive: true, force: true });
  }
});

test("a dependency built FROM another on arm64: both in the remote engine, the dependent FROM the per-arch ref", () => {
  const repo = chainRepo();
  const org = `${ORG}-deps`;
  const r = pkgkit(["build", "--json", "--org", org, "--builders", `arm64=${REMOTE}`, join(repo.dir, "app")]);
  assert.is(r.code, 0, r.stderr);
  const steps = (JSON.parse(r.stdout) as { plan: { steps: PlanStep[] } }).plan.steps;
  const ref = (image: string, arch: string) => steps.find((s) => s.ref.startsWith(`${org}/${image}:`) && s.arch === arch)!.ref;
  const appArm = steps.find((s) => s.ref === ref("app", "arm64"))!;
  assert.ok(appArm.command!.argv.includes(`BASE=${ref("base", "arm64")}`));
  for (const image of ["base", "app"]) {
    assert.is(imageIn("remote", ref(image, "arm64"))?.Architecture, "arm64", `${image} arm64 in the remote engine`);
    assert.is(imageIn("local", ref(image, "arm64")), undefined);
    assert.is(imageIn("local", ref(image, "amd64"))?.Architecture, "amd64", `${image} amd64 in the local engine`);
  }
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", ref("app", "arm64")])).trim(), "app built on aarch64");
  repo.rm();
});

test("bad builders exit 2 with what was given and the expected form; nothing is built", () => {
  const form = "expected arch=<endpoint|context|buildx:<name>>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock,riscv64=buildx:k8s";
  const cases: [string[], Record<string, string>, string][] = [
    [["--builders", "arm64"], {}, `pkgkit: --builders "arm64": "arm64" is not arch=<endpoint|context|buildx:<name>>; ${form}\n`],
    [["--builders", `x86=${REMOTE}`], {}, `pkgkit: --builders "x86=${REMOTE}": "x86" is not an arch pkgkit builds for`],
    [["--builders", "arm64="], {}, `pkgkit: --builders "arm64=": no engine for arm64; ${form}\n`],
    [[], { PKGKIT_BUILDERS: "arm64=http://host" }, `pkgkit: PKGKIT_BUILDERS "arm64=http://host": "http://host" is not an engine endpoint`],
    [["--builders", "arm64=no-such-context-here"], {}, 'pkgkit: docker context "no-such-context-here" does not exist'],
    [["--builders", "linux/arm64=buildx:no-such-builder"], {}, 'pkgkit: --builders "arm64=buildx:no-such-builder": no buildx builder "no-such-builder" (no builder "no-such-builder" found); `docker buildx ls` lists the builders'],
  ];
  for (const [args, env, message] of cases) {
    for (const command of ["build", "push", "plan"]) {
      const r = pkgkit([command, "--org", `${svc.registries.plain}/${ORG}-bad`, ...args, HELLO], { env });
      assert.is(r.code, 2, `${command} ${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(message), `${command}: ${r.stderr}`);
    }
  }
  assert.equal(refsIn("local").filter((r) => r.includes("-bad/")), []);
});

test.after(() => {
  for (const engine of ["local", "remote"] as const) {
    const refs = refsIn(engine);
    if (refs.length) sh(docker(engine, ["image", "rm", "-f", ...refs]));
  }
});
test.run();
