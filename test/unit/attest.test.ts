// Attestations, without services: in-toto statements, DSSE's PAE and envelopes, cosign's `.att`
// image (appending, never replacing others' layers), and attaching + verifying with a Sigstore key
// pair and a Notary stand-in signer in the in-memory registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envelopeStatement, envelopeVerifies, inTotoStatement, pae, parseEnvelope, unsignedEnvelope, type DsseEnvelope } from "../../lib/attest/statement.ts";
import { attachAttestation, attestationLayers, attestationTag } from "../../lib/attest/oci.ts";
import { attachAttestations, verifyAttestations } from "../../lib/attest/attach.ts";
import { baseImageRefs } from "../../lib/attest/base-images.ts";
import { createMemoryRegistry } from "../../lib/registry/memory.ts";
import { sigstoreSigner } from "../../lib/sign/sigstore.ts";
import { attachBundle } from "../../lib/sign/oci.ts";
import type { Signer, SignTarget } from "../../lib/sign/types.ts";
import { MediaTypes, type Descriptor, type Registry } from "../../lib/registry/types.ts";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan, type PlanOptions } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import { parsePlanFile } from "../../lib/apply.ts";
import { observedChanges, stepDifferences } from "../../lib/apply.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { run } from "../../lib/run.ts";
import { sha256 } from "../../lib/registry/digest.ts";
import { planOptionsWithSigning, resolveSigning } from "../../recipes/sign.ts";

const dir = mkdtempSync(join(tmpdir(), "pkgkit-attest-unit-"));
const enc = new TextEncoder();
const DIGEST = `sha256:${createHash("sha256").update("an image manifest").digest("hex")}`;
const REPO = "127.0.0.1:5000/x/app";
const IMAGE = { repository: REPO, descriptor: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: DIGEST, size: 17 } };
/** A provenance-like document of our own (the real ones are lib/attest/sbom.ts and provenance.ts). */
const PROVENANCE = { predicateType: "https://slsa.dev/provenance/v1", predicate: { buildDefinition: { buildType: "https://example.test/build" }, runDetails: {} } };
const SBOM = { predicateType: "https://spdx.dev/Document", predicate: { spdxVersion: "SPDX-2.3", packages: [] } };

function keyFile(name: string) {
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const file = join(dir, `${name}.pem`);
  writeFileSync(file, pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  return { file, ...pair };
}

test("in-toto statement v1: _type, subject {name, digest.sha256}, predicateType, predicate; a digest that is not sha256 is refused", () => {
  const s = JSON.parse(new TextDecoder().decode(inTotoStatement({ name: REPO, digest: DIGEST }, PROVENANCE)));
  assert.equal(s, { _type: "https://in-toto.io/Statement/v1", subject: [{ name: REPO, digest: { sha256: DIGEST.slice(7) } }], predicateType: PROVENANCE.predicateType, predicate: PROVENANCE.predicate });
  assert.throws(() => inTotoStatement({ name: REPO, digest: "md5:abc" }, PROVENANCE), /digest "md5:abc" is not sha256:<64 hex>/);
});

test("PAE: DSSEv1 <len> <type> <len> <body>, lengths in bytes (the DSSE spec's example)", () => {
  assert.is(new TextDecoder().decode(pae("http://example.com/HelloWorld", enc.encode("hello world"))), "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  // Multi-byte UTF-8: the length counts bytes, not characters.
  assert.is(new TextDecoder().decode(pae("t", enc.encode("é"))), "DSSEv1 1 t 2 é");
});

test("DSSE envelope: a signature over PAE verifies with its key, not over the bare payload, not with another key, not once the payload changes", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const statement = inTotoStatement({ name: REPO, digest: DIGEST }, SBOM);
  const env: DsseEnvelope = { ...unsignedEnvelope(statement), signatures: [{ keyid: "", sig: cryptoSign("sha256", pae("application/vnd.in-toto+json", statement), privateKey).toString("base64") }] };
  assert.ok(envelopeVerifies(env, publicKey));
  assert.not.ok(envelopeVerifies(env, other.publicKey));
  const bare = { ...env, signatures: [{ keyid: "", sig: cryptoSign("sha256", statement, privateKey).toString("base64") }] };
  assert.not.ok(envelopeVerifies(bare, publicKey), "a signature over the payload alone is not a DSSE signature");
  const tampered = { ...env, payload: Buffer.from(new TextDecoder().decode(statement).replace("SPDX-2.3", "SPDX-2.2")).toString("base64") };
  assert.not.ok(envelopeVerifies(tampered, publicKey));
  const parsed = envelopeStatement(parseEnvelope(enc.encode(JSON.stringify(env)))!);
  assert.is(typeof parsed === "string" ? parsed : parsed.predicateType, SBOM.predicateType);
  assert.is(envelopeStatement({ ...env, payloadType: "text/plain" }), "payload type text/plain, expected application/vnd.in-toto+json");
  assert.is(parseEnvelope(enc.encode("{}")), undefined);
});

test(".att image: cosign's layout (OCI manifest, DSSE layers with predicateType and an empty signature annotation); attaching appends to another writer's .att and keeps its layers; the same layer is not added twice", async () => {
  const registry = createMemoryRegistry();
  // Another writer's attestation (say, cosign attest --type vuln) is there first.
  const theirs = enc.encode(JSON.stringify(unsignedEnvelope(inTotoStatement({ name: REPO, digest: DIGEST }, { predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1", predicate: {} }))));
  await attachAttestation(registry, REPO, DIGEST, { envelope: theirs, annotations: { predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1" } });
  const ours = enc.encode(JSON.stringify(unsignedEnvelope(inTotoStatement({ name: REPO, digest: DIGEST }, SBOM))));
  const written = await attachAttestation(registry, REPO, DIGEST, { envelope: ours, annotations: { predicateType: SBOM.predicateType } });
  await attachAttestation(registry, REPO, DIGEST, { envelope: ours, annotations: { predicateType: SBOM.predicateType } });
  const m = (await registry.getManifest(REPO, attestationTag(DIGEST)))!;
  assert.is(attestationTag(DIGEST), `sha256-${DIGEST.slice(7)}.att`);
  assert.is(m.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assert.is(m.digest, written.digest);
  assert.equal(m.json.layers!.map((l) => [l.mediaType, l.annotations]), [
    ["application/vnd.dsse.envelope.v1+json", { "dev.cosignproject.cosign/signature": "", predicateType: "https://cosign.sigstore.dev/attestation/vuln/v1" }],
    ["application/vnd.dsse.envelope.v1+json", { "dev.cosignproject.cosign/signature": "", predicateType: SBOM.predicateType }],
  ]);
  const config = JSON.parse(new TextDecoder().decode(await registry.getBlob(REPO, m.json.config!.digest)));
  assert.equal(config.rootfs.diff_ids, m.json.layers!.map((l) => l.digest));
  assert.equal((await attestationLayers(registry, REPO, DIGEST)).layers.map((l) => new TextDecoder().decode(l.envelope)), [new TextDecoder().decode(theirs), new TextDecoder().decode(ours)]);
});

test("Sigstore key pair: both documents attach (.att envelope signed over PAE + a bundle referrer each) and verify; another key, a tampered envelope, a missing bundle fail", async () => {
  const registry = createMemoryRegistry();
  const key = keyFile("signing");
  const signer = sigstoreSigner({ key: key.file }, { registry });
  const attached = await attachAttestations(registry, signer, IMAGE, [SBOM, PROVENANCE]);
  assert.equal(attached.predicateTypes, [SBOM.predicateType, PROVENANCE.predicateType]);
  const { layers } = await attestationLayers(registry, REPO, DIGEST);
  assert.is(layers.length, 2);
  for (const l of layers) {
    const env = parseEnvelope(l.envelope)!;
    assert.ok(envelopeVerifies(env, key.publicKey), "the .att envelope verifies with the public key over PAE");
    const s = envelopeStatement(env);
    assert.ok(typeof s !== "string" && s.subject[0]!.digest.sha256 === DIGEST.slice(7));
  }
  // The bundle referrers, one per predicate type, listed in the referrers tag fallback.
  const referrers = (await registry.getManifest(REPO, `sha256-${DIGEST.slice(7)}`))!;
  assert.equal(referrers.json.manifests!.map((d) => [(d as { artifactType?: string }).artifactType, d.annotations!["dev.sigstore.bundle.predicateType"]]).sort(), [
    ["application/vnd.dev.sigstore.bundle.v0.3+json", PROVENANCE.predicateType],
    ["application/vnd.dev.sigstore.bundle.v0.3+json", SBOM.predicateType],
  ], "in any order");
  const ok = await verifyAttestations(registry, signer, IMAGE, [SBOM.predicateType, PROVENANCE.predicateType]);
  assert.equal(ok.map((c) => c.ok), [true, true], JSON.stringify(ok));

  const other = sigstoreSigner({ key: keyFile("other").file }, { registry });
  const wrong = await verifyAttestations(registry, other, IMAGE, [SBOM.predicateType]);
  assert.is(wrong[0]!.ok, false);
  assert.match(wrong[0]!.detail, "its envelope's signature does not verify with key");

  // Another image's attestation copied over is not one of this image.
  assert.is((await verifyAttestations(registry, signer, { ...IMAGE, descriptor: { ...IMAGE.descriptor, digest: `sha256:${"0".repeat(64)}` } }, [SBOM.predicateType]))[0]!.ok, false);

  // Tamper with the SBOM's envelope: same signature, another payload.
  const m = (await registry.getManifest(REPO, attestationTag(DIGEST)))!;
  const env = parseEnvelope(layers[0]!.envelope)!;
  const forged = enc.encode(JSON.stringify({ ...env, payload: Buffer.from(Buffer.from(env.payload, "base64").toString("utf8").replace("SPDX-2.3", "SPDX-9.9")).toString("base64") }));
  const forgedDigest = `sha256:${createHash("sha256").update(forged).digest("hex")}`;
  await registry.uploadBlob(REPO, { digest: forgedDigest, size: forged.length, data: forged });
  const json = { ...m.json, layers: [{ ...m.json.layers![0]!, digest: forgedDigest, size: forged.length }, m.json.layers![1]!] };
  await registry.putManifest(REPO, attestationTag(DIGEST), enc.encode(JSON.stringify(json)), m.mediaType);
  const tampered = await verifyAttestations(registry, signer, IMAGE, [SBOM.predicateType, PROVENANCE.predicateType]);
  assert.equal(tampered.map((c) => c.ok), [false, true]);
  assert.match(tampered[0]!.detail, "does not verify");
});

test("Notary: envelopes stored unsigned, the .att manifest signed as a Notary target (its tag and digest); verify reads the signer's answer for it", async () => {
  const registry = createMemoryRegistry();
  const signed: SignTarget[] = [];
  // A Notary stand-in: it records what it signs (the real one runs the notary CLI).
  const notary: Signer = {
    name: "notary", description: "notary stand-in", async prepare() {},
    async sign(t) { signed.push(t); return { signer: "notary", ref: t.repository, stored: [] }; },
    async verify(t) { const ok = signed.some((s) => s.digest === t.digest && s.tags[0] === t.tags[0]); return { ok, signer: "notary", ref: t.repository, detail: ok ? "notary target" : "no notary target" }; },
  };
  const attached = await attachAttestations(registry as Registry, notary, IMAGE, [SBOM, PROVENANCE]);
  assert.equal(signed.map((t) => [t.tags, t.digest]), [[[attestationTag(DIGEST)], attached.attestationManifest.digest]], "the .att manifest, once, after both layers");
  const m = (await registry.getManifest(REPO, attestationTag(DIGEST)))!;
  assert.is(m.digest, attached.attestationManifest.digest);
  assert.equal(m.json.layers!.map((l) => l.annotations!.predicateType), [SBOM.predicateType, PROVENANCE.predicateType]);
  for (const l of (await attestationLayers(registry, REPO, DIGEST)).layers) assert.equal(parseEnvelope(l.envelope)!.signatures, [], "unsigned: Notary signs the manifest");
  assert.equal((await verifyAttestations(registry, notary, IMAGE, [SBOM.predicateType, PROVENANCE.predicateType])).map((c) => c.ok), [true, true]);
  signed.length = 0;
  const unsigned = await verifyAttestations(registry, notary, IMAGE, [SBOM.predicateType]);
  assert.equal([unsigned[0]!.ok, unsigned[0]!.detail], [false, "no notary target"]);
});

test("base images: FROM images with build args and global ARG defaults put in; scratch and earlier stages left out; each once", () => {
  const dockerfile = [
    "# syntax note",
    "ARG BASE=example.org/base:1",
    "ARG TARGETARCH",
    "FROM scratch AS base-amd64",
    "FROM ${BASE} AS build",
    "ARG INNER=ignored",
    "FROM --platform=linux/amd64 base-${TARGETARCH}",
    "FROM build",
    "from \\",
    "  example.org/tools@sha256:" + "a".repeat(64) + " as tools",
    "FROM ${BASE}",
  ].join("\n");
  assert.equal(baseImageRefs(dockerfile, { TARGETARCH: "amd64" }), ["example.org/base:1", "example.org/tools@sha256:" + "a".repeat(64)]);
  assert.equal(baseImageRefs(dockerfile, { TARGETARCH: "amd64", BASE: "127.0.0.1:5000/org/base:h1-amd64" })[0], "127.0.0.1:5000/org/base:h1-amd64", "a build arg wins over the ARG default");
});

test("a signature's and attestations' bundles attached at once to one image, each read slowly: the referrers tag lists every one (their updates take turns)", async () => {
  // Every read of the referrers tag takes a while, so that unserialised read-modify-writes would overlap.
  const registry = createMemoryRegistry((c) => (c.method === "getManifest" && c.reference === `sha256-${DIGEST.slice(7)}` ? { delayAfterMs: 20 } : undefined));
  const bundles = Array.from({ length: 5 }, (_, i) => enc.encode(JSON.stringify({ n: i })));
  await Promise.all(bundles.map((b, i) => attachBundle(registry, REPO, IMAGE.descriptor, b, "dsse-envelope", `https://example.test/type/${i}`)));
  const index = (await registry.getManifest(REPO, `sha256-${DIGEST.slice(7)}`))!;
  assert.equal(index.json.manifests!.map((d) => d.annotations!["dev.sigstore.bundle.predicateType"]).sort(), bundles.map((_, i) => `https://example.test/type/${i}`));
});

// ------------------------------------------------------------------ plans (memory registry)

const shell = await defaultShell();
const builder = buildxBuilder(shell);
async function pkg(spec: Record<string, unknown> = {}): Promise<Package> {
  const [p] = await resolvePackages(shell, [makeDefinition({ image: "app", org: "127.0.0.1:5000/x", arches: ["amd64", "arm64"], ...spec }, join(dir, "pkg.config.ts"))], { hash: "h1" });
  return p!;
}
const SIGSTORE = (p: Package) => new Map([[`${p.repository}:${p.tag}`, { signer: "sigstore" as const, signerId: "sigstore", using: "sigstore test" }]]);
const pushPlan = (p: Package, extra: Partial<PlanOptions> = {}) =>
  plan([p], { command: "push", builder, local: new Map(), remote: new Map(), indexes: new Map(), signing: SIGSTORE(p), ...extra });
const line = (s: { kind: string; id: string; needs: string[]; action?: string }) => `${s.kind === "sign" ? `sign:${s.action}` : s.kind} ${s.id} <- ${s.needs.join(",")}`;

test("push plan: an attest step per arch image, listed after its sign step and needing its push (the SBOM is made while it is signed), before the index and its sign; in text and JSON", async () => {
  const p = await pushPlan(await pkg());
  const r = (suffix = "") => `127.0.0.1:5000/x/app:h1${suffix}`;
  assert.equal(p.steps.map(line), [
    `sign:prepare ${r()}/sign-prepare <- `,
    `build ${r()}/amd64 <- `,
    `push ${r()}/amd64/push <- ${r()}/amd64,${r()}/sign-prepare`,
    `sign:sign ${r("-amd64")}/sign <- ${r()}/amd64/push`,
    `attest ${r("-amd64")}/attest <- ${r()}/amd64/push`,
    `build ${r()}/arm64 <- `,
    `push ${r()}/arm64/push <- ${r()}/arm64,${r()}/sign-prepare`,
    `sign:sign ${r("-arm64")}/sign <- ${r()}/arm64/push`,
    `attest ${r("-arm64")}/attest <- ${r()}/arm64/push`,
    `index ${r()}/index <- ${r()}/amd64/push,${r()}/arm64/push,${r()}/sign-prepare`,
    `sign:sign ${r()}/sign <- ${r()}/index`,
  ]);
  const attest = p.steps.find((s) => s.kind === "attest")!;
  assert.equal(attest.kind === "attest" && [attest.predicateTypes, attest.after, attest.build, attest.tag, attest.source.tree, attest.arch], [
    ["https://spdx.dev/Document", "https://slsa.dev/provenance/v1"], `${r()}/amd64/push`, `${r()}/amd64`, "h1", "h1", "amd64",
  ]);
  assert.match(formatPlan(p), /plan: push \(2 to build, 2 to push, 1 index\(es\) to write, 3 to sign, 2 to attest, 0 to skip\)/);
  assert.match(formatPlan(p), `\n  attest ${r("-amd64")}@<digest of the push> (SPDX SBOM, SLSA provenance) with sigstore  image written by this run\n`);
  const read = parsePlanFile(JSON.stringify({ ...p, observed: { registry: {}, local: {} }, inputs: { ...p.inputs, resolved: { from: dir } } }), "p.json");
  assert.equal("steps" in read && read.steps, p.steps, "read back from --json");
});

test("attest: false in the workspace turns them off for its packages; a package's own attest: true wins", async () => {
  const inWorkspace = async (spec: Record<string, unknown>) =>
    (await resolvePackages(shell, [makeDefinition({ image: "app", org: "127.0.0.1:5000/x", arches: ["amd64"], ...spec }, join(dir, "pkg.config.ts"))], { hash: "h1", workspace: { dir, file: join(dir, "pkgkit.config.ts"), attest: false } }))[0]!;
  assert.is((await inWorkspace({})).attest, false);
  assert.is((await inWorkspace({ attest: true })).attest, true);
  assert.not.ok(pushPlan(await inWorkspace({})).steps.some((s) => s.kind === "attest"));
});

test("attest steps are off with --sbom-scanner false (attestations: false), with attest: false in the package, and without a signer", async () => {
  assert.not.ok((await pushPlan(await pkg(), { attestations: false })).steps.some((s) => s.kind === "attest"));
  assert.not.ok((await pushPlan(await pkg({ attest: false }))).steps.some((s) => s.kind === "attest"));
  const unsigned = await pkg();
  assert.not.ok(plan([unsigned], { command: "push", builder, local: new Map(), remote: new Map(), indexes: new Map() }).steps.some((s) => s.kind === "attest"));
});

test("images already in the registry: an attest step (with the digest) only when the look-up found their attestations missing or not verifying; apply sees the look-up change", async () => {
  const p = await pkg({ arches: ["amd64"] });
  const d: Descriptor = { mediaType: MediaTypes.dockerManifest, digest: `sha256:${"1".repeat(64)}`, size: 9 };
  const remote = new Map([[`${p.repository}:h1-amd64`, d]]);
  const key = `${p.repository}:h1-amd64@${d.digest}`;
  const signed = new Set([key]);
  const missing = pushPlan(p, { remote, signed, attested: new Set(), observed: { registry: {}, local: {}, attestations: { [key]: null } } });
  const attest = missing.steps.filter((s) => s.kind === "attest");
  assert.equal(attest.map((s) => s.kind === "attest" && [s.digest, s.after, s.needs]), [[d.digest, undefined, [`${p.repository}:h1/sign-prepare`]]], "signed already: it waits for prepare only");
  assert.match(formatPlan(missing), `  attestations  ${key}  missing or not verifying`);
  const present = pushPlan(p, { remote, signed, attested: new Set([key]), observed: { registry: {}, local: {}, attestations: { [key]: "sigstore test" } } });
  assert.not.ok(present.steps.some((s) => s.kind === "attest" || s.id.startsWith(`${p.repository}:h1-amd64/`)), "signed and attested: nothing to do for the image");
  assert.equal(observedChanges(missing, present.observed!), [{ where: "attestations", ref: key, planned: null, now: "sigstore test", shared: false }]);
  assert.equal(stepDifferences(missing.steps, present.steps), [`${p.repository}:h1-amd64/attest: in the plan (attest), not planned now`]);
});

/** Pushes a config-only image (no layers) to the memory registry, as pushImage would. */
async function pushTinyImage(registry: Registry, repository: string, tag: string): Promise<Descriptor> {
  const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", created: "2026-01-02T03:04:05Z", rootfs: { type: "layers", diff_ids: [] } }));
  await registry.uploadBlob(repository, { digest: sha256(config), size: config.length, data: config });
  const manifest = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length }, layers: [] }));
  return { mediaType: MediaTypes.dockerManifest, digest: await registry.putManifest(repository, tag, manifest, MediaTypes.dockerManifest), size: manifest.length };
}

test("run + re-plan (memory registry, Sigstore key pair): an image in the registry without attestations gets both; planning again finds them verifying and plans no attest step", async () => {
  const registry = createMemoryRegistry();
  const p = await pkg({ arches: ["amd64"] });
  const d = await pushTinyImage(registry, p.repository, "h1-amd64");
  const signer = sigstoreSigner({ key: keyFile("run").file }, { registry });
  const signing = await resolveSigning([p], { registry, signing: { signers: { sigstore: signer }, signer: "sigstore" } });
  const lookups = async () => {
    const state = { remote: new Map([[`${p.repository}:h1-amd64`, d]]), indexes: new Map() };
    return planOptionsWithSigning([p], { command: "push", builder, local: new Map(), ...state, observed: { registry: {}, local: {} } }, signing);
  };
  const first = plan([p], await lookups());
  assert.equal(first.steps.filter((s) => s.kind === "attest").map((s) => s.kind === "attest" && s.digest), [d.digest]);
  const result = await run(first, { shell, builder, registry, signers: signing.signers });
  assert.ok(result.ok, JSON.stringify(result.steps.filter((s) => s.error)));
  const attested = result.steps.find((s) => s.kind === "attest")!.attested!;
  assert.equal(attested.predicateTypes, ["https://spdx.dev/Document", "https://slsa.dev/provenance/v1"]);
  // The provenance of an image this run did not build: its config's creation time, its sources from the plan.
  const { layers } = await attestationLayers(registry, p.repository, d.digest);
  const provenance = envelopeStatement(parseEnvelope(layers[1]!.envelope)!);
  assert.ok(typeof provenance !== "string");
  const { runDetails } = (provenance as { predicate: { runDetails: { metadata: { startedOn: string } } } }).predicate;
  assert.is(runDetails.metadata.startedOn, "2026-01-02T03:04:05Z");
  const again = await lookups();
  assert.equal(again.observed!.attestations, { [`${p.repository}:h1-amd64@${d.digest}`]: signer.description });
  assert.not.ok(plan([p], again).steps.some((s) => s.kind === "attest"), "a re-run skips attestations that exist and verify");
});

test.run();
