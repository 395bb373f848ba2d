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
import {
  formatSignersChanged, formatSourcesChanged, formatStale, inputDifferences, matchPackages, observedChanges, parsePlanFile, planByArch, selectPlan, signerChanges, stepDifferences,
  type Change, type PlanMatrix,
} from "../../lib/apply.ts";
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
  assert.match(errorOf(() => parsePlanFile(JSON.stringify(badBuilder), file)), 'plan.json: field "inputs.builders.arm64": expected a builder: buildx or legacy, either @<endpoint|context>, or buildx:<name>');
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
  assert.is(selectPlan(matrix.groups[0]!.plan, "p.json"), matrix.groups[0]!.plan, "a single plan without --arch: that plan");
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
    // Its attestations verify: the attest steps are test/unit/attest.test.ts's.
    attested: new Set([key]),
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
  // Content trust on now, off when the plan was made: the prepare and every sign step are new.
  const notSigning = pushPlan(packages.filter((x) => x.image === "solo"), [[ref("solo", "-amd64"), desc(3, "amd64")]]);
  assert.equal(stepDifferences(notSigning.steps, unsigned.steps), [
    `${ref("solo")}/index: index step differs in needs`,
    `${ref("solo")}/sign-prepare: planned now (sign prepare with notary https://n.example), not in the plan`,
    `${ref("solo", "-amd64")}/sign: planned now (sign with notary https://n.example), not in the plan`,
    `${ref("solo")}/sign: planned now (sign with notary https://n.example), not in the plan`,
  ]);
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

test("a file that is not a plan object (null, an array, no version, no steps) is refused as not a plan before its fields are read", () => {
  const notAPlan = 'x.json: not a pkgkit plan: expected the JSON object `pkgkit plan --json` prints, with "version", "command", "packages" and "steps"';
  const good = pushPlan(packages.slice(0, 1));
  const { steps: _, ...stepless } = good;
  const { version: __, ...versionless } = good;
  for (const raw of [null, [good], 5, stepless, versionless]) assert.is(errorOf(() => parsePlanFile(JSON.stringify(raw), "x.json")), notAPlan, JSON.stringify(raw).slice(0, 40));
});

test("a plan file nested deeper than 32 levels is refused before it is compared; one just within the limit is read, its extra field kept", () => {
  const good = pushPlan(packages.slice(0, 1));
  /** `levels` objects one in another, a string innermost (levels + 2 deep under the plan's `inputs.extra`). */
  const nest = (levels: number): unknown => (levels === 0 ? "leaf" : { a: nest(levels - 1) });
  const withExtra = (extra: unknown) => JSON.stringify({ ...good, inputs: { ...good.inputs, extra } });
  // The plan is level 0, `inputs` 1, `inputs.extra` 2: 30 objects from there put the last at 31 and its string at 32.
  const read = parsePlanFile(withExtra(nest(30)), "deep.json") as Plan;
  assert.equal((read.inputs as Record<string, unknown>).extra, nest(30));
  const tooDeep = "deep.json: not a pkgkit plan: nested more than 32 levels deep; expected what `pkgkit plan --json` prints";
  assert.is(errorOf(() => parsePlanFile(withExtra(nest(31)), "deep.json")), tooDeep);
  const arrays = (levels: number): unknown => (levels === 0 ? null : [arrays(levels - 1)]);
  assert.is(errorOf(() => parsePlanFile(withExtra(arrays(31)), "deep.json")), tooDeep, "arrays count as levels too");
  assert.is(errorOf(() => parsePlanFile(`{"steps":${"[".repeat(5000)}${"]".repeat(5000)}}`, "deep.json")), tooDeep, "far deeper: refused, not a stack overflow");
});

test("a plan file with many problems: the first 8 named, then how many more", () => {
  const good = pushPlan(packages.slice(0, 1));
  const withRelativeDirs = (n: number) => JSON.stringify({ ...good, packages: Array.from({ length: n }, () => ({ ...good.packages[0]!, dir: "pkgs/base" })) });
  const lines = (n: number) => errorOf(() => parsePlanFile(withRelativeDirs(n), "p.json")).split("\n");
  const problem = (i: number) => `p.json: field "packages[${i}].dir": expected the package directory: an absolute path`;
  const last = "p.json is not a plan this pkgkit can apply; make one with `pkgkit plan --json`";
  assert.equal(lines(10).map((l) => l.replace(/(absolute path).*/, "$1")), [...[0, 1, 2, 3, 4, 5, 6, 7].map(problem), "(and 2 more)", last]);
  assert.equal(lines(8).map((l) => l.replace(/(absolute path).*/, "$1")), [...[0, 1, 2, 3, 4, 5, 6, 7].map(problem), last], "exactly 8: nothing more to count");
});

test("a plan file without `inputs.resolved` or `observed` says how to make one that has them; one where they are malformed, what is wrong", () => {
  const good = pushPlan(packages.slice(0, 1));
  const { resolved: _, ...unresolved } = good.inputs!;
  assert.match(errorOf(() => parsePlanFile(JSON.stringify({ ...good, inputs: unresolved }), "p.json")),
    'p.json: field "inputs.resolved": missing: this plan does not record how its packages were resolved; make it with `pkgkit plan --json`');
  for (const [field, edited] of [["inputs.resolved", { ...good, inputs: { ...good.inputs, resolved: "/src" } }], ["observed", { ...good, observed: ["registry"] }]] as const) {
    const message = errorOf(() => parsePlanFile(JSON.stringify(edited), "p.json"));
    assert.match(message, `p.json: field "${field}": `);
    assert.match(message, "expected object", message);
    assert.not.match(message, "missing", message);
  }
});

test("a field added to a step by hand is kept when the file is read, in a plan and in a matrix group, so apply's comparison refuses it", async () => {
  const matrix = await planByArch(packages, async (pkgs) => pushPlan(pkgs));
  const edited = structuredClone(matrix);
  const push = edited.groups[1]!.plan.steps.find((s) => s.kind === "push")!;
  Object.assign(push, { insecure: true });
  const read = parsePlanFile(JSON.stringify(edited), "m.json") as PlanMatrix;
  assert.equal(stepDifferences(read.groups[1]!.plan.steps, matrix.groups[1]!.plan.steps), [`${push.id}: push step differs in insecure`]);
  const single = parsePlanFile(JSON.stringify(edited.groups[1]!.plan), "p.json") as Plan;
  assert.equal(stepDifferences(single.steps, matrix.groups[1]!.plan.steps), [`${push.id}: push step differs in insecure`]);
});

test("observedChanges: a release tag is shared like the index; a look-up of a plain tag in the engine is not; a plan without look-ups has no changes", () => {
  const p = { ...pushPlan(packages.slice(0, 1)), inputs: { ...pushPlan(packages.slice(0, 1)).inputs!, release: "v1" } };
  const release = "127.0.0.1:5000/t/base:v1";
  p.observed = { registry: { ...p.observed!.registry, [release]: null }, local: { ...p.observed!.local, [ref("base")]: null } };
  const now = structuredClone(p.observed);
  now.registry[release] = desc(4, "amd64").digest;
  now.local[ref("base")] = "sha256:local";
  assert.equal(observedChanges(p, now), [
    { where: "registry", ref: release, planned: null, now: desc(4, "amd64").digest, shared: true },
    { where: "local", ref: ref("base"), planned: null, now: "sha256:local", shared: false },
  ]);
  const { observed: _, inputs: __, ...bare } = p;
  assert.equal(observedChanges(bare, now), [], "a plan made in code without look-ups or inputs");
});

test("inputDifferences: each input that differs, by its field, with both values; equal inputs (in any key order) give none", () => {
  const planned = pushPlan(packages.slice(0, 1)).inputs!;
  assert.equal(inputDifferences(planned, structuredClone(planned)), []);
  const reordered = Object.fromEntries(Object.entries(planned).reverse()) as typeof planned;
  assert.equal(inputDifferences(planned, reordered), [], "key order is not a difference");
  assert.equal(inputDifferences(undefined, undefined), []);
  const long = `v${"1".repeat(100)}`;
  const now = {
    ...planned,
    builders: { arm64: "buildx@ssh://arm-host" },
    release: long,
    force: [packages[0]!.id, packages[1]!.id],
    resolved: { ...planned.resolved!, hash: "h2" },
  };
  assert.equal(inputDifferences({ ...planned, force: [packages[0]!.id], signing: { signer: "notary" } }, now), [
    `inputs.force[1]: not in the plan, planned now (${JSON.stringify(packages[1]!.id)})`,
    'inputs.resolved.hash: "h1" in the plan, "h2" now',
    'inputs.signing: in the plan ({"signer":"notary"}), not planned now',
    'inputs.builders: not in the plan, planned now ({"arm64":"buildx@ssh://arm-host"})',
    `inputs.release: not in the plan, planned now (${JSON.stringify(long).slice(0, 77)}...)`,
  ]);
  assert.equal(inputDifferences({ ...planned, force: [packages[0]!.id] }, planned), [`inputs.force: [${JSON.stringify(packages[0]!.id)}] in the plan, false now`]);
  const exactly80 = `"${"x".repeat(78)}"`;
  assert.equal(inputDifferences(planned, { ...planned, release: "x".repeat(78) }), [`inputs.release: not in the plan, planned now (${exactly80})`], "80 characters: shown whole");
  assert.equal(inputDifferences(planned, undefined), inputDifferences(planned, {} as typeof planned));
});

test("stepDifferences: a step whose fields are in another order (another JSON writer, a hand edit) is the same step", () => {
  const before = pushPlan(packages.slice(0, 1));
  const reorder = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reorder) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v;
  assert.equal(stepDifferences(before.steps.map((s) => reorder(s) as Step), before.steps), []);
});

test("stepDifferences: a plan built in code (applyPlan takes one) with a field set to undefined is the same as its JSON form, which has no such field", () => {
  const written = pushPlan(packages.slice(0, 1), [[ref("base", "-amd64"), desc(1, "amd64")]]);
  const inCode = structuredClone(written.steps).map((s) => (s.kind === "index" ? { ...s, arches: s.arches.map((a) => ({ ...a, digest: a.digest ?? undefined })) } : s));
  assert.ok(inCode.some((s) => s.kind === "index" && s.arches.some((a) => "digest" in a && a.digest === undefined)));
  assert.equal(stepDifferences(inCode, JSON.parse(JSON.stringify(written.steps))), []);
});

test("matchPackages: a directory that now holds another package, or none, is a change; the plan's commit stays when only HEAD moved", () => {
  const [base, appPkg] = [packages.find((p) => p.image === "base")!, packages.find((p) => p.image === "app")!];
  const p = pushPlan([base, appPkg]);
  // The two directories swapped their packages: both planned images are still among the resolved ones, each in the other directory.
  const swapped = [{ ...base, dir: appPkg.dir }, { ...appPkg, dir: base.dir }];
  assert.equal(matchPackages(p, swapped), {
    packages: [],
    changed: [`${base.dir}: planned ${ref("base")}; the directory now holds ${ref("app")}`, `${appPkg.dir}: planned ${ref("app")}; the directory now holds ${ref("base")}`],
  });
  assert.equal(matchPackages(p, [base]).changed, [`${appPkg.dir}: planned ${ref("app")}; the directory now holds no such package`]);

  const c = (n: number) => String(n).repeat(40);
  const REVISION = "org.opencontainers.image.revision";
  const at = (commit: string, revision = commit) => ({ ...base, commit, labels: { ...base.labels, [REVISION]: revision } });
  const planned = pushPlan([at(c(1))]);
  assert.is(planned.packages[0]!.commit, c(1));
  const matched = (now: Package, plan = planned) => matchPackages(plan, [now]).packages.map((x) => [x.commit, x.labels[REVISION]]);
  assert.equal(matched(at(c(2))), [[c(1), c(1)]], "HEAD moved, the tag did not: built as the plan says, labelled with its commit");
  assert.equal(matched(at(c(2), "v2-release")), [[c(2), "v2-release"]], "a revision label the package sets itself is its own");
  assert.equal(matched(at(c(2)), pushPlan([base])), [[c(2), c(2)]], "a plan that records no commit: the package as it resolves now");
});

test("formatStale and formatSourcesChanged: what changed, planned and now, and whether the plan would differ", () => {
  const registry: Change = { where: "registry", ref: ref("base", "-amd64"), planned: null, now: "sha256:1", shared: false };
  const index: Change = { where: "registry", ref: ref("base"), planned: "sha256:2", now: "sha256:3", shared: true };
  const engine: Change = { where: "local", ref: ref("base", "-arm64"), planned: "sha256:4", now: null, shared: false };
  const signature: Change = { where: "signatures", ref: `${ref("base", "-amd64")}@sha256:1`, planned: "notary https://n", now: null, shared: false };
  const differences = [`${ref("base")}/index: index step differs in arches`];
  assert.is(formatStale("p.json", [registry, engine], differences), [
    "p.json: the registry or an engine changed since this plan was made; nothing was done.",
    `  ${ref("base", "-amd64")} (registry): planned not there, now sha256:1`,
    `  ${ref("base", "-arm64")} (engine): planned sha256:4, now not there`,
    "Make a new plan and apply that.",
  ].join("\n"), "a decisive change: the steps it changes are not listed");
  assert.is(formatStale("p.json", [registry, signature], []), [
    "p.json: the registry, an engine or a signature changed since this plan was made; nothing was done.",
    `  ${ref("base", "-amd64")} (registry): planned not there, now sha256:1`,
    `  ${ref("base", "-amd64")}@sha256:1 (signature): planned signed (notary https://n), now not signed`,
    "Make a new plan and apply that.",
  ].join("\n"));
  assert.is(formatStale("p.json", [index], differences), [
    "p.json: the registry or an engine changed since this plan was made; nothing was done.",
    `  ${ref("base")} (registry): planned sha256:2, now sha256:3 (an index or release tag)`,
    "so the plan would now be different:",
    `  ${differences[0]}`,
    "Make a new plan and apply that.",
  ].join("\n"), "only shared tags changed: what that changes in the plan");
  assert.is(formatStale("p.json", [], differences), [
    "p.json: its steps are not what pkgkit plans now, although the registry and the engines are as the plan saw them " +
    "(was it edited by hand, or made by another version of pkgkit?); nothing was done.",
    `  ${differences[0]}`,
    "Make a new plan and apply that.",
  ].join("\n"));
  assert.is(formatSourcesChanged("p.json", ["/src/base: planned a, now b", "/src/app: planned c, now d"]), [
    "p.json: the sources changed since this plan was made; nothing was done.",
    "  /src/base: planned a, now b",
    "  /src/app: planned c, now d",
    "Make a new plan and apply that.",
  ].join("\n"));
});

test.run();
