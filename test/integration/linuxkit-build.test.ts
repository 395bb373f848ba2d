// LinuxKit's build behaviour on the real engine and registry: the build args and labels LinuxKit
// passes (compared with the real linuxkit binary's `pkg build --dry-run` where it is present),
// read back from the built image and from the registry after a push.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const RUN = `${process.pid}${Date.now().toString(36)}`;
const ORG = `pkgkit-test-lkbuild-${RUN}`;
const INFO_ARGS = ["PKG_HASH", "PKG_IMAGE", "SOURCE", "REVISION", "GOPKGVERSION"];
// ../shared next to the repository's main checkout (a git worktree's own root is elsewhere).
const ORACLE_XZ = join(dirname(resolve(ROOT, must(["git", "rev-parse", "--git-common-dir"], ROOT).trim())), "../shared/reference/linuxkit/linuxkit-3bf33c3a1.xz");

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

let oracle: string | undefined;
function linuxkit(): string | undefined {
  if (oracle !== undefined || !existsSync(ORACLE_XZ)) return oracle;
  const bin = join(mkdtempSync(join(tmpdir(), "pkgkit-lk-")), "linuxkit");
  must(["sh", "-c", 'xz -dc "$1" > "$2" && chmod +x "$2"', "sh", ORACLE_XZ, bin]);
  return (oracle = bin);
}

test("build args and labels as the real linuxkit's `pkg build --dry-run` passes them (clean; dirty: no REVISION)", () => {
  const lk = linuxkit();
  if (!lk) return console.log(`  skipped: ${ORACLE_XZ} is absent (the real linuxkit binary; see ../shared/reference/linuxkit/README.md)`);
  const { repo, dir } = infoPackage();
  const cache = mkdtempSync(join(tmpdir(), "pkgkit-lk-cache-"));
  const compare = (state: string) => {
    const out = must([lk, "pkg", "build", "--dry-run", "--force", "--cache", cache, "--platforms", "linux/amd64", dir]);
    const line = out.split("\n").find((l) => l.startsWith("docker buildx build "))!;
    const theirs = (prefix: string) => Object.fromEntries([...line.matchAll(new RegExp(`${prefix}=(\\S+?)=(\\S*)`, "g"))].map((m) => [m[1]!, m[2]!]));
    const argv = planOf(["--force", dir]).steps.find((s) => s.kind === "build")!.command!.argv;
    const ours = pairs(argv, "--build-arg");
    // PKG_HASH is the dirty hash, which the tag work on issue 12 aligns with LinuxKit; compared when clean.
    const keys = state === "clean" ? INFO_ARGS : INFO_ARGS.filter((k) => k !== "PKG_HASH");
    assert.equal(pick(ours, keys), pick(theirs("--build-arg"), keys), `${state}: build args`);
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

test.after(() => {
  for (const ref of must(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n").filter((l) => l.includes(RUN)))
    sh(["docker", "image", "rm", "-f", ref]);
});

test.run();
