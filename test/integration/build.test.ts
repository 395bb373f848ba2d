// Real builds on the real engine (buildx and the legacy builder), arm64 through qemu binfmt.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";

const RUN = `${process.pid}${Date.now().toString(36)}`;
const ORG = `pkgkit-test-${RUN}`;
const HELLO = join(ROOT, "examples/hello");
const tag = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "--org", ORG, HELLO]).trim().split(":").pop()!;
const inspect = (ref: string) => JSON.parse(must(["docker", "image", "inspect", ref]))[0] as { Id: string; Os: string; Architecture: string; Config: { Labels: Record<string, string> } };
const planJson = (...args: string[]) => JSON.parse(pkgkit(["plan", "--json", ...args]).stdout) as { steps: { kind: string; ref: string; reason: string; found?: string }[] };

test("build: both arches are built, labelled, of the right platform, and run natively or under qemu", () => {
  const r = pkgkit(["build", "--org", ORG, HELLO]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `[${ORG}/hello amd64] building ${ORG}/hello:${tag}-amd64 (linux/amd64, buildx)`);
  assert.match(r.stderr, new RegExp(`\\[${ORG}/hello arm64\\] built ${ORG}/hello:${tag}-arm64 in \\d+\\.\\ds`));
  assert.match(r.stderr, "2 built, 0 skipped, 0 failed");
  const head = must(["git", "rev-parse", "HEAD"], ROOT).trim();
  for (const [arch, uname] of [["amd64", "x86_64"], ["arm64", "aarch64"]] as const) {
    const ref = `${ORG}/hello:${tag}-${arch}`;
    const img = inspect(ref);
    assert.is(img.Os, "linux");
    assert.is(img.Architecture, arch);
    assert.is(img.Config.Labels["org.opencontainers.image.revision"], head);
    assert.is(img.Config.Labels["org.opencontainers.image.title"], "hello");
    assert.is(must(["docker", "run", "--rm", "--platform", `linux/${arch}`, ref]).trim(), `hello from ${uname}`);
  }
});

test("build again: nothing is rebuilt, the plan says why; --force rebuilds", () => {
  const ids = ["amd64", "arm64"].map((a) => inspect(`${ORG}/hello:${tag}-${a}`).Id);
  const p = planJson("--org", ORG, HELLO);
  assert.equal(p.steps.map((s) => [s.kind, s.reason, s.found]), [["skip", "exists in local engine", ids[0]], ["skip", "exists in local engine", ids[1]]]);
  const again = pkgkit(["build", "--org", ORG, HELLO]);
  assert.is(again.code, 0);
  assert.match(again.stderr, "0 built, 2 skipped, 0 failed");
  const forced = planJson("--org", ORG, "--force", HELLO);
  assert.equal(forced.steps.map((s) => s.reason), ["--force: rebuild although it exists locally", "--force: rebuild although it exists locally"]);
  const r = pkgkit(["build", "--org", ORG, "--force", "--arches", "arm64", HELLO]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "1 built, 0 skipped, 0 failed");
});

test("--dry-run prints the plan and builds nothing", () => {
  const org = `${ORG}-dry`;
  const r = pkgkit(["build", "--dry-run", "--org", org, HELLO]);
  assert.is(r.code, 0);
  assert.match(r.stdout, "plan: build (2 to build, 0 to skip)");
  assert.is(sh(["docker", "image", "inspect", `${org}/hello:${tag}-amd64`]).code, 1);
});

test("legacy builder (no buildx): arm64 image of the right platform that runs under qemu", () => {
  const org = `${ORG}-legacy`;
  const r = pkgkit(["build", "--builder", "legacy", "--arches", "arm64", "--org", org, HELLO]);
  assert.is(r.code, 0, r.stderr);
  const ref = `${org}/hello:${tag}-arm64`;
  assert.is(inspect(ref).Architecture, "arm64");
  assert.is(must(["docker", "run", "--rm", "--platform", "linux/arm64", ref]).trim(), "hello from aarch64");
});

test("the config file is the CLI: LinuxKit's developer flow, in GNU and Go flag styles", () => {
  for (const flags of [["--org", `${ORG}-wombat`, "--disable-content-trust"], [`-org=${ORG}-wombat`, "-disable-content-trust"]]) {
    const r = sh([join(ROOT, "node_modules/.bin/tsx"), join(HELLO, "pkg.config.ts"), "build", ...flags], ROOT);
    assert.is(r.code, 0, r.stderr);
  }
  assert.is(inspect(`${ORG}-wombat/hello:${tag}-arm64`).Architecture, "arm64");
});

/** A committed amd64 package `name` in a temp repo: static busybox, then the given RUN/CMD lines. */
function busyboxPackage(name: string, lines: string) {
  const repo = tmpRepo({
    [`${name}/Dockerfile`]: `FROM scratch\nCOPY busybox /bin/busybox\n${lines}`,
    [`${name}/build.yml`]: `image: ${name}\narches: [amd64]\n`,
  });
  copyFileSync(join(HELLO, "busybox-amd64"), join(repo.dir, name, "busybox"));
  repo.commit();
  return { repo, dir: join(repo.dir, name) };
}

test("network: none during RUN by default; network: true gives the build a network", () => {
  const { repo, dir } = busyboxPackage("net", 'RUN ["/bin/busybox", "--install", "-s", "/bin"]\nRUN ls /sys/class/net | tr "\\n" " " > /ifaces\nCMD ["/bin/cat", "/ifaces"]\n');
  const ifaces = (args: string[]) => {
    const r = pkgkit(["build", "--org", ORG, "--force", ...args, dir]);
    assert.is(r.code, 0, r.stderr);
    const t = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "--org", ORG, dir]).trim();
    return must(["docker", "run", "--rm", `${t}-amd64`]).trim();
  };
  assert.is(ifaces([]), "lo");
  assert.match(ifaces(["--network"]), /eth0/);
  repo.rm();
});

test("a failing build exits 1 and shows the tail of its output", () => {
  const { repo, dir } = busyboxPackage("bad", 'RUN ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"]\n');
  const r = pkgkit(["build", "--org", ORG, dir]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /FAILED after \d+\.\ds/);
  assert.match(r.stderr, /failed with exit code 1:/);
  assert.match(r.stderr, "about to fail");
  assert.match(r.stderr, "0 built, 0 skipped, 1 failed");
  repo.rm();
});

test("a build.yml package with an extra source: context assembled, built, runs on arm64", () => {
  const dir = join(ROOT, "examples/hello-yml");
  const r = pkgkit(["build", "--org", ORG, "--arches", "arm64", dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `[${ORG}/hello-yml] assembling build context with extra sources`);
  const context = (JSON.parse(pkgkit(["plan", "--json", "--force", "--org", ORG, "--arches", "arm64", dir]).stdout).steps as { kind: string; sources: unknown }[])[0]!;
  assert.is(context.kind, "context");
  assert.equal(context.sources, [{ src: dir, dst: "." }, { src: join(ROOT, "examples/hello"), dst: "hello" }]);
  const ref = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "--org", ORG, dir]).trim();
  assert.is(must(["docker", "run", "--rm", "--platform", "linux/arm64", `${ref}-arm64`]).trim(), "hello from a build.yml on aarch64");
});

test("the custom pipeline example (recipes) plans, builds and smoke-tests both arches", () => {
  const r = sh([join(ROOT, "node_modules/.bin/tsx"), join(ROOT, "examples/pipeline/pipeline.ts")], ROOT, { PKGKIT_ORG: `${ORG}-pipeline`, ALLOW_DIRTY: "1" });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, "plan: build (2 to build, 0 to skip)");
  assert.match(r.stdout, new RegExp(`smoke test ${ORG}-pipeline/hello:${tag}-arm64: hello from aarch64`));
  assert.match(r.stdout, new RegExp(`smoke test ${ORG}-pipeline/hello:${tag}-amd64: hello from x86_64`));
});

test("the bin builds the same under Deno (dax) and Bun (zx) as under Node", () => {
  for (const [name, argv] of [["deno", [join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--quiet"]], ["bun", [join(ROOT, "node_modules/.bin/bun")]]] as const) {
    const org = `${ORG}-${name}`;
    const r = sh([...argv, join(ROOT, "lib/bin.mjs"), "build", "--org", org, "--arches", "arm64", HELLO], ROOT);
    assert.is(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stderr, "1 built, 0 skipped, 0 failed");
    const ref = `${org}/hello:${tag}-arm64`;
    assert.is(inspect(ref).Architecture, "arm64", name);
    assert.is(must(["docker", "run", "--rm", "--platform", "linux/arm64", ref]).trim(), "hello from aarch64");
  }
});

test("recipes in-process: packagesFromDirs + buildPackages build what the plan says, and the result records it", async () => {
  const { packagesFromDirs, buildPackages } = await import("../../recipes/index.ts");
  const org = `${ORG}-sdk`;
  const packages = await packagesFromDirs([HELLO], { org, arches: ["arm64"] });
  const { plan, result } = await buildPackages(packages);
  assert.equal(plan.steps.map((s) => [s.kind, "ref" in s ? s.ref : ""]), [["build", `${org}/hello:${tag}-arm64`]]);
  assert.ok(result.ok);
  assert.is(result.steps[0]!.status, "done");
  assert.is(result.steps[0]!.image!.architecture, "arm64");
  assert.is(result.steps[0]!.image!.id, inspect(`${org}/hello:${tag}-arm64`).Id);
});

test.after(() => {
  const refs = must(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n").filter((r) => r.startsWith(ORG));
  if (refs.length) sh(["docker", "image", "rm", "-f", ...refs]);
});
test.run();
