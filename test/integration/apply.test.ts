// `pkgkit plan --json` → `pkgkit apply`: against the plain test registry and the real engine.
// What apply pushes is read back with pkgkit's registry client; refusals must leave the registry
// as it was. Unsigned (--disable-content-trust): plans with sign steps are applied in sign-apply.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Manifest } from "../../lib/registry/types.ts";
import type { Plan } from "../../lib/plan/schema.ts";
import type { PlanMatrix } from "../../lib/apply.ts";
import type { Result } from "../../lib/run.ts";

const svc = services();
const RUN = `a${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const client = createRegistry({});
const work = mkdtempSync(join(tmpdir(), "pkgkit-apply-"));

/** `pkgkit plan <args> --json`, written to a file as a CI job would. */
function planFile(name: string, args: string[], cwd?: string): { file: string; plan: Plan } {
  const r = pkgkit(["plan", "--json", ...args], { cwd });
  assert.is(r.code, 0, r.stderr);
  const file = join(work, name);
  writeFileSync(file, r.stdout);
  return { file, plan: JSON.parse(r.stdout) as Plan };
}
const apply = (args: string[], cwd = tmpdir()) => pkgkit(["apply", ...args], { cwd });
const platforms = (m: Manifest | undefined) => (m?.json.manifests ?? []).map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort();
const tags = (repository: string) => client.listTags(repository).then((t) => t.sort(), () => [] as string[]);

test("plan → apply pushes exactly what the plan said, from another directory", async () => {
  const org = `${svc.registries.plain}/${RUN}-exact`;
  const { file, plan } = planFile("exact.json", ["--push", "--disable-content-trust", "--org", org, HELLO]);
  assert.equal(plan.steps.map((s) => s.kind), ["build", "push", "build", "push", "index"]);
  assert.equal(plan.observed!.registry, { [`${org}/hello:${TAG}-amd64`]: null, [`${org}/hello:${TAG}-arm64`]: null, [`${org}/hello:${TAG}`]: null });
  assert.equal(await tags(`${org}/hello`), [], "planning pushes nothing");
  const r = apply(["--json", file]);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; packages: { index: { digest: string }; arches: Record<string, { digest: string; action: string }> }[]; plan: Plan; result: Result };
  assert.equal(out.plan, plan, "the plan run is the file's");
  assert.equal(out.result.steps.map((s) => [s.id, s.status]), plan.steps.map((s) => [s.id, "done"]));
  const index = await client.getManifest(`${org}/hello`, TAG);
  assert.equal(platforms(index), ["linux/amd64", "linux/arm64"]);
  assert.is(index!.digest, out.packages[0]!.index.digest);
  for (const arch of ["amd64", "arm64"]) {
    assert.is(out.packages[0]!.arches[arch]!.action, "built, pushed");
    assert.is((await client.headManifest(`${org}/hello`, `${TAG}-${arch}`))?.digest, out.packages[0]!.arches[arch]!.digest);
  }
  assert.equal(await tags(`${org}/hello`), [TAG, `${TAG}-amd64`, `${TAG}-arm64`].sort(), "nothing else");
});

test("plan → someone else pushes an arch → apply refuses (exit 3), naming the ref; apply pushes nothing", async () => {
  const org = `${svc.registries.plain}/${RUN}-raced`;
  const { file } = planFile("raced.json", ["--push", "--disable-content-trust", "--org", org, HELLO]);
  const other = pkgkit(["push", "--disable-content-trust", "--org", org, "--arches", "amd64", HELLO]);
  assert.is(other.code, 0, other.stderr);
  const before = { tags: await tags(`${org}/hello`), index: (await client.getManifest(`${org}/hello`, TAG))!.digest };
  const amd64 = (await client.headManifest(`${org}/hello`, `${TAG}-amd64`))!.digest;
  const r = apply([file]);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, `${file}: the registry or an engine changed since this plan was made; nothing was done.`);
  assert.match(r.stderr, `  ${org}/hello:${TAG}-amd64 (registry): planned not there, now ${amd64}\n`);
  assert.match(r.stderr, "Make a new plan and apply that.");
  assert.not.match(r.stderr, "building");
  assert.equal(await tags(`${org}/hello`), before.tags, "no arm64 tag: nothing pushed");
  assert.is((await client.getManifest(`${org}/hello`, TAG))!.digest, before.index, "the index is as the other push left it");
});

test("--by arch: each group applied on its own (one after the other) gives an index with both arches", async () => {
  const org = `${svc.registries.plain}/${RUN}-matrix`;
  const r = pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--by", "arch", "--org", org, HELLO]);
  assert.is(r.code, 0, r.stderr);
  const matrix = JSON.parse(r.stdout) as PlanMatrix;
  assert.equal([matrix.kind, matrix.by, matrix.groups.map((g) => g.arch)], ["matrix", "arch", ["amd64", "arm64"]]);
  for (const g of matrix.groups) assert.equal(g.plan.steps.map((s) => `${s.kind}${"arch" in s && s.arch ? ` ${s.arch}` : ""}`), [`build ${g.arch}`, `push ${g.arch}`, "index"]);
  const matrixFile = join(work, "matrix.json");
  writeFileSync(matrixFile, r.stdout);
  // One group by --arch from the matrix, the other as a CI job gets it: extracted, on stdin.
  const first = apply(["--arch", "amd64", matrixFile]);
  assert.is(first.code, 0, first.stderr);
  assert.equal(platforms(await client.getManifest(`${org}/hello`, TAG)), ["linux/amd64"]);
  const second = sh(["sh", "-c", `jq '.groups[] | select(.arch == "arm64") | .plan' "$0" | "$1" "$2" apply -`, matrixFile, process.execPath, join(ROOT, "lib/bin.mjs")]);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stderr, `note: ${org}/hello:${TAG} changed since the plan (not there → sha256:`, "the index the other group wrote does not stop this one");
  const index = await client.getManifest(`${org}/hello`, TAG);
  assert.equal(platforms(index), ["linux/amd64", "linux/arm64"]);
  for (const d of index!.json.manifests!) assert.is((await client.headManifest(`${org}/hello`, `${TAG}-${d.platform!.architecture}`))?.digest, d.digest);
});

test("a plan made with --builders arm64=<engine>: apply builds arm64 in that engine, as planned", async () => {
  const remote = svc.remoteEngine;
  const org = `${svc.registries.plain}/${RUN}-builders`;
  const { file, plan } = planFile("builders.json", ["--push", "--disable-content-trust", "--org", org, "--builders", `arm64=${remote}`, HELLO]);
  assert.equal(plan.inputs!.builders, { arm64: `buildx@${remote}` });
  const r = apply([file]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `building ${org}/hello:${TAG}-arm64 (linux/arm64, buildx@${remote})`);
  assert.is(sh(["docker", "--host", remote, "image", "inspect", `${org}/hello:${TAG}-arm64`]).code, 0, "arm64 is in the remote engine");
  assert.is(sh(["docker", "image", "inspect", `${org}/hello:${TAG}-arm64`]).code, 1, "and not in the local one");
  assert.equal(platforms(await client.getManifest(`${org}/hello`, TAG)), ["linux/amd64", "linux/arm64"]);
  sh(["docker", "--host", remote, "rmi", "-f", `${org}/hello:${TAG}-arm64`]);
});

test("build plans: sources changed since the plan → refused (exit 3); a commit elsewhere is not a change; a built image is", () => {
  const repo = tmpRepo({ "p/Dockerfile": "FROM scratch\nCOPY a /\n", "p/a": "1\n", "p/build.yml": "image: src\narches: [amd64]\n", "README": "x\n" });
  const org = `${RUN}-src`;
  const stale = planFile("src-stale.json", ["--org", org, "p"], repo.dir);
  const fresh = planFile("src-fresh.json", ["--org", org, "p"], repo.dir);
  assert.equal(fresh.plan.inputs!.resolved, { from: repo.dir, org });
  // A commit that changes the package: its tag changes.
  repo.write("p/a", "2\n");
  repo.commit();
  const r = apply([stale.file]);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, `${stale.file}: the sources changed since this plan was made; nothing was done.\n  ${join(repo.dir, "p")}: planned ${org}/src:${stale.plan.packages[0]!.tag}, now ${org}/src:`);
  assert.is(sh(["docker", "image", "inspect", `${org}/src:${stale.plan.packages[0]!.tag}-amd64`]).code, 1, "nothing built");
  // Back to the planned content, plus a commit elsewhere: same tag, HEAD moved. The plan still holds,
  // and the image records the plan's commit (whose tree for the package is the same).
  repo.write("p/a", "1\n");
  repo.write("README", "y\n");
  repo.commit();
  const ok = apply([fresh.file]);
  assert.is(ok.code, 0, ok.stderr);
  const ref = `${org}/src:${fresh.plan.packages[0]!.tag}-amd64`;
  const labels = JSON.parse(must(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref])) as Record<string, string>;
  assert.is(labels["org.opencontainers.image.revision"], fresh.plan.packages[0]!.commit);
  // The local engine has the image now: the same plan no longer holds.
  const again = apply([fresh.file]);
  assert.is(again.code, 3, again.stderr);
  assert.match(again.stderr, `  ${ref} (engine): planned not there, now sha256:`);
  sh(["docker", "rmi", "-f", ref]);
  repo.rm();
});

test("a plan file that is not a usable plan: clear errors naming the file and the field (exit 2); an edited step: exit 3", () => {
  const org = `${svc.registries.plain}/${RUN}-bad`;
  const { plan } = planFile("good.json", ["--push", "--disable-content-trust", "--org", org, "--arches", "amd64", HELLO]);
  const write = (name: string, text: string) => {
    const f = join(work, name);
    writeFileSync(f, text);
    return f;
  };
  const cases: [string, string, string][] = [
    ["garbage.json", "{ not json", ": not a pkgkit plan: not JSON ("],
    ["other.json", JSON.stringify({ name: "x", steps: 3 }), ': not a pkgkit plan: expected the JSON object `pkgkit plan --json` prints, with "version", "command", "packages" and "steps"'],
    ["v2.json", JSON.stringify({ ...plan, version: 2 }), ': field "version": 2: this pkgkit reads plan version 1; make the plan again with this version of pkgkit'],
    ["nodir.json", JSON.stringify({ ...plan, packages: [{ ...plan.packages[0]!, dir: "/nonexistent/hello" }] }), ': field "packages[0].dir": /nonexistent/hello is not a directory here; apply a plan in the checkout it was made in, at the same path'],
    ["nocommand.json", JSON.stringify({ ...plan, command: undefined }), ': field "command": '],
  ];
  for (const [name, text, message] of cases) {
    const f = write(name, text);
    const r = apply([f]);
    assert.is(r.code, 2, `${name}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`pkgkit: ${f}${message}`), `${name}: ${r.stderr}`);
  }
  // A build step whose command was edited: not what pkgkit plans, so it does not run.
  const edited = structuredClone(plan);
  const build = edited.steps.find((s) => s.kind === "build")!;
  if (build.kind === "build") build.command.argv.splice(3, 0, "--build-arg", "EVIL=1");
  const f = write("edited.json", JSON.stringify(edited));
  const r = apply([f]);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, `${f}: its steps are not what pkgkit plans now, although the registry and the engines are as the plan saw them`);
  assert.match(r.stderr, `  ${build.id}: build step differs in command\n`);
  assert.not.match(r.stderr, "building");
  // A matrix needs --arch.
  const m = pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--by", "arch", "--org", org, HELLO]);
  const mf = write("m.json", m.stdout);
  const r2 = apply([mf]);
  assert.is(r2.code, 2);
  assert.match(r2.stderr, `${mf} is a plan matrix, one plan per arch (amd64, arm64); apply one group: \`pkgkit apply --arch amd64 ${mf}\``);
  assert.is(JSON.parse(readFileSync(join(work, "good.json"), "utf8")).version, 1);
});

test.run();
