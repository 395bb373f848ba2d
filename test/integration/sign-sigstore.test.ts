// Sigstore signing, checked by verifiers pkgkit did not write: stock cosign 2.5 (Debian 13's,
// installed by test/env/install.sh) for key-pair signatures, and @sigstore/verify for the bundles
// read back from the registry. Keyless signing goes through a local stand-in for Fulcio, Rekor and
// a TSA built from @sigstore/mock's handlers (not the public-good services).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, must, pkgkit, ROOT, sh, shAsync } from "../helpers.ts";
import { services } from "../services.ts";
import { identityToken, IDENTITY, ISSUER, keylessConfig, startSigstoreStandIn } from "../sigstore-stand-in.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Registry } from "../../lib/registry/types.ts";

const svc = services();
const RUN = `s${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-sigstore-"));
const COSIGN = process.env.COSIGN ?? "cosign";
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const printed: string[] = [];

const creds = { username: svc.username, password: svc.password };
const DOCKER_CONFIG = join(TMP, "docker-config");
must(["mkdir", "-p", DOCKER_CONFIG]);
writeFileSync(join(DOCKER_CONFIG, "config.json"), JSON.stringify({ auths: { [svc.registries.tls]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") } } }));
const client: Registry = createRegistry({ dockerConfigDir: DOCKER_CONFIG, certsDirs: [svc.certsDir] });
const env = { DOCKER_CONFIG, PKGKIT_CERTS_DIR: svc.certsDir, PKGKIT_CONFIG: "" };

/** Runs the bin without blocking the event loop (the keyless stand-in answers from this process). */
async function pkgkitAsync(args: string[], e: Record<string, string> = {}) {
  const r = await shAsync([process.execPath, BIN, ...args], ROOT, { ...env, ...e });
  printed.push(r.stdout, r.stderr);
  return r;
}

/** The index and per-arch digests in the registry. */
async function digests(repo: string): Promise<{ ref: string; digest: string; size: number; mediaType: string }[]> {
  const index = (await client.getManifest(repo, TAG))!;
  return [
    { ref: `${repo}:${TAG}`, digest: index.digest, size: index.size, mediaType: index.mediaType },
    ...index.json.manifests!.map((d) => ({ ref: `${repo}:${TAG}-${d.platform!.architecture}`, digest: d.digest, size: d.size, mediaType: d.mediaType })),
  ];
}

/** The Sigstore bundles referring to `digest`, read through the referrers tag fallback, as a client without pkgkit would. */
async function referrerBundles(repo: string, digest: string): Promise<unknown[]> {
  const index = await client.getManifest(repo, `sha256-${digest.slice(7)}`);
  assert.ok(index, `referrers tag sha256-${digest.slice(7)} exists`);
  assert.is(index!.mediaType, "application/vnd.oci.image.index.v1+json");
  const out: unknown[] = [];
  for (const d of index!.json.manifests!) {
    assert.is((d as { artifactType?: string }).artifactType, "application/vnd.dev.sigstore.bundle.v0.3+json");
    const m = (await client.getManifest(repo, d.digest))!;
    assert.is((m.json.subject as { digest: string }).digest, digest, "the referrer's subject is the signed digest");
    out.push(JSON.parse(Buffer.from(await client.getBlob(repo, m.json.layers![0]!.digest)).toString("utf8")));
  }
  return out;
}

function statementOf(bundle: { dsseEnvelope: { payload: string; payloadType: string } }) {
  assert.is(bundle.dsseEnvelope.payloadType, "application/vnd.in-toto+json");
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as { predicateType: string; subject: { digest: { sha256: string } }[] };
}

// ---------------------------------------------------------------- key pair

const KEY_PASSWORD = `pw-${randomBytes(9).toString("hex")}`;
function keyPair(name: string): { key: string; pub: string } {
  const key = join(TMP, `${name}.pem`);
  const pub = join(TMP, `${name}.pub`);
  must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", key], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
  must(["openssl", "pkey", "-in", key, "-passin", "env:COSIGN_PASSWORD", "-pubout", "-out", pub], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
  return { key, pub };
}
const signing = keyPair("signing");
const other = keyPair("other");
const cosignVerify = (pub: string, ref: string) =>
  sh([COSIGN, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--registry-cacert", svc.ca, ref], undefined, { DOCKER_CONFIG });

test("key pair (encrypted PEM, password from COSIGN_PASSWORD): stock cosign verify passes for the index and each arch, another key fails", async () => {
  const org = `${svc.registries.tls}/${RUN}-key`;
  const repo = `${org}/hello`;
  const r = await pkgkitAsync(["push", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "3 signed");
  const all = await digests(repo);
  assert.is(all.length, 3);
  for (const d of all) {
    const ok = cosignVerify(signing.pub, `${repo}@${d.digest}`);
    assert.is(ok.code, 0, `cosign verify ${d.ref}: ${ok.stderr}`);
    const claims = JSON.parse(ok.stdout) as { critical: { image: { "docker-manifest-digest": string }; identity: { "docker-reference": string } } }[];
    assert.is(claims[0]!.critical.image["docker-manifest-digest"], d.digest);
    assert.is(claims[0]!.critical.identity["docker-reference"], repo);
    assert.match(ok.stderr, "The signatures were verified against the specified public key");
    const bad = cosignVerify(other.pub, `${repo}@${d.digest}`);
    assert.is.not(bad.code, 0, `cosign verify ${d.ref} with another key must fail`);
    assert.match(bad.stderr, /no matching signatures|invalid signature/i);
  }
});

test("key pair: the bundle referrer read back from the registry verifies with @sigstore/verify for the key, and names the digest", async () => {
  const { bundleFromJSON } = await import("@sigstore/bundle");
  const { Verifier, toSignedEntity, toTrustMaterial } = await import("@sigstore/verify");
  const { TrustedRoot, PublicKeyDetails } = await import("@sigstore/protobuf-specs");
  const { createPublicKey } = await import("node:crypto");
  const { readFileSync } = await import("node:fs");
  const repo = `${svc.registries.tls}/${RUN}-key/hello`;
  const trustFor = (pubFile: string) => {
    const pub = createPublicKey(readFileSync(pubFile, "utf8"));
    const der = pub.export({ type: "spki", format: "der" });
    const hint = createHash("sha256").update(der).digest("base64");
    const empty = TrustedRoot.fromJSON({ mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1", tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] });
    return new Verifier(toTrustMaterial(empty, { [hint]: { rawBytes: der, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256 } }), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  };
  for (const d of await digests(repo)) {
    const bundles = await referrerBundles(repo, d.digest);
    assert.is(bundles.length, 1);
    const json = bundles[0] as { mediaType: string; dsseEnvelope: { payload: string; payloadType: string } };
    assert.is(json.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
    const statement = statementOf(json);
    assert.is(statement.predicateType, "https://sigstore.dev/cosign/sign/v1");
    assert.is(`sha256:${statement.subject[0]!.digest.sha256}`, d.digest);
    trustFor(signing.pub).verify(toSignedEntity(bundleFromJSON(json)));
    assert.throws(() => trustFor(other.pub).verify(toSignedEntity(bundleFromJSON(json))), /key not found/);
  }
});

test("pkgkit verify: ok with the public key; with another key it fails and names each ref", async () => {
  const org = `${svc.registries.tls}/${RUN}-key`;
  const ok = await pkgkitAsync(["verify", "--key", signing.pub, "--org", org, HELLO]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, `ok    ${org}/hello:${TAG}@sha256:`);
  const bad = await pkgkitAsync(["verify", "--key", other.pub, "--org", org, HELLO]);
  assert.is(bad.code, 1);
  for (const suffix of ["", "-amd64", "-arm64"]) assert.match(bad.stdout, `FAIL  ${org}/hello:${TAG}${suffix}@sha256:`);
  assert.match(bad.stderr, "3 of 3 not signed as configured");
});

test("a wrong key password stops the push before anything is pushed", async () => {
  const org = `${svc.registries.tls}/${RUN}-badpw`;
  const r = await pkgkitAsync(["push", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: "not-the-password" });
  assert.is(r.code, 1);
  assert.match(r.stderr, `signing key ${signing.key}: cannot read it as a PEM private key (wrong password in $COSIGN_PASSWORD?)`);
  assert.equal(await client.listTags(`${org}/hello`).catch(() => []), []);
});

// ---------------------------------------------------------------- keyless through a local stand-in

const TOKEN = identityToken();

test("keyless via a local stand-in for Fulcio, Rekor and TSA (@sigstore/mock handlers): the bundles verify with @sigstore/verify for the identity and issuer; a wrong identity fails", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    const config = keylessConfig(standIn, TMP);
    const org = `${svc.registries.plain}/${RUN}-keyless`;
    const repo = `${org}/hello`;
    const planned = await pkgkitAsync(["plan", "--push", "--org", org, HELLO], { PKGKIT_CONFIG: config });
    assert.match(planned.stdout, `  sign   prepare sigstore keyless (fulcio ${standIn.url}, rekor ${standIn.url}, tsa ${standIn.url}) for ${repo}`);
    const r = await pkgkitAsync(["push", "--org", org, HELLO], { PKGKIT_CONFIG: config, SIGSTORE_ID_TOKEN: TOKEN });
    assert.is(r.code, 0, r.stderr);

    const { bundleFromJSON } = await import("@sigstore/bundle");
    const { Verifier, toSignedEntity, toTrustMaterial } = await import("@sigstore/verify");
    const { TrustedRoot } = await import("@sigstore/protobuf-specs");
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(standIn.trustedRoot)), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    for (const d of await digests(repo)) {
      const [json] = (await referrerBundles(repo, d.digest)) as { dsseEnvelope: { payload: string; payloadType: string } }[];
      assert.is(`sha256:${statementOf(json!).subject[0]!.digest.sha256}`, d.digest);
      const bundle = bundleFromJSON(json);
      assert.equal(bundle.verificationMaterial.tlogEntries.map((e) => e.kindVersion?.kind), ["dsse"], "recorded in Rekor as a dsse entry (the default)");
      const signer = verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } });
      assert.is(signer.identity?.subjectAlternativeName, IDENTITY);
      assert.throws(() => verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: "https://github.com/someone/else", extensions: { issuer: ISSUER } }), /identity|subject|SAN/i);
      assert.throws(() => verifier.verify(toSignedEntity(bundle), { subjectAlternativeName: IDENTITY, extensions: { issuer: "https://other-issuer.test" } }), /issuer|extension/i);
      // The cosign signature layer carries the Fulcio certificate too.
      const sig = (await client.getManifest(repo, `sha256-${d.digest.slice(7)}.sig`))!;
      assert.match(sig.json.layers![0]!.annotations!["dev.sigstore.cosign/certificate"]!, "-----BEGIN CERTIFICATE-----");
    }

    const ok = await pkgkitAsync(["verify", "--org", org, HELLO], { PKGKIT_CONFIG: config });
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, `verifies for ${IDENTITY} (${ISSUER})`);
    const wrong = join(TMP, "wrong-identity.yml");
    writeFileSync(wrong, (await import("node:fs")).readFileSync(config, "utf8").replace(IDENTITY, "https://github.com/someone/else"));
    const bad = await pkgkitAsync(["verify", "--org", org, HELLO], { PKGKIT_CONFIG: wrong });
    assert.is(bad.code, 1);
    assert.match(bad.stdout, `FAIL  ${repo}:${TAG}@sha256:`);
    assert.match(bad.stderr, "3 of 3 not signed as configured");
  } finally {
    standIn.server.close();
  }
});

test("keyless without an identity token stops before anything is pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-notoken`;
  const r = await pkgkitAsync(["push", "--keyless", "--org", org, HELLO], { SIGSTORE_ID_TOKEN: "" });
  assert.is(r.code, 1);
  assert.match(r.stderr, "keyless signing needs an OIDC identity token: set SIGSTORE_ID_TOKEN");
  assert.equal(await client.listTags(`${org}/hello`).catch(() => []), []);
});

test("no key password or identity token appears in anything pkgkit printed (plans, logs, errors)", async () => {
  const org = `${svc.registries.tls}/${RUN}-key`;
  const planned = await pkgkitAsync(["plan", "--push", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(planned.code, 0, planned.stderr);
  const forced = await pkgkitAsync(["push", "--verbose", "--force", "--arches", "amd64", "--json", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(forced.code, 0, forced.stderr);
  const all = printed.join("\n");
  assert.ok(all.length > 1000, "captured the runs' output");
  assert.not.match(all, KEY_PASSWORD);
  assert.not.match(all, TOKEN);
  assert.not.match(all, TOKEN.split(".")[1]!, "not even the token's claims part");
});

test.run();
