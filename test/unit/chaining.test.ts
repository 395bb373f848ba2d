// Local chaining in plans: the plain org/image:<tag> in the engine of the build platform (a second
// --tag on the build, or a tag step for an image that exists), and copies from the local engine
// into an arch's engine of its own (a tag step with `from`) in place of a rebuild.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { makeDefinition } from "../../lib/define.ts";
import { resolveGraph, type Package } from "../../lib/package.ts";
import { plan, type PlanOptions } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import { planSchema, type BuildStep, type Step } from "../../lib/plan/schema.ts";
import { buildxBuilder, legacyBuilder, type LocalImage } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";

const shell = await defaultShell();
const dir = join(tmpdir(), "pkgkit-chaining-unit");
const local = buildxBuilder(shell);
const REMOTE = "ssh://arm-host";
const remote = buildxBuilder(shell, "docker", { host: REMOTE });
const base = makeDefinition({ image: "base", org: "acme" }, join(dir, "base/pkg.config.ts"));
const app = makeDefinition({ image: "app", org: "acme", buildArgs: { BASE: base } }, join(dir, "app/pkg.config.ts"));
const { packages } = await resolveGraph(shell, [app], { hash: "h1" });
const BASE = "acme/base:h1";
const APP = `acme/app:${packages[1]!.tag}`;
const image = (ref: string, id: string, architecture = "amd64"): [string, LocalImage] => [ref, { ref, id, os: "linux", architecture, labels: {} }];
const planOf = (pkgs: Package[], options: Partial<PlanOptions>) => plan(pkgs, { command: "build", builder: local, local: new Map(), ...options });
const step = (steps: Step[], id: string) => steps.find((s) => s.id === id);
/** The values of every `--tag` of a build step's command. */
const tagsOf = (s: Step | undefined) => {
  const argv = (s as BuildStep).command.argv;
  return argv.flatMap((a, i) => (argv[i - 1] === "--tag" ? [a] : []));
};

test("the native arch's build in the local engine is also tagged org/image:<tag>; the other arch is not; no native arch: no plain tag", () => {
  const steps = planOf([packages[0]!], { nativeArch: "amd64" }).steps;
  assert.equal(tagsOf(step(steps, `${BASE}/amd64`)), [`${BASE}-amd64`, BASE]);
  assert.equal(tagsOf(step(steps, `${BASE}/arm64`)), [`${BASE}-arm64`]);
  assert.equal(tagsOf(step(planOf([packages[0]!], {}).steps, `${BASE}/amd64`)), [`${BASE}-amd64`]);
  const legacy = plan([packages[0]!], { command: "build", builder: legacyBuilder(shell), local: new Map(), nativeArch: "arm64" }).steps;
  assert.equal(tagsOf(step(legacy, `${BASE}/arm64`)), [`${BASE}-arm64`, BASE], "the legacy builder too");
});

test("an image that exists: a tag step when the plain tag is missing or names another image, none when it names this one", () => {
  const have = image(`${BASE}-amd64`, "sha256:built");
  const missing = planOf([packages[0]!], { nativeArch: "amd64", local: new Map([have]) }).steps;
  assert.equal(missing.map((s) => [s.kind, s.id]), [["skip", `${BASE}/amd64`], ["tag", `${BASE}/amd64/tag`], ["build", `${BASE}/arm64`]]);
  const t = step(missing, `${BASE}/amd64/tag`)!;
  assert.equal(t.kind === "tag" && [t.ref, t.alias, t.builder, t.from, t.reason], [`${BASE}-amd64`, BASE, "buildx", undefined, `${BASE} is not in the local engine`]);
  const other = planOf([packages[0]!], { nativeArch: "amd64", local: new Map([have, image(BASE, "sha256:older")]) }).steps;
  assert.is(step(other, `${BASE}/amd64/tag`)?.reason, `${BASE} is another image in the local engine`);
  const same = planOf([packages[0]!], { nativeArch: "amd64", local: new Map([have, image(BASE, "sha256:built")]) }).steps;
  assert.equal(same.map((s) => s.kind), ["skip", "build"]);
});

test("an engine of its own for one arch is that arch's machine: its build is tagged plain there; the local engine's native arch is another", () => {
  const steps = planOf([packages[0]!], { nativeArch: "amd64", builders: { arm64: remote } }).steps;
  assert.equal(tagsOf(step(steps, `${BASE}/arm64`)), [`${BASE}-arm64`, BASE]);
  assert.equal(tagsOf(step(steps, `${BASE}/amd64`)), [`${BASE}-amd64`, BASE]);
  const shared = planOf([packages[0]!], { builders: { arm64: remote, amd64: buildxBuilder(shell, "docker", { host: REMOTE }) } }).steps;
  assert.equal([tagsOf(step(shared, `${BASE}/arm64`)), tagsOf(step(shared, `${BASE}/amd64`))], [[`${BASE}-arm64`], [`${BASE}-amd64`]], "an engine given for two arches: neither is its machine's");
});

test("a dependency only the local engine has reaches the arch's own engine: a copy step in place of its build, which the dependent's build needs", () => {
  const localEngine = new Map([image(`${BASE}-arm64`, "sha256:base-arm", "arm64")]);
  const p = planOf(packages, { nativeArch: "amd64", builders: { arm64: remote }, localEngine });
  const copy = step(p.steps, `${BASE}/arm64`)!;
  assert.equal(copy.kind === "tag" && [copy.ref, copy.from, copy.builder, copy.alias], [`${BASE}-arm64`, "buildx", `buildx@${REMOTE}`, BASE]);
  assert.match(copy.reason, `exists in the local engine, not in engine ${REMOTE}: copied there rather than rebuilt`);
  const dependent = step(p.steps, `${APP}/arm64`)!;
  assert.equal([dependent.kind, dependent.needs], ["build", [`${BASE}/arm64`]]);
  assert.ok((dependent as BuildStep).command.argv.includes(`BASE=${BASE}-arm64`));
  assert.equal(planSchema.parse(JSON.parse(JSON.stringify(p))), p);
  assert.match(formatPlan(p), `  copy   ${BASE}-arm64  [from buildx to buildx@${REMOTE}]  also as ${BASE}  exists in the local engine`);
  const pushed = plan(packages, { command: "push", builder: local, local: new Map(), builders: { arm64: remote }, localEngine });
  assert.equal(step(pushed.steps, `${BASE}/arm64/push`)?.needs, [`${BASE}/arm64`], "the push exports it from the engine it was copied to");
  const forced = planOf(packages, { builders: { arm64: remote }, localEngine, force: true });
  assert.is(step(forced.steps, `${BASE}/arm64`)?.kind, "build", "--force rebuilds instead");
  const noOwn = planOf(packages, { localEngine });
  assert.is(step(noOwn.steps, `${BASE}/arm64`)?.kind, "build", "without an engine of its own nothing is copied");
});

test.run();
