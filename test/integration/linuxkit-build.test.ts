// LinuxKit's build behaviour on the real engine and registry: the build args and labels LinuxKit
// passes (compared with the real linuxkit binary's `pkg build --dry-run` where it is present),
// read back from the built image and from the registry after a push.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services, startRegistry } from "../services.ts";
import { linuxkitOracle } from "../linuxkit.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const RUN = `${process.pid}${Date.now().toString(36)}`;
const ORG = `pkgkit-test-lkbuild-${RUN}`;
const INFO_ARGS = ["PKG_HASH", "PKG_IMAGE", "SOURCE", "REVISION", "GOPKGVERSION"];

interface PlanStep { kind: string; arch?: string; ref: string; command?: { argv: string[] } }
const planOf = (args: string[]) => {
  const r = pkgkit(["plan", "--json", ...args]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { steps: PlanStep[] };
};
/** `--<flag> K=V` pairs of an argv, as an object. */
const pairs = (argv: string[], flag: string) =>
  Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === flag ? [[a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]] : [])));
const pick = (o: Record<string, string>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]!]));

/** A committed package that records its build args in labels (no RUN: nothing to execute). */
function infoPackage(extra = "") {
  const repo = tmpRepo({
    "info/build.yml": `image: info\norg: ${ORG}\narches: [amd64]\ngitrepo: https://example.com/info.git\n${extra}`,
    "info/Dockerfile": `FROM scratch\nCOPY build.yml /\n${INFO_ARGS.map((a) => `ARG ${a}\nLABEL test.${a.toLowerCase()}=$${a}\n`).join("")}`,
  });
  return { repo, dir: join(repo.dir, "info") };
}

const oracle = linuxkitOracle();

test("build args and labels as the real linuxkit's `pkg build --dry-run` passes them (clean; dirty: no REVISION)", () => {
  if (!("bin" in oracle)) return console.log(`  skipped: ${oracle.missing}`);
  const lk = oracle.bin;
  const { repo, dir } = infoPackage();
  const cache = mkdtempSync(join(tmpdir(), "pkgkit-lk-cache-"));
  const compare = (state: string) => {
    const out = must([lk, "pkg", "build", "--dry-run", "--force", "--cache", cache, "--platforms", "linux/amd64", dir]);
    const line = out.split("\n").find((l) => l.startsWith("docker buildx build "))!;
    const theirs = (prefix: string) => Object.fromEntries([...line.matchAll(new RegExp(`${prefix}=(\\S+?)=(\\S*)`, "g"))].map((m) => [m[1]!, m[2]!]));
    const argv = planOf(["--force", dir]).steps.find((s) => s.kind === "build")!.command!.argv;
    const ours = pairs(argv, "--build-arg");
    assert.equal(pick(ours, INFO_ARGS), pick(theirs("--build-arg"), INFO_ARGS), `${state}: build args`);
    const labels = ["org.opencontainers.image.source", ...(state === "clean" ? ["org.opencontainers.image.revision"] : [])];
    assert.equal(pick(pairs(argv, "--label"), labels), pick(theirs("--label"), labels), `${state}: labels`);
    assert.equal(Object.keys(pick(pairs(argv, "--label"), ["org.mobyproject.linuxkit.version", "org.mobyproject.linuxkit.revision"])).length, 2);
    return ours;
  };
  const clean = compare("clean");
  assert.ok(clean.REVISION && clean.GOPKGVERSION && clean.SOURCE, "clean: every arg is there");
  repo.write("info/new-file", "x\n");
  assert.is(compare("dirty").REVISION, undefined);
  rmSync(cache, { recursive: true, force: true });
  repo.rm();
});

test("build args: a package's own value wins over LinuxKit's; the image records them (docker image inspect) and so does the pushed config", async () => {
  const { repo, dir } = infoPackage("buildArgs:\n  - PKG_IMAGE=mine\n");
  const registry = services().registries.plain;
  const org = `${registry}/${ORG}`;
  const r = pkgkit(["push", "--disable-content-trust", "--org", org, dir]);
  assert.is(r.code, 0, r.stderr);
  const ref = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "--org", org, dir]).trim();
  const tag = ref.split(":").pop()!;
  const head = must(["git", "rev-parse", "HEAD"], repo.dir).trim();
  const date = must(["git", "show", "--quiet", "--date=format-local:%Y%m%d%H%M%S", "--format=%cd", "HEAD"], repo.dir).trim();
  const expected = {
    "test.pkg_hash": tag,
    "test.pkg_image": "mine",
    "test.source": "https://example.com/info.git",
    "test.revision": head,
    "test.gopkgversion": `v0.0.0-${date}-${head.slice(0, 12)}`,
    "org.mobyproject.linuxkit.version": "pkgkit v0.1.0",
    "org.mobyproject.linuxkit.revision": "unknown",
  };
  const local = JSON.parse(must(["docker", "image", "inspect", `${ref}-amd64`]))[0] as { Config: { Labels: Record<string, string> } };
  assert.equal(pick(local.Config.Labels, Object.keys(expected)), expected);
  const client = createRegistry();
  const manifest = (await client.getManifest(`${org}/info`, `${tag}-amd64`))!;
  const config = JSON.parse(new TextDecoder().decode(await client.getBlob(`${org}/info`, manifest.json.config!.digest))) as { config: { Labels: Record<string, string> } };
  assert.equal(pick(config.config.Labels, Object.keys(expected)), expected);
  repo.rm();
});

const REMOTE = services().remoteEngine;
const HELLO = join(ROOT, "examples/hello");
type Engine = "local" | "remote";
const docker = (engine: Engine, args: string[]) => (engine === "remote" ? ["docker", "--host", REMOTE, ...args] : ["docker", ...args]);
const idIn = (engine: Engine, ref: string) => {
  const r = sh(docker(engine, ["image", "inspect", "--format", "{{.Id}}", ref]));
  return r.code === 0 ? r.stdout.trim() : undefined;
};
const showTag = (org: string, dir: string) => must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "--org", org, dir]).trim();

/** build1: busybox of each arch and a file naming the arch it was built for (no RUN: nothing under qemu); committed. */
function build1Repo(arches: string[]) {
  const repo = tmpRepo({
    "build1/build.yml": `image: build1\narches: [${arches.join(", ")}]\n`,
    "build1/Dockerfile": "ARG TARGETARCH\n" + ["amd64", "arm64"].map((a) => `FROM scratch AS base-${a}\nCOPY busybox-${a} /bin/busybox\nCOPY ${a}.txt /build1.txt\n`).join("") + "FROM base-${TARGETARCH}\n",
    "build1/amd64.txt": "build1 for amd64\n",
    "build1/arm64.txt": "build1 for arm64\n",
  });
  for (const a of ["amd64", "arm64"]) copyFileSync(join(HELLO, `busybox-${a}`), join(repo.dir, "build1", `busybox-${a}`));
  repo.commit();
  return repo;
}
/** build2, `FROM` build1's tag as LinuxKit's Dockerfiles name their bases: it reads build1's file. */
function addBuild2(repo: ReturnType<typeof tmpRepo>, from: string, arches: string[]) {
  repo.write("build2/build.yml", `image: build2\narches: [${arches.join(", ")}]\n`);
  repo.write("build2/Dockerfile", `FROM ${from}\nRUN ["/bin/busybox", "sh", "-c", "cat /build1.txt > /build2.txt"]\nCMD ["/bin/busybox", "cat", "/build2.txt"]\n`);
  repo.commit();
}

test("chained builds, no registry: after build1, org/build1:<tag> is its amd64 image in the local engine, and build2 FROM it builds and reads build1's file", () => {
  const org = `${ORG}-chain`;
  const repo = build1Repo(["amd64"]);
  const b1 = showTag(org, join(repo.dir, "build1"));
  const r1 = pkgkit(["build", "--org", org, join(repo.dir, "build1")]);
  assert.is(r1.code, 0, r1.stderr);
  assert.ok(idIn("local", b1), `${b1} is in the local engine`);
  assert.is(idIn("local", b1), idIn("local", `${b1}-amd64`), "the plain tag names the amd64 image");
  addBuild2(repo, b1, ["amd64"]);
  const r2 = pkgkit(["build", "--org", org, join(repo.dir, "build2")]);
  assert.is(r2.code, 0, r2.stderr);
  assert.is(must(["docker", "run", "--rm", "--network", "none", `${showTag(org, join(repo.dir, "build2"))}-amd64`]).trim(), "build1 for amd64");
  // Tagged again when it is missing: the plan says so, and a build puts it back without rebuilding.
  must(["docker", "image", "rm", b1]);
  const again = pkgkit(["build", "--org", org, join(repo.dir, "build1")]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, "0 built, 1 skipped, 0 failed");
  assert.is(idIn("local", b1), idIn("local", `${b1}-amd64`));
  repo.rm();
});

test("chained builds with --builders arm64=<engine>: build1's plain tag in each engine names that engine's arch; build2 FROM it builds in both", () => {
  const org = `${ORG}-chain2`;
  const repo = build1Repo(["amd64", "arm64"]);
  const b1 = showTag(org, join(repo.dir, "build1"));
  const builders = ["--builders", `arm64=${REMOTE}`];
  const r1 = pkgkit(["build", "--org", org, ...builders, join(repo.dir, "build1")]);
  assert.is(r1.code, 0, r1.stderr);
  assert.is(idIn("local", b1), idIn("local", `${b1}-amd64`));
  assert.is(idIn("remote", b1), idIn("remote", `${b1}-arm64`));
  addBuild2(repo, b1, ["amd64", "arm64"]);
  const r2 = pkgkit(["build", "--org", org, ...builders, join(repo.dir, "build2")]);
  assert.is(r2.code, 0, r2.stderr);
  const b2 = showTag(org, join(repo.dir, "build2"));
  assert.is(must(docker("local", ["run", "--rm", "--network", "none", `${b2}-amd64`])).trim(), "build1 for amd64");
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", `${b2}-arm64`])).trim(), "build1 for arm64");
  repo.rm();
});

test("--builders: a dependency only the local engine has is copied to the arch's engine (docker save | docker load, a plan step), not rebuilt", () => {
  const org = `${ORG}-copy`;
  const repo = build1Repo(["arm64"]);
  const r1 = pkgkit(["build", "--org", org, join(repo.dir, "build1")]);
  assert.is(r1.code, 0, r1.stderr);
  const b1 = showTag(org, join(repo.dir, "build1"));
  const builtId = idIn("local", `${b1}-arm64`)!;
  assert.is(idIn("remote", `${b1}-arm64`), undefined);
  repo.write("app/build.yml", "image: app\narches: [arm64]\nbuildArgs:\n  - BASE=@lkt:pkg:../build1\n");
  repo.write("app/Dockerfile", 'ARG BASE\nFROM ${BASE}\nRUN ["/bin/busybox", "sh", "-c", "cat /build1.txt > /app.txt"]\nCMD ["/bin/busybox", "cat", "/app.txt"]\n');
  repo.commit();
  const r = pkgkit(["build", "--json", "--org", org, "--builders", `arm64=${REMOTE}`, join(repo.dir, "app")]);
  assert.is(r.code, 0, r.stderr);
  const steps = (JSON.parse(r.stdout) as { plan: { steps: (PlanStep & { id: string; from?: string; builder?: string; needs: string[]; reason: string })[] } }).plan.steps;
  assert.equal(steps.map((s) => [s.kind, s.id]), [["tag", `${b1}/arm64`], ["build", `${org}/app:${showTag(org, join(repo.dir, "app")).split(":").pop()}/arm64`]]);
  assert.equal([steps[0]!.from, steps[0]!.builder, steps[1]!.needs], ["buildx", `buildx@${REMOTE}`, [`${b1}/arm64`]]);
  assert.is(idIn("remote", `${b1}-arm64`), builtId, "the same image, copied");
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", `${showTag(org, join(repo.dir, "app"))}-arm64`])).trim(), "build1 for arm64");
  repo.rm();
});

test("depends.dockerImages with a real image: taken from the local engine (its registry stopped), else pulled; saved in the built image, never in the package directory", async () => {
  // The image, pinned by digest: pushed to a registry of the test's own, which gives it its digest.
  const reg = await startRegistry();
  const src = mkdtempSync(join(tmpdir(), "pkgkit-depends-src-"));
  writeFileSync(join(src, "marker"), `marker ${RUN}\n`);
  writeFileSync(join(src, "Dockerfile"), "FROM scratch\nCOPY marker /marker\n");
  const tagged = `${reg.address}/src/marker:${RUN}`;
  must(["docker", "build", "--quiet", "--tag", tagged, src]);
  must(["docker", "push", "--quiet", tagged]);
  const pinned = must(["docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tagged]).trim();
  const sourceId = idIn("local", tagged)!;
  await reg.stop();

  const org = `${ORG}-depends`;
  const repo = tmpRepo({
    "dep/build.yml": `image: dep\narches: [amd64]\ndepends:\n  docker-images:\n    target-dir: images\n    list:\n      - ${pinned}\n`,
    "dep/Dockerfile": "FROM scratch\nCOPY images/ /images/\nCOPY build.yml /\n",
  });
  const pkgDir = join(repo.dir, "dep");
  const archive = `images/marker@${pinned.slice(pinned.indexOf("@") + 1)}.tar`;
  /** The archive's manifest.json as the built image holds it. */
  const savedManifest = () => {
    const ref = `${showTag(org, pkgDir)}-amd64`;
    const box = must(["docker", "create", ref, "/none"]).trim();
    try {
      const files = must(["sh", "-c", 'docker export "$1" | tar -t', "sh", box]).split("\n");
      assert.ok(files.includes(archive), `${archive} in the image: ${files.join(" ")}`);
      return JSON.parse(must(["sh", "-c", 'docker export "$1" | tar -xO "$2" | tar -xO manifest.json', "sh", box, archive])) as { Config: string }[];
    } finally {
      must(["docker", "rm", box]);
    }
  };
  const r = pkgkit(["build", "--json", "--org", org, pkgDir]);
  assert.is(r.code, 0, r.stderr);
  const context = (JSON.parse(r.stdout) as { plan: { steps: { kind: string; images?: unknown }[] } }).plan.steps[0]!;
  assert.equal(context, { ...context, kind: "context", images: { emptyDir: "images", archives: [{ dst: archive, refs: [pinned] }] } });
  assert.equal(savedManifest().map((m) => `sha256:${m.Config.replace(/\.json$/, "").replace(/^blobs\/sha256\//, "")}`), [sourceId], "the archive holds the local image");
  assert.equal(must(["git", "status", "--porcelain", "--ignored"], repo.dir), "", "nothing written into the package directory");

  // Not in the local engine any more: pulled from the registry (running again).
  must(["docker", "image", "rm", "--force", sourceId]);
  assert.is(idIn("local", pinned), undefined);
  await reg.restart();
  const again = pkgkit(["build", "--force", "-v", "--org", org, pkgDir]);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, `${pinned}: pulled into the local engine`);
  assert.is(idIn("local", pinned), sourceId);
  assert.equal(savedManifest().length, 1);
  await reg.stop();
  sh(["docker", "image", "rm", pinned]);
  rmSync(src, { recursive: true, force: true });
  repo.rm();
});

test.after(() => {
  for (const engine of ["local", "remote"] as const)
    for (const ref of must(docker(engine, ["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])).split("\n").filter((l) => l.includes(RUN)))
      sh(docker(engine, ["image", "rm", "-f", ref]));
});

test.run();
