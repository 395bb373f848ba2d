// Signing, the pure parts: which signer a package gets (run > package > workspace > pkgkit.yml > notary), the
// sign steps a push plan gets and how they print, and the passphrase sources (env, command, once).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createHash, generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan, type PlanOptions } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import type { Plan, Step } from "../../lib/plan/schema.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { loadSigningConfig, packageSigner, resolveSignerConfig, runSigner } from "../../lib/sign/config.ts";
import { runSignStep } from "../../lib/sign/run.ts";
import { signingTargets } from "../../lib/plan/sign.ts";
import { formatRef, parseImageRef } from "../../lib/names.ts";
import { opensKey } from "../../lib/sign/pkcs8.ts";
import { notarySigner, parseDelegationList, parseKeyList } from "../../lib/sign/notary.ts";
import type { ExecOptions, Shell } from "../../lib/shell.ts";
import { linuxkitPassphraseCommand, passphrase, redact } from "../../lib/sign/secrets.ts";
import { keyFingerprint, keyHint, sigstoreSigner, verifyBundle } from "../../lib/sign/sigstore.ts";
import { signStatement } from "../../lib/sign/oci.ts";
import { parseBuildYml } from "../../lib/buildyml.ts";
import { SpecError, type InputError } from "../../lib/errors.ts";
import { checkIdentityToken } from "../../lib/sign/keyless.ts";
import { loggedEnvelope } from "../../lib/sign/cosign-envelope.ts";
import type { Descriptor, Registry } from "../../lib/registry/types.ts";
import type { Signer } from "../../lib/sign/types.ts";
import { resolveSigning, type SigningOptions } from "../../recipes/sign.ts";

type SignStep = Extract<Step, { kind: "sign" }>;

const shell = await defaultShell();
const dir = mkdtempSync(join(tmpdir(), "pkgkit-sign-unit-"));

/** A package that signs without attesting (attest steps have their own suite, test/unit/attest.test.ts). */
async function pkg(spec: Record<string, unknown> = {}, trust = true): Promise<Package> {
  const [p] = await resolvePackages(shell, [makeDefinition({ image: "app", org: "127.0.0.1:5000/x", attest: false, ...spec }, join(dir, "pkg.config.ts"))], {
    hash: "h1",
    disableContentTrust: !trust,
  });
  return p!;
}

type PushPlanOptions = Pick<PlanOptions, "signing" | "signed" | "release">;
const pushPlan = (p: Package, remote = new Map<string, Descriptor>(), signing: PushPlanOptions = {}): Plan =>
  plan([p], { command: "push", builder: buildxBuilder(shell), local: new Map(), remote, indexes: new Map(), ...signing });
const assign = (p: Package, signer: "notary" | "sigstore" = "notary") => new Map([[`${p.repository}:${p.tag}`, { signer, signerId: signer, using: `${signer} test` }]]);

test("signer precedence: run > package > workspace > pkgkit.yml > notary; settings merge for the chosen type", () => {
  assert.equal(resolveSignerConfig(undefined, undefined, undefined, {}), { type: "notary" });
  assert.equal(resolveSignerConfig(undefined, undefined, undefined, { signer: "sigstore", sigstore: { key: "/w.pem" } }), { type: "sigstore", key: "/w.pem" });
  assert.equal(resolveSignerConfig(undefined, { type: "notary" }, undefined, { signer: "sigstore", notary: { server: "https://n.example" } }), { type: "notary", server: "https://n.example" });
  assert.equal(resolveSignerConfig(runSigner({ key: "/r.pem" }), { type: "notary", server: "https://n" } as never, undefined, { sigstore: { key: "/w.pem", tsaURL: "https://tsa.example" } }), {
    type: "sigstore", key: "/r.pem", keyless: false, tsaURL: "https://tsa.example",
  });
  assert.equal(resolveSignerConfig(runSigner({ keyless: true }), undefined, undefined, { sigstore: { key: "/w.pem" } }), { type: "sigstore", keyless: true });
  assert.equal(resolveSignerConfig(runSigner({ signer: "notary" }), { type: "sigstore", key: "/p.pem" } as never, undefined, {}), { type: "notary" });
  // The workspace (pkgkit.config.ts) names a signer: over pkgkit.yml's, under the package's and the run's; pkgkit.yml's settings still apply.
  const file = { signer: "notary" as const, sigstore: { key: "/y.pem" }, notary: { server: "https://n.example" } };
  assert.equal(resolveSignerConfig(undefined, undefined, "sigstore", file), { type: "sigstore", key: "/y.pem" });
  assert.equal(resolveSignerConfig(undefined, { type: "notary" }, "sigstore", file), { type: "notary", server: "https://n.example" });
  assert.equal(resolveSignerConfig(runSigner({ signer: "notary" }), undefined, "sigstore", file), { type: "notary", server: "https://n.example" });
  assert.equal(resolveSignerConfig(undefined, undefined, "notary", { signer: "sigstore" }), { type: "notary" });
  assert.throws(() => runSigner({ signer: "notary", key: "k.pem" }), /--key is a sigstore option/);
  assert.throws(() => runSigner({ key: "k.pem", keyless: true }), /exclude each other/);
});

test("a workspace's signer reaches the packages inside it, and resolveSigning uses it unless the package or the run names one", async () => {
  const ws = join(dir, "signer-ws");
  const def = (image: string, spec: Record<string, unknown> = {}) => makeDefinition({ image, org: "127.0.0.1:5000/x", ...spec }, join(ws, image, "pkg.config.ts"));
  const outside = makeDefinition({ image: "out", org: "127.0.0.1:5000/x" }, join(dir, "elsewhere/pkg.config.ts"));
  const packages = await resolvePackages(shell, [def("a"), def("b", { signer: "notary" }), outside], { hash: "h1", workspace: { dir: ws, signer: "sigstore" } });
  assert.equal(packages.map((p) => p.workspaceSigner), ["sigstore", "sigstore", undefined]);
  const fake = (name: "notary" | "sigstore"): Signer => ({
    name, description: `${name} fake`, prepare: async () => {}, sign: async () => { throw new Error("not here"); }, verify: async () => { throw new Error("not here"); },
  });
  const signers = { notary: fake("notary"), sigstore: fake("sigstore") };
  const registry = {} as Registry;
  const assigned = async (signing: SigningOptions) =>
    [...(await resolveSigning(packages, { registry, shell, signing: { config: {}, signers, ...signing } })).assignments.values()].map((a) => a.signer);
  assert.equal(await assigned({}), ["sigstore", "notary", "notary"]);
  assert.equal(await assigned({ config: { signer: "sigstore" } }), ["sigstore", "notary", "sigstore"], "pkgkit.yml only for the package outside the workspace");
  assert.equal(await assigned({ signer: "notary" }), ["notary", "notary", "notary"], "the run wins");
});

test("LinuxKit's default (pkgkit pkg push): only packages with a signer configured sign: by the run, the package, the workspace or pkgkit.yml", async () => {
  const ws = join(dir, "lk-ws");
  const def = (image: string, spec: Record<string, unknown> = {}, where = ws) => makeDefinition({ image, org: "127.0.0.1:5000/x", ...spec }, join(where, image, "pkg.config.ts"));
  const packages = await resolvePackages(shell, [def("plain", {}, join(dir, "lk-out")), def("own", { signer: "sigstore" }, join(dir, "lk-out")), def("inws")], { hash: "h1", workspace: { dir: ws, signer: "notary" } });
  const fake = (name: "notary" | "sigstore"): Signer => ({
    name, description: `${name} fake`, prepare: async () => {}, sign: async () => { throw new Error("not here"); }, verify: async () => { throw new Error("not here"); },
  });
  const signers = { notary: fake("notary"), sigstore: fake("sigstore") };
  const signing = async (options: SigningOptions) => resolveSigning(packages, { registry: {} as Registry, shell, signing: { config: {}, signers, signByDefault: false, ...options } });
  const signed = async (options: SigningOptions) => [...(await signing(options)).assignments.keys()].map((ref) => ref.split("/")[2]!.split(":")[0]);
  assert.equal(await signed({}), ["own", "inws"], "the package's own signer and the workspace's sign; the plain package does not");
  assert.equal((await signing({})).inputs, { signByDefault: false }, "recorded, so apply plans the same");
  for (const [why, options] of [
    ["--signer", { signer: "notary" }], ["--key", { key: "/k.pem" }], ["--keyless", { keyless: true }],
    ["pkgkit.yml signer", { config: { signer: "notary" } }], ["pkgkit.yml notary:", { config: { notary: { server: "https://n.example" } } }],
    ["pkgkit.yml sigstore:", { config: { sigstore: { key: "/k.pem" } } }],
  ] as [string, SigningOptions][])
    assert.equal(await signed(options), ["plain", "own", "inws"], why);
  assert.equal([...(await resolveSigning(packages, { registry: {} as Registry, shell, signing: { config: {}, signers } })).assignments.keys()].length, 3, "pkgkit's own default: every package signs");
});

test("package field: a name or settings; paths relative to the package; build.yml takes it too", () => {
  assert.equal(packageSigner("sigstore", "/pkg"), { type: "sigstore" });
  assert.equal(packageSigner({ type: "sigstore", key: "keys/k.pem" }, "/pkg"), { type: "sigstore", key: "/pkg/keys/k.pem" });
  const def = parseBuildYml("image: a\nsigner: {type: notary, server: 'https://notary.example:4443'}\n", "/pkg/build.yml");
  assert.equal(def.spec.signer, { type: "notary", server: "https://notary.example:4443" });
  try {
    parseBuildYml("image: a\nsigner: cosign\n", "/pkg/build.yml");
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SpecError);
    assert.match((e as Error).message, /\/pkg\/build\.yml:2:\d+: field "signer": expected "notary", "sigstore"/);
  }
});

test("pkgkit.yml: found from the current directory up, paths relative to it; $PKGKIT_CONFIG names one", async () => {
  const ws = join(dir, "ws");
  mkdirSync(join(ws, "a/b"), { recursive: true });
  writeFileSync(join(ws, "pkgkit.yml"), "signer: sigstore\nsigstore:\n  key: keys/cosign.pem\nnotary:\n  passphraseCommand: pass show dct\n");
  // The key is checked when pkgkit.yml is read, before anything is built.
  try {
    await loadSigningConfig(join(ws, "a/b"), {});
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, `${join(ws, "pkgkit.yml")}: field "sigstore.key": ${JSON.stringify(join(ws, "keys/cosign.pem"))}: no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)`);
  }
  mkdirSync(join(ws, "keys"));
  writeFileSync(join(ws, "keys/cosign.pem"), "not a key\n");
  try {
    await loadSigningConfig(join(ws, "a/b"), {});
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, `${join(ws, "pkgkit.yml")}: field "sigstore.key": ${JSON.stringify(join(ws, "keys/cosign.pem"))}: not a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)`);
  }
  writeFileSync(join(ws, "keys/cosign.pem"), generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  const w = await loadSigningConfig(join(ws, "a/b"), {});
  assert.is(w.file, join(ws, "pkgkit.yml"));
  assert.is(w.signer, "sigstore");
  assert.is(w.sigstore?.key, join(ws, "keys/cosign.pem"));
  assert.is(w.notary?.passphraseCommand, "pass show dct");
  writeFileSync(join(ws, "other.yml"), "signer: cosign\n");
  try {
    await loadSigningConfig(dir, { PKGKIT_CONFIG: join(ws, "other.yml") });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, `${join(ws, "other.yml")}: field "signer"`);
  }
});

test("push plan: prepare first, a sign step after each push and after the index; digests come from those steps", async () => {
  const p = await pkg();
  const signed = pushPlan(p, undefined, { signing: assign(p), signed: new Set() });
  assert.equal(signed.steps.map((s) => (s.kind === "sign" ? `sign:${s.action}` : s.kind)), [
    "sign:prepare", "build", "push", "sign:sign", "build", "push", "sign:sign", "index", "sign:sign",
  ]);
  // The DAG: every push and the index wait for prepare; each sign waits for what it signs.
  const n = "127.0.0.1:5000/x/app:h1";
  assert.equal(Object.fromEntries(signed.steps.map((s) => [s.id, s.needs])), {
    [`${n}/sign-prepare`]: [],
    [`${n}/amd64`]: [],
    [`${n}/amd64/push`]: [`${n}/amd64`, `${n}/sign-prepare`],
    [`${n}-amd64/sign`]: [`${n}/amd64/push`],
    [`${n}/arm64`]: [],
    [`${n}/arm64/push`]: [`${n}/arm64`, `${n}/sign-prepare`],
    [`${n}-arm64/sign`]: [`${n}/arm64/push`],
    [`${n}/index`]: [`${n}/amd64/push`, `${n}/arm64/push`, `${n}/sign-prepare`],
    [`${n}/sign`]: [`${n}/index`],
  });
  const signs = signed.steps.filter((s): s is SignStep => s.kind === "sign" && s.action === "sign");
  assert.equal(signs.map((s) => [s.ref, s.after, s.tags]), [
    ["127.0.0.1:5000/x/app:h1-amd64", "127.0.0.1:5000/x/app:h1/amd64/push", ["h1-amd64"]],
    ["127.0.0.1:5000/x/app:h1-arm64", "127.0.0.1:5000/x/app:h1/arm64/push", ["h1-arm64"]],
    ["127.0.0.1:5000/x/app:h1", "127.0.0.1:5000/x/app:h1/index", ["h1"]],
  ]);
  assert.equal(JSON.parse(JSON.stringify(signed)), signed, "still plain data");
  const text = formatPlan(signed);
  assert.match(text, "plan: push (2 to build, 2 to push, 1 index(es) to write, 3 to sign, 0 to skip)");
  assert.match(text, "  sign   prepare notary test for 127.0.0.1:5000/x/app  before anything is pushed");
  assert.match(text, "  sign   127.0.0.1:5000/x/app:h1-amd64@<digest of the push> with notary  image written by this run");
  assert.match(text, "  sign   127.0.0.1:5000/x/app:h1@<digest of the merged index> with notary");
});

test("keyless prepare (prepareAfterBuilds): needs the package's builds, not its pushes; listed before its first push; every push and the index need it", async () => {
  const p = await pkg();
  const signing = new Map([...assign(p)].map(([k, v]) => [k, { ...v, prepareAfterBuilds: true }]));
  const signed = pushPlan(p, undefined, { signing, signed: new Set() });
  const n = "127.0.0.1:5000/x/app:h1";
  assert.equal(signed.steps.map((s) => (s.kind === "sign" ? `sign:${s.action}` : s.kind)), [
    "build", "sign:prepare", "push", "sign:sign", "build", "push", "sign:sign", "index", "sign:sign",
  ]);
  const needs = Object.fromEntries(signed.steps.map((s) => [s.id, s.needs]));
  assert.equal(needs[`${n}/sign-prepare`], [`${n}/amd64`, `${n}/arm64`]);
  assert.equal(needs[`${n}/arm64/push`], [`${n}/arm64`, `${n}/sign-prepare`]);
  assert.equal(needs[`${n}/index`], [`${n}/amd64/push`, `${n}/arm64/push`, `${n}/sign-prepare`]);
});

test("identity token check: what Fulcio needs (three parts, JSON claims, iss, sub or a verified email, not expired); errors name the source, never the token", () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const jwt = (claims: unknown) => `${b64({ alg: "none" })}.${b64(claims)}.`;
  const now = new Date("2026-12-01T12:00:00Z");
  const exp = now.getTime() / 1000 + 300;
  const from = "$SIGSTORE_ID_TOKEN";
  assert.equal(checkIdentityToken({ value: jwt({ iss: "https://issuer", sub: "me", exp }), from }, now), { issuer: "https://issuer", subject: "me", expires: new Date(exp * 1000) });
  assert.equal(checkIdentityToken({ value: jwt({ iss: "https://issuer", email: "a@b.c", email_verified: true }), from }, now), { issuer: "https://issuer", subject: "a@b.c" });
  const problem = (value: string) => {
    try {
      checkIdentityToken({ value, from }, now);
    } catch (e) {
      assert.is((e as InputError).exitCode, 2);
      const message = (e as Error).message;
      assert.not.match(message, value);
      assert.ok(message.startsWith("sigstore keyless: the identity token from $SIGSTORE_ID_TOKEN "), message);
      return message.slice("sigstore keyless: the identity token from $SIGSTORE_ID_TOKEN ".length).split(";")[0];
    }
    throw new Error("expected the token to be refused");
  };
  assert.is(problem("secret-but-no-dots"), 'is not a JWT: expected three base64url parts separated by ".", found 1');
  assert.is(problem("a.b.c.d"), 'is not a JWT: expected three base64url parts separated by ".", found 4');
  assert.is(problem("aaaa.!!!!.cccc"), "is not a JWT: its payload (the second part) is not base64url-encoded JSON");
  assert.is(problem(`aaaa.${Buffer.from("not json").toString("base64url")}.cccc`), "is not a JWT: its payload (the second part) is not base64url-encoded JSON");
  assert.is(problem(jwt(["an", "array"])), "is not a JWT: its payload is not a JSON object of claims");
  assert.is(problem(jwt({ sub: "me", exp })), 'has no issuer (claim "iss"), which Fulcio needs to know who vouches for the identity');
  assert.is(problem(jwt({ iss: "https://issuer", exp })), 'has no subject (claim "sub" or "email"), the identity Fulcio certifies');
  assert.is(problem(jwt({ iss: "https://issuer", sub: "me", exp: now.getTime() / 1000 - 1 })), 'expired at 2026-12-01T11:59:59.000Z (claim "exp")');
  assert.is(problem(jwt({ iss: "https://issuer", sub: "me", exp: "tomorrow" })), 'has an expiry (claim "exp") that is not a number of seconds');
  assert.is(problem(jwt({ iss: "https://issuer", email: "a@b.c" })), 'names an email (claim "email") that its issuer has not verified (claim "email_verified" is not true), which Fulcio refuses');
});

test("images already in the registry: signed only when the look-up found them unsigned; the digest is in the plan", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const d = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"a".repeat(64)}`, size: 529 };
  const remote = new Map([["127.0.0.1:5000/x/app:h1-amd64", d]]);
  const unsigned = pushPlan(p, remote, { signing: assign(p, "sigstore"), signed: new Set() });
  const sign = unsigned.steps.find((s): s is SignStep => s.kind === "sign" && s.action === "sign" && s.arch === "amd64")!;
  assert.equal([sign.digest, sign.size, sign.reason], [d.digest, 529, "in the registry, not signed with sigstore yet"]);
  assert.match(formatPlan(unsigned), `  sign   127.0.0.1:5000/x/app:h1-amd64@${d.digest} with sigstore`);
  const done = pushPlan(p, remote, { signing: assign(p), signed: new Set([`127.0.0.1:5000/x/app:h1-amd64@${d.digest}`]) });
  assert.equal(unsigned.steps.map((s) => [s.kind === "sign" ? `sign:${s.action}` : s.kind, s.needs]), [
    ["sign:prepare", []],
    ["skip", []],
    ["sign:sign", ["127.0.0.1:5000/x/app:h1/sign-prepare"]],
    ["index", ["127.0.0.1:5000/x/app:h1/sign-prepare"]],
    ["sign:sign", ["127.0.0.1:5000/x/app:h1/index"]],
  ], "a sign step for what the registry has waits only for the signer");
  assert.equal(done.steps.map((s) => (s.kind === "sign" ? `sign:${s.action}:${s.ref}` : s.kind)), [
    "sign:prepare:127.0.0.1:5000/x/app:h1", "skip", "index", "sign:sign:127.0.0.1:5000/x/app:h1",
  ]);
});

test("an index already complete in the registry: signed when the look-up found it unsigned, after its skip; all signed: no sign step, no prepare", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const image = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"a".repeat(64)}`, size: 529 };
  const index = { mediaType: "application/vnd.docker.distribution.manifest.list.v2+json", digest: `sha256:${"b".repeat(64)}`, size: 300 };
  const remote = new Map([["127.0.0.1:5000/x/app:h1-amd64", image]]);
  const indexes = new Map([["127.0.0.1:5000/x/app:h1", { ...index, bytes: new Uint8Array(), json: { schemaVersion: 2, manifests: [{ ...image, platform: { os: "linux", architecture: "amd64" } }] } }]]);
  const planWith = (signed: string[]) =>
    plan([p], { command: "push", builder: buildxBuilder(shell), local: new Map(), remote, indexes, signing: assign(p), signed: new Set(signed) });
  const unsigned = planWith([`127.0.0.1:5000/x/app:h1-amd64@${image.digest}`]);
  assert.equal(unsigned.steps.map((s) => (s.kind === "sign" ? `sign:${s.action}:${s.ref}` : `${s.kind}:${s.kind === "skip" ? s.skips : ""}`)), [
    "sign:prepare:127.0.0.1:5000/x/app:h1", "skip:build+push", "skip:index", "sign:sign:127.0.0.1:5000/x/app:h1",
  ]);
  const sign = unsigned.steps.find((s): s is SignStep => s.kind === "sign" && s.action === "sign")!;
  assert.equal([sign.digest, sign.size, sign.needs], [index.digest, index.size, ["127.0.0.1:5000/x/app:h1/sign-prepare"]]);
  const done = planWith([`127.0.0.1:5000/x/app:h1-amd64@${image.digest}`, `127.0.0.1:5000/x/app:h1@${index.digest}`]);
  assert.equal(done.steps.map((s) => s.kind), ["skip", "skip"]);
});

test("no signing assignments (content trust off): the plan is unchanged; Notary signs the release tag too", async () => {
  const p = await pkg({}, false);
  const base = pushPlan(p);
  assert.equal(pushPlan(p, undefined, { signing: new Map(), signed: new Set() }), base);
  const t = await pkg();
  const released = pushPlan(t, undefined, { signing: assign(t), signed: new Set(), release: "v1.0" });
  assert.equal(released.steps.filter((s): s is SignStep => s.kind === "sign").at(-1)!.tags, ["h1", "v1.0"]);
});

test("sign steps as plan data: the prepare has no tags and says what it proves, per signer; Notary alone signs the release tag, on the index alone", async () => {
  const p = await pkg();
  const n = "127.0.0.1:5000/x/app:h1";
  const signSteps = (signer: "notary" | "sigstore", prepareAfterBuilds = false) => {
    const signing = new Map([...assign(p, signer)].map(([k, v]) => [k, { ...v, ...(prepareAfterBuilds ? { prepareAfterBuilds } : {}) }]));
    return pushPlan(p, undefined, { signing, signed: new Set(), release: "v1.0" }).steps.filter((s): s is SignStep => s.kind === "sign");
  };
  const prepare = (signer: "notary" | "sigstore", reason: string, needs: string[] = []) => ({
    kind: "sign", id: `${n}/sign-prepare`, package: n, action: "prepare", signer, signerId: signer, using: `${signer} test`, ref: n, repository: "127.0.0.1:5000/x/app", tags: [], reason, needs,
  });
  const notary = signSteps("notary");
  assert.equal(notary[0], prepare("notary", "before anything is pushed: the passphrase opens the keys; trust data for the repository"));
  assert.equal(notary.slice(1).map((s) => [s.ref, s.tags]), [[`${n}-amd64`, ["h1-amd64"]], [`${n}-arm64`, ["h1-arm64"]], [n, ["h1", "v1.0"]]]);
  const key = signSteps("sigstore");
  assert.equal(key[0], prepare("sigstore", "before anything is pushed: the key signs, and its public key verifies that"));
  assert.equal(key.slice(1).map((s) => [s.ref, s.tags]), [[`${n}-amd64`, ["h1-amd64"]], [`${n}-arm64`, ["h1-arm64"]], [n, ["h1"]]], "sigstore signs digests: the release tag is not its to sign");
  const keyless = signSteps("sigstore", true);
  assert.equal(keyless[0], prepare("sigstore", "after the builds, right before the first push: the identity token, and a Fulcio certificate (valid 10 minutes)", [`${n}/amd64`, `${n}/arm64`]));
});

test("a signing plan lists every step after the steps it needs, and the prepare before the first step that needs it (keyless: ahead of builds it waits for): keyless or not, images in the registry or not", async () => {
  const p = await pkg();
  const n = "127.0.0.1:5000/x/app:h1";
  const amd64 = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"a".repeat(64)}`, size: 529 };
  const misplaced = (plan: Plan) => {
    const seen = new Set<string>();
    return plan.steps.flatMap((s) => {
      // The keyless prepare waits for every build of the package, yet comes right before the first step that needs it.
      const early = s.id === `${n}/sign-prepare` ? [] : s.needs.filter((x) => !seen.has(x));
      seen.add(s.id);
      return early.map((x) => `${s.id} is listed before ${x}, which it needs`);
    });
  };
  /** The keyless prepare is listed right before the first step that needs it. */
  const beforeItsFirstUse = (plan: Plan) => {
    const at = plan.steps.findIndex((s) => s.id === `${n}/sign-prepare`);
    return plan.steps.findIndex((s) => s.needs.includes(`${n}/sign-prepare`)) === at + 1;
  };
  // With extra sources, a context step comes first: it needs nothing of the signer.
  for (const q of [p, await pkg({ extraSources: ["../common:/common"] })]) {
    for (const prepareAfterBuilds of [false, true]) {
      for (const signer of ["notary", "sigstore"] as const) {
        const signing = new Map([...assign(q, signer)].map(([k, v]) => [k, { ...v, prepareAfterBuilds }]));
        const fresh = pushPlan(q, undefined, { signing, signed: new Set() });
        // amd64 is in the registry, unsigned: its sign step needs only the prepare, which (keyless) waits for the arm64 build.
        const half = pushPlan(q, new Map([[`${n}-amd64`, amd64]]), { signing, signed: new Set() });
        const what = `${signer}${prepareAfterBuilds ? " keyless" : ""}${q.extraSources.length ? " with a context step" : ""}`;
        assert.equal(misplaced(fresh), [], what);
        assert.equal(misplaced(half), [], `${what}, amd64 in the registry`);
        assert.ok(half.steps.some((s) => s.kind === "sign" && s.ref === `${n}-amd64` && s.needs.join() === `${n}/sign-prepare`), what);
        if (prepareAfterBuilds) assert.ok(beforeItsFirstUse(fresh) && beforeItsFirstUse(half), what);
        else assert.is(fresh.steps[0]!.id, `${n}/sign-prepare`, what);
      }
    }
  }
});

test("signingTargets (plan() and the signature look-up): pushes and index writes are signed after them; a skipped push or index only as the look-up found it; nothing else, whatever the look-up holds", async () => {
  const p = await pkg({ extraSources: ["../common:/common"] });
  const n = "127.0.0.1:5000/x/app:h1";
  const d = (c: string) => ({ mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${c.repeat(64)}`, size: 1 });
  // The engine has arm64: its push follows a skip of the build alone.
  const steps = plan([p], { command: "push", builder: buildxBuilder(shell), local: new Map([[`${n}-arm64`, { ref: `${n}-arm64`, id: "sha256:e", os: "linux", architecture: "arm64", labels: {} }]]), remote: new Map(), indexes: new Map() }).steps;
  assert.equal(steps.map((s) => `${s.kind}${s.kind === "skip" ? `:${s.skips}` : ""}`), ["context", "build", "push", "skip:build", "push", "index"]);
  // A look-up that holds every ref of these steps: only what is pushed or written is signed, after it.
  const every = [n, `${n}-amd64`, `${n}-arm64`];
  const full = { remote: new Map(every.map((r) => [r, d("a")])), indexes: new Map(every.map((r) => [r, { ...d("b"), bytes: new Uint8Array(), json: { schemaVersion: 2 } }])) };
  const targets = (of: Step[], lookup: Parameters<typeof signingTargets>[2]) => signingTargets(parseImageRef(n), of, lookup).map((t) => ({ ...t, ref: formatRef(t.ref) }));
  const after = (ref: string, id: string) => ({ ref, after: id });
  assert.equal(targets(steps, full), [after(`${n}-amd64`, `${n}/amd64/push`), after(`${n}-arm64`, `${n}/arm64/push`), after(n, `${n}/index`)]);
  // Skips of the push and of the index: signed as found, only when found (and with no look-up, not at all).
  const skipped = [
    { kind: "skip", id: `${n}/amd64`, package: n, arch: "amd64", ref: `${n}-amd64`, reason: "", found: d("a").digest, skips: "build+push", needs: [] },
    { kind: "skip", id: `${n}/index`, package: n, ref: n, reason: "", found: d("b").digest, skips: "index", needs: [] },
  ] as Step[];
  assert.equal(targets(skipped, full), [
    { ref: `${n}-amd64`, skipId: `${n}/amd64`, known: d("a") },
    { ref: n, skipId: `${n}/index`, known: { mediaType: d("b").mediaType, digest: d("b").digest, size: 1 } },
  ]);
  assert.equal(targets(skipped, { remote: new Map(), indexes: new Map() }), []);
  assert.equal(targets(skipped, {}), []);
});

test("--force over images already in the registry: each is built, pushed and signed once, after its push, with the digest it pushes", async () => {
  const p = await pkg();
  const n = "127.0.0.1:5000/x/app:h1";
  const old = { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: `sha256:${"a".repeat(64)}`, size: 529 };
  const remote = new Map([[`${n}-amd64`, old], [`${n}-arm64`, { ...old, digest: `sha256:${"b".repeat(64)}` }]]);
  const forced = plan([p], { command: "push", builder: buildxBuilder(shell), local: new Map(), remote, indexes: new Map(), force: true, signing: assign(p), signed: new Set() });
  const signs = forced.steps.filter((s): s is SignStep => s.kind === "sign" && s.action === "sign");
  assert.equal(signs.map((s) => [s.id, s.after, s.digest, s.needs]), [
    [`${n}-amd64/sign`, `${n}/amd64/push`, undefined, [`${n}/amd64/push`]],
    [`${n}-arm64/sign`, `${n}/arm64/push`, undefined, [`${n}/arm64/push`]],
    [`${n}/sign`, `${n}/index`, undefined, [`${n}/index`]],
  ]);
});

test("pkgkit.yml: where a field has no message of its own, zod's English one (zod/mini loads no locale; lib/sign/schema.ts sets it)", async () => {
  const ws = join(dir, "zod-en-ws");
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, "pkgkit.yml"), 'notary: x\nsigstore:\n  identity: ""\nsignr: notary\n');
  const file = join(ws, "pkgkit.yml");
  try {
    await loadSigningConfig(ws, {});
    assert.unreachable();
  } catch (e) {
    assert.is(
      (e as Error).message,
      [
        `${file}: field "notary": Invalid input: expected object, received string`,
        `${file}: field "sigstore.identity": Too small: expected string to have >=1 characters`,
        `${file}: field "": Unrecognized key: "signr"`,
      ].join("\n"),
    );
  }
});

test("notary role: \"targets\" or \"targets/<name>\", in pkgkit.yml, the package field and code; errors name the field and the form", async () => {
  const ws = join(dir, "role-ws");
  mkdirSync(ws, { recursive: true });
  writeFileSync(join(ws, "pkgkit.yml"), "notary:\n  role: targets/releases\n");
  assert.is((await loadSigningConfig(ws, {})).notary?.role, "targets/releases");
  const expected = 'expected "targets" or a delegation "targets/<name>" (<name>: lowercase letters, digits, "-" and "_"), e.g. "targets/releases"';
  for (const bad of ["releases", "targets/", "targets/Releases", "targets/releases/ci", "root"]) {
    writeFileSync(join(ws, "pkgkit.yml"), `notary:\n  role: ${JSON.stringify(bad)}\n`);
    try {
      await loadSigningConfig(ws, {});
      assert.unreachable(bad);
    } catch (e) {
      assert.is((e as Error).message, `${join(ws, "pkgkit.yml")}: field "notary.role": ${expected}`);
    }
  }
  assert.equal(parseBuildYml("image: a\nsigner: {type: notary, role: targets/releases}\n", "/pkg/build.yml").spec.signer, { type: "notary", role: "targets/releases" });
  try {
    parseBuildYml("image: a\nsigner: {type: notary, role: releases}\n", "/pkg/build.yml");
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, `/pkg/build.yml:2:30: field "signer.role": ${expected} (got "releases")`);
  }
  assert.throws(() => notarySigner({ role: "targets/releases/" }), (e: Error) => e.message === `the notary signer's "role": ${expected} (got "targets/releases/")`);
  assert.is(notarySigner({ server: "https://notary.example" }).description, "notary https://notary.example");
  assert.is(notarySigner({ server: "https://notary.example", role: "targets" }).description, "notary https://notary.example");
  assert.is(notarySigner({ server: "https://notary.example", role: "targets/releases" }).description, "notary https://notary.example (targets/releases)");
});

// What notary 0.7 prints (captured from the test notary server): a role's further keys on rows of their own.
const DELEGATION_LIST = `
ROLE                PATHS             KEY IDS                                                             THRESHOLD
----                -----             -------                                                             ---------
targets/ci          "" <all paths>    ${"c".repeat(64)}    1
targets/releases    "" <all paths>    ${"a".repeat(64)}    1
                                      ${"b".repeat(64)}    

`;
const KEY_LIST = `
ROLE       GUN                          KEY ID                                                              LOCATION
----       ---                          ------                                                              --------
root                                    ${"0".repeat(64)}    /home/u/.docker/trust/private
alice                                   ${"b".repeat(64)}    /home/u/.docker/trust/private
targets    ...1:5000/exp32026x/hello    ${"1".repeat(64)}    /home/u/.docker/trust/private

`;

test("notary delegation list and key list: the delegations' key IDs, the trust directory's key IDs", () => {
  assert.equal(parseDelegationList(DELEGATION_LIST), new Map([["targets/ci", ["c".repeat(64)]], ["targets/releases", ["a".repeat(64), "b".repeat(64)]]]));
  assert.equal(parseDelegationList("\nNo delegations present in this repository.\n\n"), new Map());
  assert.equal(parseKeyList(KEY_LIST), new Set(["0".repeat(64), "b".repeat(64), "1".repeat(64)]));
});

test("notary with a delegation: prepare checks it and the key, addhash --roles, the passphrase only in the environment", async () => {
  const calls: { argv: string[]; env: Record<string, string> }[] = [];
  let delegations = DELEGATION_LIST;
  const fakeNotary: Shell = {
    name: "zx",
    async exec(argv: readonly string[], options: ExecOptions = {}) {
      calls.push({ argv: [...argv], env: options.env ?? {} });
      const sub = argv[5];
      if (sub === "delegation") return { code: 0, stdout: delegations, stderr: "" };
      if (sub === "key") return { code: 0, stdout: KEY_LIST, stderr: "" };
      if (sub === "list") return { code: 0, stdout: `NAME DIGEST SIZE ROLE\nh1 ${"d".repeat(64)} 42 targets/releases\nh2 ${"e".repeat(64)} 42 targets/releases/ci\nh3 ${"f".repeat(64)} 42 targets\n`, stderr: "" };
      return { code: 0, stdout: "", stderr: "" };
    },
  };
  const secret = "delegation-pass-9f3";
  const signer = notarySigner({ server: "https://notary.example", trustDir: "/t", role: "targets/releases", passphrase: () => secret }, { shell: fakeNotary });
  await signer.prepare("127.0.0.1:5000/x/app");
  // Global flags first: no CA for notary.example under $DOCKER_CONFIG/tls, so no --tlscacert.
  for (const c of calls) assert.equal(c.argv.slice(0, 5), ["notary", "-s", "https://notary.example", "-d", "/t"]);
  assert.equal(calls.map((c) => c.argv.slice(5)), [
    ["list", "127.0.0.1:5000/x/app", "--roles", "targets/releases"],
    ["delegation", "list", "127.0.0.1:5000/x/app"],
    ["key", "list"],
  ]);
  calls.length = 0;
  await signer.sign({ repository: "127.0.0.1:5000/x/app", tags: ["h1"], digest: `sha256:${"d".repeat(64)}`, size: 42, mediaType: "application/vnd.oci.image.index.v1+json" });
  assert.equal(calls.map((c) => c.argv.slice(5)), [
    ["addhash", "127.0.0.1:5000/x/app", "h1", "42", "--sha256", "d".repeat(64), "--roles", "targets/releases"],
    ["publish", "127.0.0.1:5000/x/app"],
  ]);
  for (const c of calls) {
    assert.is(c.env.NOTARY_DELEGATION_PASSPHRASE, secret);
    assert.not.ok(c.argv.some((a) => a.includes(secret)), "never in argv");
  }
  // verify: only targets of the role itself count (not targets/releases/ci, not targets).
  const v = (tag: string, hex: string) => signer.verify({ repository: "127.0.0.1:5000/x/app", tags: [tag], digest: `sha256:${hex.repeat(64)}`, size: 42, mediaType: "m" });
  assert.equal(await v("h1", "d"), { signer: "notary", ref: `127.0.0.1:5000/x/app:h1@sha256:${"d".repeat(64)}`, ok: true, detail: "signed target 127.0.0.1:5000/x/app:h1 in targets/releases match sha256 and size" });
  assert.match((await v("h2", "e")).detail, 'no signed target "h2" in 127.0.0.1:5000/x/app (targets/releases)');
  assert.match((await v("h3", "f")).detail, 'no signed target "h3" in 127.0.0.1:5000/x/app (targets/releases)');

  // No such delegation, or no key for it: prepare fails, saying how to set it up.
  delegations = DELEGATION_LIST.replace(/targets\/releases/g, "targets/other");
  const without = notarySigner({ server: "https://notary.example", trustDir: "/t", role: "targets/releases", passphrase: () => secret }, { shell: fakeNotary });
  try {
    await without.prepare("127.0.0.1:5000/x/app");
    assert.unreachable();
  } catch (e) {
    const m = (e as Error).message;
    assert.match(m, "127.0.0.1:5000/x/app on https://notary.example has no targets/releases delegation (it has targets/ci, targets/other)");
    assert.match(m, "`notary delegation add -p 127.0.0.1:5000/x/app targets/releases <cert.pem> --all-paths`");
    assert.match(m, "`docker trust signer add --key <cert.pem> <name> 127.0.0.1:5000/x/app`");
    assert.match(m, "Nothing was pushed.");
  }
  const noKey = notarySigner({ server: "https://notary.example", trustDir: "/t", role: "targets/ci", passphrase: () => secret }, { shell: fakeNotary });
  try {
    await noKey.prepare("127.0.0.1:5000/x/app");
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, `/t has no private key of 127.0.0.1:5000/x/app's targets/ci delegation (its key: ${"c".repeat(64)}): import it with \`notary key import <key.pem> --role <name>\``);
  }
});

test("passphrase: the environment first; else the command, run once per run (also for signers that share it), its output kept secret", async () => {
  const counter = join(dir, "runs");
  writeFileSync(counter, "");
  const cmd = { command: `echo run >> ${counter}; printf 'pass-from-command-1\\n'`, origin: "test config" };
  const env = "PKGKIT_TEST_PASSPHRASE";
  delete process.env[env];
  const get = passphrase({ env, commands: [cmd], what: "the test passphrase", shell });
  assert.is(await get(), "pass-from-command-1");
  assert.is(await get(), "pass-from-command-1");
  assert.is((await import("node:fs")).readFileSync(counter, "utf8"), "run\n", "the command ran once");
  // Another signer in the same run (other settings, same command) does not run it again.
  assert.is(await passphrase({ env, commands: [{ ...cmd, origin: "another config" }], what: "another passphrase", shell })(), "pass-from-command-1");
  assert.is((await import("node:fs")).readFileSync(counter, "utf8"), "run\n", "still once");
  assert.is(redact("x pass-from-command-1 y"), "x *** y");
  process.env[env] = "from-env-value";
  assert.is(await passphrase({ env, commands: [cmd], what: "t", shell })(), "from-env-value");
  delete process.env[env];
});

test("passphrase command that fails or prints nothing: the error names the command, not what it printed", async () => {
  const failing = passphrase({ env: "PKGKIT_TEST_UNSET", commands: [{ command: "echo secret-output-42; exit 3", origin: "/h/config.yml" }], what: "the repo passphrase", shell });
  try {
    await failing();
    assert.unreachable();
  } catch (e) {
    const m = (e as Error).message;
    assert.match(m, `the repo passphrase: the passphrase command "echo secret-output-42; exit 3" (from /h/config.yml) exited with 3`);
    assert.is(m.replace("echo secret-output-42", "").includes("secret-output-42"), false);
  }
  const empty = passphrase({ env: "PKGKIT_TEST_UNSET", commands: [{ command: "printf '\\n'", origin: "o" }], what: "p", shell });
  try {
    await empty();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, "printed nothing");
  }
  const none = passphrase({ env: "PKGKIT_TEST_UNSET", commands: [undefined], what: "the repo passphrase", shell });
  try {
    await none();
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, "set PKGKIT_TEST_UNSET, or configure a passphrase command");
  }
});

test("LinuxKit's config: pkg.content-trust-passphrase-command under ~/.moby/linuxkit/config.yml", async () => {
  const home = join(dir, "home");
  assert.is(await linuxkitPassphraseCommand(home), undefined);
  mkdirSync(join(home, ".moby/linuxkit"), { recursive: true });
  writeFileSync(join(home, ".moby/linuxkit/config.yml"), 'pkg:\n  content-trust-passphrase-command: "pass show linuxkit/dct"\n');
  assert.equal(await linuxkitPassphraseCommand(home), { command: "pass show linuxkit/dct", origin: join(home, ".moby/linuxkit/config.yml") });
});

test("a key-pair Sigstore bundle verifies with its key, on every runtime; another key, another digest or a changed statement fail", async () => {
  // Deno's node:crypto has no default digest for EC keys, which @sigstore/verify relies on for DSSE.
  const { generateKeyPairSync, sign } = await import("node:crypto");
  const { DSSEBundleBuilder } = await import("@sigstore/sign");
  const { bundleToJSON } = await import("@sigstore/bundle");
  const [signing, other] = [generateKeyPairSync("ec", { namedCurve: "P-256" }), generateKeyPairSync("ec", { namedCurve: "P-256" })];
  const publicKey = signing.publicKey.export({ type: "spki", format: "pem" }).toString();
  const builder = new DSSEBundleBuilder({
    signer: { sign: async (data: Buffer) => ({ signature: sign("sha256", data, signing.privateKey), key: { $case: "publicKey" as const, publicKey, hint: keyHint(signing.publicKey) } }) },
    witnesses: [],
    certificateChain: false,
  });
  const digest = `sha256:${"ab".repeat(32)}`;
  const bundle = bundleToJSON(await builder.create({ data: Buffer.from(signStatement("127.0.0.1:5000/x/app", digest)), type: "application/vnd.in-toto+json" }));
  const bytes = (b: unknown) => new TextEncoder().encode(JSON.stringify(b));
  assert.is(await verifyBundle(bytes(bundle), digest, { publicKey: signing.publicKey }), undefined);
  assert.match((await verifyBundle(bytes(bundle), digest, { publicKey: other.publicKey }))!, "key not found");
  assert.match((await verifyBundle(bytes(bundle), `sha256:${"cd".repeat(32)}`, { publicKey: signing.publicKey }))!, "does not name");
  const changed = { ...bundle, dsseEnvelope: { ...bundle.dsseEnvelope!, payload: Buffer.from(signStatement("127.0.0.1:5000/x/other", digest)).toString("base64") } };
  assert.match((await verifyBundle(bytes(changed), digest, { publicKey: signing.publicKey }))!, "signature verification failed");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test("signing an index another writer merged into meanwhile (stand-in registry and recording signer): the newer index is signed too while it keeps this run's entries", async () => {
  const d = (n: number) => `sha256:${String(n).padStart(64, "0")}`;
  const index = (digest: string, entries: string[]) => ({ digest, size: 300, mediaType: "application/vnd.oci.image.index.v1+json", bytes: new Uint8Array(), json: { manifests: entries.map((e) => ({ digest: e })) } });
  const signed: string[] = [];
  const signer = { name: "notary", description: "n", prepare: async () => {}, verify: async () => ({}), sign: async (t: { digest: string }) => (signed.push(t.digest), { signer: "notary", ref: "r", stored: [] }) } as unknown as Signer;
  const step = { kind: "sign", id: "r/x:t/sign", package: "r/x:t", action: "sign", signer: "notary", signerId: "notary", using: "n", ref: "r/x:t", repository: "r/x", tags: ["t"], after: "r/x:t/index", reason: "", needs: [] } as SignStep;
  const at = (...answers: ReturnType<typeof index>[]) => ({ getManifest: async () => answers.shift() }) as unknown as Registry;
  const ctx = (registry: Registry) => ({ signers: new Map([["notary", signer]]), published: () => ({ digest: d(1), size: 200, mediaType: "m" }), registry, entries: () => [d(10)] });

  // The tag still holds what this run merged: one signature.
  let out = await runSignStep(step, ctx(at(index(d(1), [d(10)]))));
  assert.equal(signed.splice(0), [d(1)]);
  assert.is(out.digest, d(1));
  // Another machine merged its arch in: that index, which still lists ours, is signed as well.
  out = await runSignStep(step, ctx(at(index(d(2), [d(10), d(11)]), index(d(2), [d(10), d(11)]))));
  assert.equal(signed.splice(0), [d(1), d(2)]);
  assert.is(out.digest, d(2));
  // An index that lost this run's entry is not ours to sign.
  out = await runSignStep(step, ctx(at(index(d(3), [d(12)]))));
  assert.equal(signed.splice(0), [d(1)]);
  assert.is(out.digest, d(1));
  // A step whose digest the plan knew (already in the registry) is signed as planned, not re-read.
  out = await runSignStep({ ...step, digest: d(5), size: 1, mediaType: "m", after: undefined }, ctx(at(index(d(6), [d(10)]))));
  assert.equal(signed.splice(0), [d(5)]);
});

test("notary publish refused because another writer published first (notary stand-in): published again, the retry line in the sign step's log", async () => {
  const publishes: number[] = [];
  const standIn: Shell = {
    name: "zx",
    async exec(argv: readonly string[]) {
      const sub = argv[5];
      if (sub === "delegation") return { code: 0, stdout: DELEGATION_LIST, stderr: "" };
      if (sub === "key") return { code: 0, stdout: KEY_LIST, stderr: "" };
      if (sub === "list") return { code: 0, stdout: "", stderr: "" };
      if (sub === "publish" && publishes.push(publishes.length + 1) === 1) return { code: 1, stdout: "", stderr: "* fatal: rejected operation: client is not up to date\n" };
      return { code: 0, stdout: "", stderr: "" };
    },
  };
  const signer = notarySigner({ server: "https://notary.example", trustDir: "/t", role: "targets/releases", passphrase: () => "p" }, { shell: standIn });
  const step = { kind: "sign", id: "x/app:h1/sign", package: "x/app:h1", action: "sign", signer: "notary", signerId: "notary", using: "n", ref: "127.0.0.1:5000/x/app:h1", repository: "127.0.0.1:5000/x/app", tags: ["h1"], digest: `sha256:${"d".repeat(64)}`, size: 42, mediaType: "m", reason: "", needs: [] } as SignStep;
  const lines: string[] = [];
  const out = await runSignStep(step, { signers: new Map([["notary", signer]]), published: () => undefined, log: (l) => lines.push(l) });
  assert.is(out.digest, `sha256:${"d".repeat(64)}`);
  assert.equal(publishes, [1, 2]);
  assert.equal(lines.map((l) => l.replace(/waiting [\d.]+s/, "waiting Ns")), ["retrying notary publish 127.0.0.1:5000/x/app (https://notary.example) (2/5) after another writer published first; waiting Ns"]);
});

test("a key pair's signer names its key by path and a public fingerprint: another key at the same path, another description; no secret in it", () => {
  const keys = mkdtempSync(join(dir, "keys-"));
  const file = join(keys, "cosign.pem");
  const pub = join(keys, "cosign.pub");
  const password = "fingerprint-pass-3";
  const registry = {} as Registry;
  const described = () => sigstoreSigner({ key: file }, { registry }).description;
  const first = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(file, first.privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(pub, first.publicKey.export({ type: "spki", format: "pem" }));
  assert.is(described(), `sigstore key ${file} (public key ${keyHint(first.publicKey)})`);
  assert.is(keyFingerprint(pub), keyFingerprint(file), "the public key file names the same key");
  writeFileSync(file, first.privateKey.export({ type: "sec1", format: "pem" }));
  assert.is(described(), `sigstore key ${file} (public key ${keyHint(first.publicKey)})`, "SEC1 or PKCS#8: the same key");

  const second = generateKeyPairSync("ec", { namedCurve: "P-256" });
  writeFileSync(file, second.privateKey.export({ type: "pkcs8", format: "pem" }));
  assert.is(described(), `sigstore key ${file} (public key ${keyHint(second.publicKey)})`, "swapped at the same path");

  // Encrypted: its public key needs the password, which planning does not ask for.
  const encrypted = (key: typeof first) => key.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: password }).toString();
  writeFileSync(file, encrypted(first));
  const locked = described();
  assert.ok(locked.startsWith(`sigstore key ${file} (encrypted file sha256 `), locked);
  assert.match(locked, /\(encrypted file sha256 [A-Za-z0-9+/]{43}=\)$/);
  writeFileSync(file, encrypted(second));
  assert.is.not(described(), locked, "another encrypted key at the same path");
  for (const secret of [password, first.privateKey.export({ type: "pkcs8", format: "pem" }).toString()]) assert.not.ok((locked + described()).includes(secret));

  // Verifying with the public key only (pkgkit.yml's sigstore.publicKey; the private key elsewhere).
  assert.is(sigstoreSigner({ key: join(keys, "absent.pem"), publicKey: pub }, { registry }).description, `sigstore key ${join(keys, "absent.pem")} (public key ${keyHint(first.publicKey)})`);
});

test("opensKey: an encrypted PKCS#8 key (PBES2: PBKDF2 + AES-CBC, as openssl and notary write them) opens with its passphrase only, checked with WebCrypto", async () => {
  const { execFileSync } = await import("node:child_process");
  const env = { ...process.env, PKGKIT_TEST_KEY_PASS: "right-pass-7" };
  const openssl = (args: string[], input?: string) => execFileSync("openssl", args, { env, input, encoding: "utf8" });
  const plain = openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
  const sha256aes256 = openssl(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "env:PKGKIT_TEST_KEY_PASS"], plain);
  const sha1aes128 = openssl(["pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1", "-passout", "env:PKGKIT_TEST_KEY_PASS"], plain);
  for (const pem of [sha256aes256, sha1aes128]) {
    assert.match(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----");
    assert.is(await opensKey(pem, "right-pass-7"), true);
    assert.is(await opensKey(pem, "wrong-pass-7"), false);
    // notary's PEM headers in the block are skipped.
    assert.is(await opensKey(pem.replace("-----\n", "-----\nrole: targets\ngun: example.com/x\n\n"), "right-pass-7"), true);
  }
  assert.is(await opensKey(plain, "right-pass-7"), undefined, "an unencrypted key cannot be checked");
});

test("cosign .att layer of a Rekor-logged attestation: the bytes the entry's envelope hash is over (dsse: the proposed envelope; intoto: Rekor's canonical form with publicKey), else an error", async () => {
  // @sigstore/sign's own proposed entries: what Rekor logs (a dsse entry keeps the hash of the proposed envelope).
  const { toProposedEntry } = (await import("@sigstore/sign/dist/witness/tlog/entry.js")) as { toProposedEntry: (c: unknown, key: string, kind: string) => any };
  const envelope = { payloadType: "application/vnd.in-toto+json", payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}'), signatures: [{ sig: Buffer.from("a signature"), keyid: "" }] };
  const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const sha256 = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");
  const entry = (kind: string, body: unknown) => ({ kindVersion: { kind, version: kind === "dsse" ? "0.0.1" : "0.0.2" }, canonicalizedBody: Buffer.from(JSON.stringify(body)) });

  const proposed = toProposedEntry({ $case: "dsseEnvelope", dsseEnvelope: envelope }, pem, "dsse").spec.proposedContent.envelope as string;
  const dsse = (hash: string) => entry("dsse", { kind: "dsse", spec: { envelopeHash: { algorithm: "sha256", value: hash } } });
  assert.is(new TextDecoder().decode(await loggedEnvelope(envelope, dsse(sha256(proposed)))), proposed);

  const intotoBody = toProposedEntry({ $case: "dsseEnvelope", dsseEnvelope: envelope }, pem, "intoto");
  const intoto = await loggedEnvelope(envelope, entry("intoto", intotoBody));
  assert.is(sha256(intoto), intotoBody.spec.content.hash.value);
  assert.equal(JSON.parse(new TextDecoder().decode(intoto)), { payload: envelope.payload.toString("base64"), payloadType: envelope.payloadType, signatures: [{ publicKey: pem, sig: envelope.signatures[0]!.sig.toString("base64") }] });

  await loggedEnvelope(envelope, dsse("00".repeat(32))).then(() => assert.unreachable("a hash that is not the envelope's"), (e: Error) =>
    assert.is(e.message, `sigstore: the Rekor dsse 0.0.1 entry logged envelope hash ${"00".repeat(32)}, not ${sha256(proposed)}, the SHA-256 of the envelope for the .att image; cosign verify-attestation would refuse it`));
  await loggedEnvelope(envelope, { kindVersion: { kind: "hashedrekord", version: "0.0.1" }, canonicalizedBody: Buffer.from("{}") }).then(() => assert.unreachable("another kind"), (e: Error) =>
    assert.match(e.message, "Rekor recorded the attestation as a hashedrekord 0.0.1 entry; cosign's .att image needs a dsse 0.0.1 or intoto 0.0.2 entry"));
});

test.run();
