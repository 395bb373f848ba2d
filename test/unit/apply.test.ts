// Plans as files: the matrix split, reading a plan file back, and how apply compares a plan with
// what is there now. All pure: packages resolved with --hash, look-ups given as maps.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolveGraph, type Package } from "../../lib/package.ts";
import { plan, type PlanOptions } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import type { Plan, Step } from "../../lib/plan/schema.ts";
import { buildxBuilder, type LocalImage } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";
import { formatSignersChanged, formatStale, matchPackages, observedChanges, parsePlanFile, planByArch, selectPlan, signerChanges, stepDifferences, type PlanMatrix } from "../../lib/apply.ts";
import { MediaTypes, type Descriptor } from "../../lib/registry/types.ts";

const shell = await defaultShell();
const builder = buildxBuilder(shell);
const dir = join(tmpdir(), "pkgkit-apply-unit");
const def = (name: string, spec: Record<string, unknown>) => makeDefinition({ image: name, org: "127.0.0.1:5000/t", ...spec }, join(dir, name, "pkg.config.ts"));
const base = def("base", { extraSources: ["../common:/common"] });
const app = def("app", { buildArgs: { BASE: base } });
const solo = def("solo", { arches: ["amd64"] });
const { packages } = await resolveGraph(shell, [app, solo], { hash: "h1" });
const ref = (image: string, suffix = "") => `127.0.0.1:5000/t/${image}:h1${suffix}`;
const desc = (n: number, architecture: string): Descriptor => ({ mediaType: MediaTypes.dockerManifest, digest: `sha256:${String(n).repeat(64)}`, size: n, platform: { os: "linux", architecture } });

/** A push plan as recipes/push.ts makes it, with its look-ups recorded. */
function pushPlan(pkgs: Package[], remote: [string, Descriptor][] = []): Plan {
  const refs = pkgs.flatMap((p) => p.arches.map((a) => `${p.repository}:${p.tag}-${a}`));
  const remoteMap = new Map(remote);
  const options: PlanOptions = {
    command: "push", builder, local: new Map<string, LocalImage>(), remote: remoteMap, indexes: new Map(),
    observed: {
      registry: Object.fromEntries([...refs, ...pkgs.map((p) => `${p.repository}:${p.tag}`)].map((r) => [r, remoteMap.get(r)?.digest ?? null])),
      local: Object.fromEntries(refs.filter((r) => !remoteMap.has(r)).map((r) => [r, null])),
    },
    resolved: { from: dir, hash: "h1" },
  };
  return plan(pkgs, options);
}

test("--by arch: one group per arch, each with only that arch's steps and an index step merging only it", async () => {
  const full = pushPlan(packages);
  const matrix = await planByArch(packages, async (pkgs) => pushPlan(pkgs));
  assert.equal(matrix.groups.map((g) => g.arch), ["amd64", "arm64"]);
  const amd64 = matrix.groups[0]!.plan;
  const arm64 = matrix.groups[1]!.plan;
  assert.equal(arm64.packages.map((p) => p.name), [ref("base"), ref("app")], "solo builds only amd64: not in the arm64 group");
  assert.ok(arm64.packages.every((p) => p.arches.join() === "arm64"));
  for (const g of matrix.groups) {
    const ids = new Set(g.plan.steps.map((s) => s.id));
    for (const s of g.plan.steps) {
      if ("arch" in s && s.arch) assert.is(s.arch, g.arch, s.id);
      if (s.kind === "index") assert.equal(s.arches.map((a) => a.arch), [g.arch], s.id);
      for (const n of s.needs) assert.ok(ids.has(n), `${s.id} needs ${n}, which is in the group`);
    }
  }
  // The dependent's build waits for its dependency's build of the same arch, and uses it.
  const appBuild = arm64.steps.find((s) => s.kind === "build" && s.ref === ref("app", "-arm64"))!;
  assert.equal(appBuild.needs, [`${ref("base")}/arm64`]);
  assert.ok(appBuild.kind === "build" && appBuild.command.argv.includes(`BASE=${ref("base")}-arm64`));
  // Builds, pushes and per-arch skips are the full plan's; plans name no scratch path (run() makes its own).
  const perArch = (p: Plan, arch: string) => p.steps.filter((s) => "arch" in s && s.arch === arch);
  assert.equal(perArch(amd64, "amd64"), perArch(full, "amd64"));
  assert.equal(perArch(arm64, "arm64"), perArch(full, "arm64"));
  assert.equal(amd64.steps.filter((s) => s.kind === "index").map((s) => s.ref), [ref("base"), ref("app"), ref("solo")]);
  // The look-ups recorded in a group are that arch's (and the indexes).
  assert.equal(Object.keys(arm64.observed!.registry), [ref("base", "-arm64"), ref("app", "-arm64"), ref("base"), ref("app")]);
});

test("the plan records its look-ups and inputs, and the text form shows the state behind the decisions", () => {
  const p = pushPlan(packages.slice(0, 1), [[ref("base", "-amd64"), desc(1, "amd64")]]);
  assert.equal(p.inputs, { builder: "buildx", force: false, resolved: { from: dir, hash: "h1" } });
  assert.equal(JSON.parse(JSON.stringify(p)), p);
  const text = formatPlan(p);
  assert.match(text, `\n  skip   ${ref("base", "-amd64")}  exists in registry (sha256:${"1".repeat(12)})`);
  assert.match(text, `\nlooked up (what these decisions rest on):\n  registry  ${ref("base", "-amd64")}  sha256:${"1".repeat(64)}\n  registry  ${ref("base", "-arm64")}  not found\n`);
  assert.match(text, `\n  engine    ${ref("base", "-arm64")}  not found`);
});

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, InputError);
    return (e as Error).message;
  }
  throw new Error("expected an InputError");
};

test("a plan file that is not a plan, or of another version, or lacks a field: errors name the file and the field", () => {
  const good = pushPlan(packages);
  const file = "plan.json";
  assert.equal(parsePlanFile(JSON.stringify(good), file), good);
  assert.match(errorOf(() => parsePlanFile("{ nope", file)), /^plan\.json: not a pkgkit plan: not JSON/);
  assert.match(errorOf(() => parsePlanFile(JSON.stringify({ hello: 1 }), file)), 'plan.json: not a pkgkit plan: expected the JSON object `pkgkit plan --json` prints');
  assert.match(errorOf(() => parsePlanFile(JSON.stringify({ ...good, version: 2 }), file)), 'plan.json: field "version": 2: this pkgkit reads plan version 1');
  const { observed: _, ...unobserved } = good;
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(unobserved), file)), 'plan.json: field "observed": missing: this plan does not record the look-ups it rests on');
  const relative = { ...good, packages: [{ ...good.packages[0]!, dir: "pkgs/base" }, ...good.packages.slice(1)] };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(relative), file)), 'plan.json: field "packages[0].dir": expected the package directory: an absolute path');
  const badStep = { ...good, steps: [{ ...good.steps[0]!, kind: "delete" }] };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badStep), file)), 'plan.json: field "steps[0].kind"');
  const badBuilder = { ...good, inputs: { ...good.inputs, builders: { arm64: "sh -c x" } } };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badBuilder), file)), 'plan.json: field "inputs.builders.arm64": expected a builder: buildx or legacy, or either @<endpoint|context>');
  const badRelease = { ...good, inputs: { ...good.inputs, release: "v1/../x" } };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badRelease), file)), 'plan.json: field "inputs.release": expected an image tag');
});

test("a matrix file: --arch picks a group; without it, the error says how", async () => {
  const matrix = await planByArch(packages, async (pkgs) => pushPlan(pkgs));
  const parsed = parsePlanFile(JSON.stringify(matrix), "m.json") as PlanMatrix;
  assert.equal(selectPlan(parsed, "m.json", "arm64"), matrix.groups[1]!.plan);
  assert.match(errorOf(() => selectPlan(parsed, "m.json")), "m.json is a plan matrix, one plan per arch (amd64, arm64); apply one group: `pkgkit apply --arch amd64 m.json`");
  assert.match(errorOf(() => selectPlan(parsed, "m.json", "s390x")), "--arch s390x: m.json has no group for it; its groups: amd64, arm64");
  assert.match(errorOf(() => selectPlan(matrix.groups[0]!.plan, "p.json", "amd64")), "p.json is a single plan, not a matrix");
  const broken = { ...matrix, groups: [{ arch: "amd64", plan: { ...matrix.groups[0]!.plan, command: "deploy" } }] };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(broken), "m.json")), 'm.json: field "groups[0].plan.command"');
});

test("observedChanges: per-arch tags and local images are decisive; index and release tags are shared", () => {
  const p = pushPlan(packages.slice(0, 1));
  const now = structuredClone(p.observed!);
  assert.equal(observedChanges(p, now), []);
  now.registry[ref("base", "-amd64")] = desc(1, "amd64").digest;
  now.registry[ref("base")] = desc(2, "amd64").digest;
  now.local[ref("base", "-arm64")] = "sha256:local";
  delete now.local[ref("base", "-amd64")]; // not looked up now (the registry has it): not a change
  assert.equal(observedChanges(p, now), [
    { where: "registry", ref: ref("base", "-amd64"), planned: null, now: desc(1, "amd64").digest, shared: false },
    { where: "registry", ref: ref("base"), planned: null, now: desc(2, "amd64").digest, shared: true },
    { where: "local", ref: ref("base", "-arm64"), planned: null, now: "sha256:local", shared: false },
  ]);
});

test("stepDifferences: reasons do not count; kinds, commands, digests and missing steps do", () => {
  const before = pushPlan(packages.slice(0, 1));
  assert.equal(stepDifferences(before.steps, before.steps.map((s) => ({ ...s, reason: "reworded" }))), []);
  const after = pushPlan(packages.slice(0, 1), [[ref("base", "-amd64"), desc(1, "amd64")]]);
  assert.equal(stepDifferences(before.steps, after.steps), [
    `${ref("base")}/amd64: build in the plan, skip (exists in registry) now`,
    `${ref("base")}/amd64/push: in the plan (push), not planned now`,
    `${ref("base")}/index: index step differs in arches, needs`,
  ]);
  const edited = structuredClone(before.steps);
  const build = edited.find((s) => s.kind === "build")!;
  if (build.kind === "build") build.command.argv.push("--secret", "id=x");
  assert.equal(stepDifferences(edited, before.steps), [`${build.id}: build step differs in command`]);
});

test("stepDifferences: a step in the plan twice is a difference, as is one listed in another order only not", () => {
  const before = pushPlan(packages.slice(0, 1));
  const build = before.steps.find((s) => s.kind === "build")!;
  assert.equal(stepDifferences([...before.steps, build], before.steps), [`${build.id}: in the plan 2 times, planned once now`]);
  assert.equal(stepDifferences([...before.steps].reverse(), before.steps), []);
});

/** A signing push plan of `solo` (amd64 only), its image already in the registry, as recipes/push.ts makes one. */
function signingPlan(signedBy: string | null, using = "notary https://n.example") {
  const pkgs = packages.filter((p) => p.image === "solo");
  const d = desc(3, "amd64");
  const p = pushPlan(pkgs, [[ref("solo", "-amd64"), d]]);
  const key = `${ref("solo", "-amd64")}@${d.digest}`;
  const remote = new Map([[ref("solo", "-amd64"), d]]);
  return plan(pkgs, {
    command: "push", builder, local: new Map(), remote, indexes: new Map(),
    observed: { ...p.observed!, signatures: { [key]: signedBy } },
    resolved: { from: dir, hash: "h1" },
    signing: new Map([[ref("solo"), { signer: "notary" as const, signerId: "notary", using }]]),
    signed: new Set(signedBy ? [key] : []),
    signingWith: { signer: "notary", config: "/ws/pkgkit.yml" },
  });
}

test("signing plans as files: sign steps, signature look-ups and signing inputs read back; each is compared like the rest", () => {
  const unsigned = signingPlan(null);
  const key = `${ref("solo", "-amd64")}@${desc(3, "amd64").digest}`;
  assert.equal(unsigned.steps.map((s) => `${s.kind === "sign" ? `sign:${s.action}` : s.kind} ${s.id} <- ${s.needs.join(",")}`), [
    `sign:prepare ${ref("solo")}/sign-prepare <- `,
    `skip ${ref("solo")}/amd64 <- `,
    `sign:sign ${ref("solo", "-amd64")}/sign <- ${ref("solo")}/sign-prepare`,
    `index ${ref("solo")}/index <- ${ref("solo")}/sign-prepare`,
    `sign:sign ${ref("solo")}/sign <- ${ref("solo")}/index`,
  ]);
  assert.equal(unsigned.inputs!.signing, { signer: "notary", config: "/ws/pkgkit.yml" });
  assert.equal(parsePlanFile(JSON.stringify(unsigned), "s.json"), unsigned);
  assert.match(formatPlan(unsigned), `\n  signature  ${key}  not signed`);
  const badKey = { ...unsigned, inputs: { ...unsigned.inputs, signing: { key: "keys/cosign.pem" } } };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badKey), "s.json")), 's.json: field "inputs.signing.key": expected the signing key: an absolute path');
  const badSigner = { ...unsigned, inputs: { ...unsigned.inputs, signing: { signer: "gpg" } } };
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badSigner), "s.json")), 's.json: field "inputs.signing.signer"');

  // Someone signed the image meanwhile: the look-up changed (never shared), and the plan would now be different.
  const signed = signingPlan("notary https://n.example");
  const changes = observedChanges(unsigned, signed.observed!);
  assert.equal(changes, [{ where: "signatures", ref: key, planned: null, now: "notary https://n.example", shared: false }]);
  assert.equal(stepDifferences(unsigned.steps, signed.steps), [`${ref("solo", "-amd64")}/sign: in the plan (sign), not planned now`]);
  assert.equal(stepDifferences(signed.steps, unsigned.steps), [`${ref("solo", "-amd64")}/sign: planned now (sign with notary https://n.example), not in the plan`]);
  assert.match(formatStale("s.json", changes, []), `s.json: the registry, an engine or a signature changed since this plan was made; nothing was done.\n  ${key} (signature): planned not signed, now signed (notary https://n.example)`);
  // Another signer now (say another notary server): every sign step differs in which signer.
  const other = signingPlan(null, "notary https://other.example");
  assert.equal(stepDifferences(unsigned.steps, other.steps), [
    `${ref("solo")}/sign-prepare: sign step differs in using`,
    `${ref("solo", "-amd64")}/sign: sign step differs in using`,
    `${ref("solo")}/sign: sign step differs in using`,
  ]);
  // apply names that change first, as an input that changed: the signer, once per package.
  const changed = signerChanges(unsigned.steps, other.steps);
  assert.equal(changed, [`${ref("solo")}: signed with notary https://n.example in the plan, with notary https://other.example now`]);
  assert.is(formatSignersChanged("s.json", changed), [
    "s.json: the signer changed since this plan was made (another key, server or identity); nothing was done.",
    `  ${ref("solo")}: signed with notary https://n.example in the plan, with notary https://other.example now`,
    "Make a new plan and apply that.",
  ].join("\n"));
  assert.equal(signerChanges(unsigned.steps, signed.steps), [], "the same signer, with a sign step fewer");
  assert.equal(signerChanges(unsigned.steps, pushPlan(packages.filter((p) => p.image === "solo")).steps), [], "nothing to sign now: not a signer change");
});

test("matchPackages: the planned packages in plan order, restricted to their planned arches; changed sources named", async () => {
  const p = pushPlan(packages.filter((x) => x.image !== "solo").map((x) => ({ ...x, arches: ["arm64"] })));
  const { packages: matched, changed } = matchPackages(p, [...packages].reverse());
  assert.equal(changed, []);
  assert.equal(matched.map((x) => `${x.image}:${x.arches.join()}`), ["base:arm64", "app:arm64"]);
  const { packages: moved } = await resolveGraph(shell, [app], { hash: "h2" });
  const stale = matchPackages(p, moved);
  assert.equal(stale.changed, [`${join(dir, "base")}: planned ${ref("base")}, now ${ref("base").replace("h1", "h2")}`, `${join(dir, "app")}: planned ${ref("app")}, now ${ref("app").replace("h1", "h2")}`]);
  const amd64Only = packages.map((x) => ({ ...x, arches: ["amd64" as const] }));
  assert.match(matchPackages(p, amd64Only).changed[0]!, "for arm64, which it no longer builds (arches: amd64)");
});

test.run();
