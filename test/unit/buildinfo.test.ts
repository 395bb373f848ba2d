// LinuxKit's build args about the build (PKG_HASH, PKG_IMAGE, SOURCE, REVISION, GOPKGVERSION) and
// its tool labels: computed from git as LinuxKit's pkglib does, and passed unless the package sets them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import type { BuildStep } from "../../lib/plan/schema.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { PKGKIT_VERSION } from "../../lib/version.ts";
import { matchPackages } from "../../lib/apply.ts";
import { must, ROOT, tmpRepo } from "../helpers.ts";

const shell = await defaultShell();
const resolveOne = async (dir: string, spec: Record<string, unknown> = {}) =>
  (await resolvePackages(shell, [makeDefinition({ image: "app", org: "acme", ...spec }, join(dir, "pkg.config.ts"))]))[0]!;
/** The --build-arg pairs of the first build step. */
const buildArgsOf = (p: Awaited<ReturnType<typeof resolveOne>>) => {
  const argv = (plan([p], { command: "build", builder: buildxBuilder(shell), local: new Map() }).steps[0] as BuildStep).command.argv;
  return Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === "--build-arg" ? [[a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]] : [])));
};

test("clean: PKG_HASH is the hash, PKG_IMAGE org/image, SOURCE the gitrepo field, REVISION HEAD, GOPKGVERSION v0.0.0-<local date>-<12 hex>", async () => {
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "app");
  const head = must(["git", "rev-parse", "HEAD"], repo.dir).trim();
  const date = must(["git", "show", "--quiet", "--date=format-local:%Y%m%d%H%M%S", "--format=%cd", "HEAD"], repo.dir).trim();
  const p = await resolveOne(dir, { gitrepo: "https://example.invalid/app" });
  assert.equal(p.buildInfo, { PKG_HASH: p.hash, PKG_IMAGE: "acme/app", SOURCE: "https://example.invalid/app", REVISION: head, GOPKGVERSION: `v0.0.0-${date}-${head.slice(0, 12)}` });
  assert.equal(Object.fromEntries(Object.entries(buildArgsOf(p)).filter(([k]) => k in p.buildInfo)), p.buildInfo);
  repo.rm();
});

test("SOURCE only from the gitrepo field, never from the remote; dirty: no REVISION, PKG_HASH with its -dirty- suffix", async () => {
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  must(["git", "remote", "add", "origin", "https://example.invalid/remote.git"], repo.dir);
  repo.write("app/new", "x\n");
  const p = await resolveOne(join(repo.dir, "app"));
  assert.ok(p.dirty);
  assert.equal(Object.keys(p.buildInfo).sort(), ["GOPKGVERSION", "PKG_HASH", "PKG_IMAGE"]);
  assert.match(p.buildInfo.PKG_HASH!, /-dirty-[0-9a-f]{7}$/);
  repo.rm();
});

test("a package's own build arg of the same name wins over LinuxKit's", async () => {
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  const p = await resolveOne(join(repo.dir, "app"), { buildArgs: { PKG_IMAGE: "mine", REVISION: "r1" } });
  const args = buildArgsOf(p);
  assert.equal([args.PKG_IMAGE, args.REVISION, args.PKG_HASH], ["mine", "r1", p.hash]);
  repo.rm();
});

test("SOURCE_DATE_EPOCH: 0 by default, else the package's sourceDateEpoch, the run's over it; a build arg, and the epoch the push step normalises for", async () => {
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "app");
  const epochs = async (spec: Record<string, unknown>, run?: number) => {
    const p = (await resolvePackages(shell, [makeDefinition({ image: "app", org: "acme", ...spec }, join(dir, "pkg.config.ts"))], run === undefined ? {} : { sourceDateEpoch: run }))[0]!;
    const push = plan([p], { command: "push", builder: buildxBuilder(shell), local: new Map(), remote: new Map() }).steps.find((s) => s.kind === "push");
    return [buildArgsOf(p).SOURCE_DATE_EPOCH, push?.kind === "push" ? push.sourceDateEpoch : undefined];
  };
  assert.equal(await epochs({}), ["0", 0]);
  assert.equal(await epochs({ sourceDateEpoch: 1700000000 }), ["1700000000", 1700000000]);
  assert.equal(await epochs({ sourceDateEpoch: 1700000000 }, 5), ["5", 5]);
  repo.rm();
});

test("the tool labels name pkgkit's version, which is package.json's", async () => {
  assert.is(PKGKIT_VERSION, (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version);
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  const p = await resolveOne(join(repo.dir, "app"), { labels: { "org.mobyproject.linuxkit.revision": "mine" } });
  assert.equal([p.labels["org.mobyproject.linuxkit.version"], p.labels["org.mobyproject.linuxkit.revision"]], [`pkgkit v${PKGKIT_VERSION}`, "mine"]);
  repo.rm();
});

test("a plan applied after a commit elsewhere keeps its REVISION and GOPKGVERSION, as it keeps its revision label", async () => {
  const repo = tmpRepo({ "app/Dockerfile": "FROM scratch\n" });
  const dir = join(repo.dir, "app");
  const before = await resolveOne(dir);
  const planned = plan([before], { command: "build", builder: buildxBuilder(shell), local: new Map() });
  assert.is(planned.packages[0]!.goPkgVersion, before.buildInfo.GOPKGVERSION);
  repo.write("elsewhere.txt", "x\n");
  repo.commit();
  const after = await resolveOne(dir);
  assert.is.not(after.buildInfo.REVISION, before.buildInfo.REVISION);
  const { packages } = matchPackages(planned, [after]);
  assert.equal(packages[0]!.buildInfo, before.buildInfo);
  repo.rm();
});

test.run();
