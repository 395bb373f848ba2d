// The plan as one schema: what plan() makes reads back through lib/plan/schema.ts unchanged, sign
// steps included; and the signer ids sign steps name (the keys of Session.signers).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { resolveGraph } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { planMatrixSchema, planSchema, STEP_KINDS, type Plan } from "../../lib/plan/schema.ts";
import { planByArch } from "../../lib/apply.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { MediaTypes, type Descriptor, type Registry } from "../../lib/registry/types.ts";
import type { Signer } from "../../lib/sign/types.ts";
import { resolveSigning } from "../../recipes/sign.ts";

const shell = await defaultShell();
const builder = buildxBuilder(shell);
const dir = join(tmpdir(), "pkgkit-plan-schema-unit");
const def = (name: string, spec: Record<string, unknown>) => makeDefinition({ image: name, org: "127.0.0.1:5000/s", ...spec }, join(dir, name, "pkg.config.ts"));
const base = def("base", { extraSources: ["../common:/common"], signer: { type: "sigstore", key: "/keys/base.pem" } });
const app = def("app", { buildArgs: { BASE: base }, signer: { type: "sigstore", key: "/keys/app.pem" } });
const solo = def("solo", { arches: ["amd64"], signer: "notary" });
const again = def("again", { arches: ["amd64"], signer: { type: "sigstore", key: "/keys/base.pem" } });
const { packages } = await resolveGraph(shell, [app, solo, again], { hash: "h1" });
const ref = (image: string, suffix = "") => `127.0.0.1:5000/s/${image}:h1${suffix}`;
const desc = (n: number, architecture?: string): Descriptor => ({
  mediaType: MediaTypes.dockerManifest, digest: `sha256:${String(n).repeat(64)}`, size: n, ...(architecture ? { platform: { os: "linux", architecture } } : {}),
});

/** Signers that are never asked to sign here, one per type (resolveSigning still gives each configuration an id). */
const stand = (name: "notary" | "sigstore"): Signer => ({
  name, description: `${name} stand-in`, prepare: async () => {}, sign: () => Promise.reject(new Error("not here")), verify: () => Promise.reject(new Error("not here")),
});
const signingOf = () => resolveSigning(packages, { registry: {} as Registry, shell, signing: { config: {}, signers: { notary: stand("notary"), sigstore: stand("sigstore") } } });

/** A push plan with every kind of step: context, build, skip (engine, registry, index), tag (plain tag of the skipped arm64), push, index, sign (prepare, sign). */
async function everyKind(): Promise<Plan> {
  const signing = await signingOf();
  const solo = desc(3, "amd64");
  const soloIndex = desc(4);
  return plan(packages, {
    command: "push",
    builder,
    local: new Map([[ref("base", "-arm64"), { ref: ref("base", "-arm64"), id: `sha256:${"9".repeat(64)}`, os: "linux", architecture: "arm64", labels: {} }]]),
    nativeArch: "arm64",
    remote: new Map([[ref("solo", "-amd64"), solo]]),
    indexes: new Map([[ref("solo"), { ...soloIndex, bytes: new Uint8Array(), json: { schemaVersion: 2, manifests: [solo] } }]]),
    observed: { registry: { [ref("solo", "-amd64")]: solo.digest }, local: {}, localEngine: {}, signatures: { [`${ref("solo", "-amd64")}@${solo.digest}`]: null } },
    resolved: { from: dir, hash: "h1" },
    signing: signing.assignments,
    signed: new Set(),
    signingWith: { config: "/ws/pkgkit.yml" },
  });
}

test("what plan() makes, every kind of step and sign steps included, reads back through the plan schema unchanged", async () => {
  const p = await everyKind();
  assert.equal([...new Set(p.steps.map((s) => s.kind))].sort(), [...STEP_KINDS].sort(), "the plan has every kind of step");
  assert.ok(p.steps.some((s) => s.kind === "skip" && s.skips === "build") && p.steps.some((s) => s.kind === "skip" && s.skips === "index"));
  // z.object drops fields it does not define: a field plan() writes that the schema lacks makes this differ.
  assert.equal(planSchema.parse(JSON.parse(JSON.stringify(p))), p);
  const matrix = await planByArch(packages, async (pkgs) => plan(pkgs, { command: "build", builder, local: new Map() }));
  assert.equal(planMatrixSchema.parse(JSON.parse(JSON.stringify(matrix))), matrix);
  const sign = p.steps.findIndex((s) => s.kind === "sign");
  const { signerId: _, ...unnamed } = p.steps[sign] as Extract<Plan["steps"][number], { kind: "sign" }>;
  const r = planSchema.safeParse({ ...p, steps: p.steps.with(sign, unnamed as Plan["steps"][number]) });
  assert.equal(r.success ? [] : r.error.issues.map((i) => i.path.join(".")), [`steps.${sign}.signerId`], "a sign step names its signer");
});

test("signer ids: one per distinct configuration, given in package order (its type, then <type>#2 ...); the same packages and settings give the same ids", async () => {
  const signing = await signingOf();
  const ids = [...signing.assignments].map(([name, a]) => `${name.replace("127.0.0.1:5000/s/", "")} ${a.signerId}`);
  assert.equal(ids, ["again:h1 sigstore", "base:h1 sigstore", "app:h1 sigstore#2", "solo:h1 notary"], "again and base: one configuration");
  assert.equal([...signing.signers.keys()], ["sigstore", "sigstore#2", "notary"]);
  assert.equal([...(await signingOf()).assignments], [...signing.assignments], "resolved again (as `pkgkit apply` does): the same ids");
  const p = await everyKind();
  const named = (image: string) => [...new Set(p.steps.flatMap((s) => (s.kind === "sign" && s.package === ref(image) ? [`${s.signerId} (${s.using})`] : [])))];
  assert.equal(named("base"), ["sigstore (sigstore stand-in)"]);
  assert.equal(named("app"), ["sigstore#2 (sigstore stand-in)"], "the description is for people; the id tells the signers apart");
  assert.equal(named("solo"), ["notary (notary stand-in)"]);
});

test.run();
