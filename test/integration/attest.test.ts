// Attestations (SPDX SBOM, SLSA provenance) attached by `pkgkit push`, checked by verifiers pkgkit did
// not write: stock cosign 2.5 `verify-attestation` (the .att image, and the Sigstore bundle
// referrers with --new-bundle-format; keyless: the .att image, with the stand-in's keys) and
// @sigstore/verify for keyless bundles made through the local stand-in for Fulcio, Rekor and a TSA.
// Real engine, real TLS registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, must, pkgkit, ROOT, sh, shAsync } from "../helpers.ts";
import { loggedInDockerConfig, services } from "../services.ts";
import { cosignTrust, identityToken, IDENTITY, ISSUER, keylessConfig, startSigstoreStandIn } from "../sigstore-stand-in.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Registry } from "../../lib/registry/types.ts";

const svc = services();
const RUN = `a${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-attest-"));
const COSIGN = process.env.COSIGN ?? "cosign";
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const SPDX = "https://spdx.dev/Document";
const SLSA = "https://slsa.dev/provenance/v1";

const DOCKER_CONFIG = loggedInDockerConfig(join(TMP, "docker-config"));
const client: Registry = createRegistry({ dockerConfigDir: DOCKER_CONFIG, certsDirs: [svc.certsDir] });
const env = { DOCKER_CONFIG, PKGKIT_CERTS_DIR: svc.certsDir, PKGKIT_CONFIG: "" };
const KEY_PASSWORD = `pw-${randomBytes(9).toString("hex")}`;

async function pkgkitAsync(args: string[], e: Record<string, string> = {}) {
  return shAsync([process.execPath, BIN, ...args], ROOT, { ...env, ...e });
}

function keyPair(name: string): { key: string; pub: string } {
  const key = join(TMP, `${name}.pem`);
  const pub = join(TMP, `${name}.pub`);
  must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", key], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
  must(["openssl", "pkey", "-in", key, "-passin", "env:COSIGN_PASSWORD", "-pubout", "-out", pub], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
  return { key, pub };
}

/** Each arch's image in the index: arch → digest. */
async function archDigests(repo: string): Promise<Record<string, string>> {
  const index = (await client.getManifest(repo, TAG))!;
  return Object.fromEntries(index.json.manifests!.filter((d) => d.platform?.os === "linux").map((d) => [d.platform!.architecture, d.digest]));
}

const EMPTY_ROOT = join(TMP, "empty-trusted-root.json");
writeFileSync(EMPTY_ROOT, JSON.stringify({ mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }));
/** Stock cosign verify-attestation with a public key (no transparency log, as key pairs never use one). */
const cosignAttestation = (type: string, pub: string, ref: string, newBundle = false) =>
  sh([COSIGN, "verify-attestation", "--type", type, "--key", pub, "--insecure-ignore-tlog=true", "--registry-cacert", svc.ca, ...(newBundle ? ["--new-bundle-format", "--trusted-root", EMPTY_ROOT] : []), ref], undefined, { DOCKER_CONFIG });

/** The statement in cosign's output (one JSON envelope a line). */
const statementsOf = (stdout: string) =>
  stdout.trim().split("\n").map((l) => JSON.parse(Buffer.from((JSON.parse(l) as { payload: string }).payload, "base64").toString("utf8")) as { subject: { name: string; digest: { sha256: string } }[]; predicateType: string; predicate: Record<string, any> });

test("key pair: push attaches an SPDX SBOM and a SLSA provenance to each arch image; stock cosign verify-attestation passes for both types on both arches (.att and new bundle format), fails with another key; a re-run attaches nothing; pkgkit verify passes, and fails once an attestation layer is tampered with, until a push attaches it again", async () => {
  const signing = keyPair("signing");
  const other = keyPair("other");
  const org = `${svc.registries.tls}/${RUN}-key`;
  const repo = `${org}/hello`;
  const e = { COSIGN_PASSWORD: KEY_PASSWORD };
  const planned = await pkgkitAsync(["plan", "--push", "--key", signing.key, "--org", org, HELLO], e);
  assert.is(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, `  attest ${repo}:${TAG}-amd64@<digest of the push> (SPDX SBOM, SLSA provenance) with sigstore  image written by this run`);
  const pushed = await pkgkitAsync(["push", "--key", signing.key, "--org", org, HELLO], e);
  assert.is(pushed.code, 0, pushed.stderr);
  const digests = await archDigests(repo);
  assert.equal(Object.keys(digests).sort(), ["amd64", "arm64"]);

  for (const [arch, digest] of Object.entries(digests)) {
    const ref = `${repo}@${digest}`;
    // The registry read back: the .att image with a DSSE layer per type, and a bundle referrer per type.
    const att = (await client.getManifest(repo, `sha256-${digest.slice(7)}.att`))!;
    assert.is(att.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(att.json.layers!.map((l) => [l.mediaType, l.annotations!.predicateType]), [["application/vnd.dsse.envelope.v1+json", SPDX], ["application/vnd.dsse.envelope.v1+json", SLSA]]);
    const referrers = (await client.getManifest(repo, `sha256-${digest.slice(7)}`))!;
    const types = referrers.json.manifests!.map((d) => d.annotations!["dev.sigstore.bundle.predicateType"]);
    for (const t of [SPDX, SLSA, "https://sigstore.dev/cosign/sign/v1"]) assert.ok(types.includes(t), `${arch}: a bundle referrer for ${t}`);

    for (const [type, predicateType] of [["spdxjson", SPDX], ["slsaprovenance1", SLSA]] as const) {
      const ok = cosignAttestation(type, signing.pub, ref);
      assert.is(ok.code, 0, `cosign verify-attestation --type ${type} ${arch}: ${ok.stderr}`);
      const [statement] = statementsOf(ok.stdout);
      assert.is(statement!.predicateType, predicateType);
      assert.equal(statement!.subject, [{ name: repo, digest: { sha256: digest.slice(7) } }]);
      if (type === "spdxjson") assert.ok(JSON.stringify(statement!.predicate).includes("/bin/busybox"), "the SBOM lists /bin/busybox");
      else {
        assert.is(statement!.predicate.buildDefinition.externalParameters.arch, arch);
        // FROM scratch and its own stages only: the git source is the one dependency.
        assert.is(statement!.predicate.buildDefinition.resolvedDependencies.length, 1);
        const { startedOn, finishedOn } = statement!.predicate.runDetails.metadata;
        assert.ok(Date.parse(startedOn) <= Date.parse(finishedOn) && Date.parse(finishedOn) <= Date.now(), `${arch}: this run's build times ${startedOn} .. ${finishedOn}`);
      }
      const bad = cosignAttestation(type, other.pub, ref);
      assert.is.not(bad.code, 0, `cosign verify-attestation --type ${type} with another key must fail (${arch})`);
    }
    const bundled = cosignAttestation("slsaprovenance1", signing.pub, ref, true);
    assert.is(bundled.code, 0, `cosign verify-attestation --new-bundle-format ${arch}: ${bundled.stderr}`);
    assert.is.not(cosignAttestation("slsaprovenance1", other.pub, ref, true).code, 0, "new bundle format, another key");
  }

  // A re-run: the attestations are read back and verify, so nothing is attached again.
  const atts = async () => Promise.all(Object.values(digests).map(async (d) => (await client.getManifest(repo, `sha256-${d.slice(7)}.att`))!.digest));
  const before = await atts();
  const again = await pkgkitAsync(["push", "--json", "--key", signing.key, "--org", org, HELLO], e);
  assert.is(again.code, 0, again.stderr);
  const plan = (JSON.parse(again.stdout) as { plan: { steps: { kind: string }[]; observed: { attestations?: Record<string, string | null> } } }).plan;
  assert.not.ok(plan.steps.some((s) => s.kind === "attest"), "a re-run plans no attest step");
  assert.equal(Object.values(plan.observed.attestations ?? {}).filter((v) => v === null), [], "every attestation looked up verifies");
  assert.is(Object.keys(plan.observed.attestations ?? {}).length, 2);
  assert.equal(await atts(), before, "the .att images are as they were");

  const verified = await pkgkitAsync(["verify", "--key", signing.pub, "--org", org, HELLO]);
  assert.is(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, `ok    ${repo}:${TAG}-amd64@${digests.amd64}  [sigstore] SPDX SBOM attestation: `);
  assert.match(verified.stderr, "3 signed\n4 attestations verify");

  // Tamper with amd64's SBOM layer: another payload under the same signature.
  const att = (await client.getManifest(repo, `sha256-${digests.amd64!.slice(7)}.att`))!;
  const layer = att.json.layers![0]!;
  const envelope = JSON.parse(new TextDecoder().decode(await client.getBlob(repo, layer.digest))) as { payload: string };
  const forged = new TextEncoder().encode(JSON.stringify({ ...envelope, payload: Buffer.from(Buffer.from(envelope.payload, "base64").toString("utf8").replace("SPDX-2.3", "SPDX-2.2")).toString("base64") }));
  const forgedDigest = `sha256:${createHash("sha256").update(forged).digest("hex")}`;
  await client.uploadBlob(repo, { digest: forgedDigest, size: forged.length, data: forged });
  await client.putManifest(repo, `sha256-${digests.amd64!.slice(7)}.att`, new TextEncoder().encode(JSON.stringify({ ...att.json, layers: [{ ...layer, digest: forgedDigest, size: forged.length }, att.json.layers![1]] })), att.mediaType);
  const failed = await pkgkitAsync(["verify", "--key", signing.pub, "--org", org, HELLO]);
  assert.is(failed.code, 1, failed.stderr);
  assert.match(failed.stdout, `FAIL  ${repo}:${TAG}-amd64@${digests.amd64}  [sigstore] SPDX SBOM attestation: `);
  assert.match(failed.stderr, `3 signed\n1 of 4 attestations missing or not signed as configured: ${repo}:${TAG}-amd64 (SPDX SBOM)`);
  assert.is.not(cosignAttestation("spdxjson", signing.pub, `${repo}@${digests.amd64}`).code, 0, "cosign agrees: the tampered envelope does not verify");

  // The next push attaches amd64's again (its look-up found them not verifying), and only those.
  const repaired = await pkgkitAsync(["push", "--json", "--key", signing.key, "--org", org, HELLO], e);
  assert.is(repaired.code, 0, repaired.stderr);
  const steps = (JSON.parse(repaired.stdout) as { plan: { steps: { kind: string; ref?: string }[] } }).plan.steps.filter((s) => s.kind === "attest");
  assert.equal(steps.map((s) => s.ref), [`${repo}:${TAG}-amd64`]);
  const fixed = await pkgkitAsync(["verify", "--key", signing.pub, "--org", org, HELLO]);
  assert.is(fixed.code, 0, fixed.stdout + fixed.stderr);
});

test("off: --sbom-scanner false plans no attest step (attest: false in the package: test/unit/attest.test.ts)", async () => {
  const signing = keyPair("off");
  const off = await pkgkitAsync(["plan", "--push", "--sbom-scanner", "false", "--key", signing.key, "--org", `${svc.registries.tls}/${RUN}-off`, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(off.code, 0, off.stderr);
  assert.match(off.stdout, "  sign   ");
  assert.not.match(off.stdout, /^ {2}attest /m);
  assert.not.match(off.stdout, /to attest/);
});

test("keyless via the local stand-in for Fulcio, Rekor and TSA: stock cosign verify-attestation passes for both types on both arches for the identity and issuer (Rekor dsse entries; intoto entries too), fails for another identity; the bundles verify with @sigstore/verify; pkgkit verify passes", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    const config = keylessConfig(standIn, TMP);
    const trust = cosignTrust(standIn, TMP);
    /** Stock cosign verify-attestation, keyless: the certificate's identity and issuer, the Rekor entry and the RFC 3161 timestamp checked against the stand-in's keys. */
    const cosignKeyless = (type: string, identity: string, ref: string) =>
      sh([COSIGN, "verify-attestation", "--type", type, "--certificate-identity", identity, "--certificate-oidc-issuer", ISSUER, ...trust.args, "--registry-cacert", svc.ca, ref], undefined, { DOCKER_CONFIG, ...trust.env });
    const org = `${svc.registries.tls}/${RUN}-keyless`;
    const repo = `${org}/hello`;
    const r = await pkgkitAsync(["push", "--org", org, HELLO], { PKGKIT_CONFIG: config, SIGSTORE_ID_TOKEN: identityToken() });
    assert.is(r.code, 0, r.stderr);
    const digests = await archDigests(repo);
    assert.equal(Object.keys(digests).sort(), ["amd64", "arm64"]);
    const { bundleFromJSON } = await import("@sigstore/bundle");
    const { Verifier, toSignedEntity, toTrustMaterial } = await import("@sigstore/verify");
    const { TrustedRoot } = await import("@sigstore/protobuf-specs");
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(standIn.trustedRoot)), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    for (const [arch, digest] of Object.entries(digests)) {
      const att = (await client.getManifest(repo, `sha256-${digest.slice(7)}.att`))!;
      for (const l of att.json.layers!) {
        assert.match(l.annotations!["dev.sigstore.cosign/certificate"]!, "-----BEGIN CERTIFICATE-----");
        const logged = JSON.parse(l.annotations!["dev.sigstore.cosign/bundle"]!) as { Payload: { body: string } };
        assert.is((JSON.parse(Buffer.from(logged.Payload.body, "base64").toString("utf8")) as { kind: string }).kind, "dsse", "the Rekor entry, as cosign keeps it: a dsse entry (the default)");
      }
      for (const [type, predicateType] of [["spdxjson", SPDX], ["slsaprovenance1", SLSA]] as const) {
        const ok = cosignKeyless(type, IDENTITY, `${repo}@${digest}`);
        assert.is(ok.code, 0, `cosign verify-attestation --type ${type} keyless ${arch}: ${ok.stderr}`);
        assert.equal(statementsOf(ok.stdout).map((s) => [s.predicateType, s.subject[0]!.digest.sha256]), [[predicateType, digest.slice(7)]]);
        const other = cosignKeyless(type, "https://github.com/someone/else", `${repo}@${digest}`);
        assert.is.not(other.code, 0, `cosign verify-attestation --type ${type} for another identity must fail (${arch})`);
        assert.match(other.stderr, "none of the expected identities matched");
      }
      const referrers = (await client.getManifest(repo, `sha256-${digest.slice(7)}`))!;
      const attestations = referrers.json.manifests!.filter((d) => [SPDX, SLSA].includes(d.annotations!["dev.sigstore.bundle.predicateType"]!));
      assert.is(attestations.length, 2);
      for (const d of attestations) {
        const m = (await client.getManifest(repo, d.digest))!;
        const bundle = bundleFromJSON(JSON.parse(new TextDecoder().decode(await client.getBlob(repo, m.json.layers![0]!.digest))));
        assert.is(verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } }).identity?.subjectAlternativeName, IDENTITY);
        assert.throws(() => verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: "https://github.com/someone/else", extensions: { issuer: ISSUER } }));
      }
    }
    const ok = await pkgkitAsync(["verify", "--org", org, HELLO], { PKGKIT_CONFIG: config });
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, "SLSA provenance attestation: attestation sha256:");

    // Rekor intoto (0.0.2) entries: the .att layer is the envelope in the form that entry's hash is over.
    const intotoOrg = `${svc.registries.tls}/${RUN}-keyless-intoto`;
    const intoto = await pkgkitAsync(["push", "--arches", "amd64", "--org", intotoOrg, HELLO], { PKGKIT_CONFIG: keylessConfig(standIn, TMP, "intoto"), SIGSTORE_ID_TOKEN: identityToken() });
    assert.is(intoto.code, 0, intoto.stderr);
    const { amd64 } = await archDigests(`${intotoOrg}/hello`);
    const layer = (await client.getManifest(`${intotoOrg}/hello`, `sha256-${amd64!.slice(7)}.att`))!.json.layers![0]!;
    const logged = JSON.parse(layer.annotations!["dev.sigstore.cosign/bundle"]!) as { Payload: { body: string } };
    assert.is((JSON.parse(Buffer.from(logged.Payload.body, "base64").toString("utf8")) as { kind: string }).kind, "intoto");
    const viaIntoto = cosignKeyless("spdxjson", IDENTITY, `${intotoOrg}/hello@${amd64}`);
    assert.is(viaIntoto.code, 0, `cosign verify-attestation, Rekor intoto entry: ${viaIntoto.stderr}`);
    assert.is.not(cosignKeyless("spdxjson", "https://github.com/someone/else", `${intotoOrg}/hello@${amd64}`).code, 0, "intoto entry, another identity");
  } finally {
    standIn.server.close();
  }
});

test.run();
