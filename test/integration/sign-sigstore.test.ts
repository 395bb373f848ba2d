// Sigstore signing, checked by verifiers pkgkit did not write: stock cosign 2.5 (Debian 13's,
// installed by test/env/install.sh) for key-pair signatures, and @sigstore/verify for the bundles
// read back from the registry. Keyless signing goes through a local stand-in for Fulcio, Rekor and
// a TSA built from @sigstore/mock's handlers (not the public-good services).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, BIN, must, pkgkit, ROOT, sh, shAsync } from "../helpers.ts";
import { loggedInDockerConfig, services } from "../services.ts";
import { identityToken, IDENTITY, ISSUER, keylessConfig, startSigstoreStandIn } from "../sigstore-stand-in.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import { keylessCertificates } from "../../lib/sign/keyless.ts";
import type { Registry } from "../../lib/registry/types.ts";

const svc = services();
const RUN = `s${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-sigstore-"));
const COSIGN = process.env.COSIGN ?? "cosign";
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const printed: string[] = [];

const creds = { username: svc.username, password: svc.password };
const DOCKER_CONFIG = loggedInDockerConfig(join(TMP, "docker-config"));
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

/** The signatures' Sigstore bundles referring to `digest` (not the attestations'), read through the referrers tag fallback, as a client without pkgkit would. */
async function referrerBundles(repo: string, digest: string): Promise<unknown[]> {
  const index = await client.getManifest(repo, `sha256-${digest.slice(7)}`);
  assert.ok(index, `referrers tag sha256-${digest.slice(7)} exists`);
  assert.is(index!.mediaType, "application/vnd.oci.image.index.v1+json");
  const out: unknown[] = [];
  for (const d of index!.json.manifests!) {
    assert.is((d as { artifactType?: string }).artifactType, "application/vnd.dev.sigstore.bundle.v0.3+json");
    if (d.annotations?.["dev.sigstore.bundle.predicateType"] !== "https://sigstore.dev/cosign/sign/v1") continue;
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
/** Given in place of KEY_PASSWORD by the wrong-password test: as secret as the right one. */
const WRONG_KEY_PASSWORD = `wrong-pw-${randomBytes(9).toString("hex")}`;
/** The malformed identity tokens given (and their claims parts), by name: secrets as much as a good one. */
const wrongTokens: Record<string, string> = {};
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

test("key pair: a wrong password, a file that is not a key, or none (found while planning) exits 2 before anything is pushed (registry read back)", async () => {
  const notAKey = join(TMP, "not-a-key.pem");
  writeFileSync(notAKey, "just some text, not a PEM key\n");
  const cases = [
    { key: signing.key, password: WRONG_KEY_PASSWORD, message: `signing key ${signing.key}: the password in $COSIGN_PASSWORD does not open it; set the key's password there` },
    // The --key flag is checked when the options are read (lib/pemfile.ts), before the signer's prepare.
    { key: notAKey, password: KEY_PASSWORD, message: `pkgkit: --key ${JSON.stringify(notAKey)}: not a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)`, beforeBuilding: true },
    { key: join(TMP, "missing.pem"), password: KEY_PASSWORD, message: `pkgkit: --key ${JSON.stringify(join(TMP, "missing.pem"))}: no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)`, beforeBuilding: true },
  ];
  await Promise.all(cases.map(async (c, i) => {
    const org = `${svc.registries.tls}/${RUN}-badkey${i}`;
    const r = await pkgkitAsync(["push", "--key", c.key, "--org", org, HELLO], { COSIGN_PASSWORD: c.password });
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, c.message);
    assertNoSecrets(r.stdout + r.stderr, { KEY_PASSWORD, WRONG_KEY_PASSWORD });
    if (c.beforeBuilding) assert.not.match(r.stderr, "building", "a missing key file is found while planning");
    assert.equal(await client.listTags(`${org}/hello`).catch(() => []), [], `${c.key}: nothing pushed`);
  }));
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

test("keyless without an identity token exits 2 before anything is pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-notoken`;
  const r = await pkgkitAsync(["push", "--keyless", "--org", org, HELLO], { SIGSTORE_ID_TOKEN: "" });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, "sigstore keyless: no OIDC identity token: set SIGSTORE_ID_TOKEN to a current OIDC identity token for the audience sigstore");
  assert.equal(await client.listTags(`${org}/hello`).catch(() => []), []);
});

// ------------------------------------------- keyless: nothing unsigned (the stand-in for Fulcio, Rekor and TSA)

const b64url = (o: unknown) => Buffer.from(typeof o === "string" ? o : JSON.stringify(o)).toString("base64url");
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISSUER, sub: IDENTITY, aud: "sigstore", exp: Math.floor(Date.now() / 1000) + 600, nonce: randomBytes(8).toString("hex"), ...extra });
const jwt = (payload: unknown) => `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;

/** Nothing of the package in the registry: no `<tag>-<arch>`, no index tag, no signature. */
async function nothingPushed(repo: string) {
  assert.equal(await client.listTags(repo).catch(() => []), [], `${repo}: nothing pushed`);
  assert.is(await client.getManifest(repo, TAG).catch(() => undefined), undefined);
}

test("keyless (stand-in Fulcio): a malformed identity token (not a JWT, bad base64, expired, no issuer) exits 2 after the builds with a message naming $SIGSTORE_ID_TOKEN, never the token; nothing is pushed", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    const config = keylessConfig(standIn, mkdtempSync(join(TMP, "malformed-")));
    const expiredAt = Math.floor(Date.now() / 1000) - 60;
    const cases = [
      { name: "notjwt", token: `not-a-jwt-${randomBytes(8).toString("hex")}`, problem: 'is not a JWT: expected three base64url parts separated by ".", found 1' },
      { name: "base64", token: `${b64url({ alg: "none" })}.@@${randomBytes(8).toString("hex")}@@.sig`, problem: "is not a JWT: its payload (the second part) is not base64url-encoded JSON" },
      { name: "expired", token: jwt(claims({ exp: expiredAt })), problem: `expired at ${new Date(expiredAt * 1000).toISOString()} (claim "exp")` },
      { name: "noiss", token: jwt(claims({ iss: undefined })), problem: 'has no issuer (claim "iss"), which Fulcio needs to know who vouches for the identity' },
    ];
    await Promise.all(cases.map(async (c) => {
      const org = `${svc.registries.plain}/${RUN}-token-${c.name}`;
      const r = await pkgkitAsync(["push", "--arches", "amd64", "--org", org, HELLO], { PKGKIT_CONFIG: config, SIGSTORE_ID_TOKEN: c.token });
      assert.is(r.code, 2, `${c.name}: ${r.stderr}`);
      assert.match(r.stderr, `sigstore keyless: the identity token from $SIGSTORE_ID_TOKEN ${c.problem}; set SIGSTORE_ID_TOKEN to a current OIDC identity token for the audience sigstore`);
      assert.match(r.stderr, /1 built, 0 pushed, 0 index\(es\) merged/, "prepare ran after the build");
      const secrets = { [`${c.name} token`]: c.token, [`${c.name} token's claims`]: c.token.split(".")[1] ?? c.token };
      Object.assign(wrongTokens, secrets);
      assertNoSecrets(r.stderr + r.stdout, secrets);
      assert.not.match(r.stderr, "must be of type", "no raw JS message");
      await nothingPushed(`${org}/hello`);
    }));
    assert.is(standIn.requests.fulcio, 0, "a malformed token never reaches Fulcio");
  } finally {
    standIn.server.close();
  }
});

test("keyless: Fulcio unreachable (a closed port) or refusing (stand-ins answering 500, 401) exits 1 naming the Fulcio URL; nothing is pushed", async () => {
  const [refusing500, refusing401] = await Promise.all([startSigstoreStandIn(), startSigstoreStandIn()]);
  try {
    refusing500.failing.fulcio = 500;
    refusing401.failing.fulcio = 401;
    const closed = await new Promise<number>((ok) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => ok(port));
      });
    });
    const config = (standIn: typeof refusing500, fulcio = standIn.url) => {
      const file = keylessConfig(standIn, mkdtempSync(join(TMP, "fulcio-")));
      writeFileSync(file, readFileSync(file, "utf8").replace(`fulcioURL: ${standIn.url}`, `fulcioURL: ${fulcio}`));
      return file;
    };
    const cases = [
      { name: "down", url: `http://127.0.0.1:${closed}`, config: config(refusing500, `http://127.0.0.1:${closed}`), said: "cannot reach it (ECONNREFUSED)" },
      { name: "500", url: refusing500.url, config: config(refusing500), said: "it answered HTTP 500: stand-in fulcio answers 500" },
      { name: "401", url: refusing401.url, config: config(refusing401), said: "it refused the token (HTTP 401: stand-in fulcio answers 401)" },
    ];
    await Promise.all(cases.map(async (c) => {
      const org = `${svc.registries.plain}/${RUN}-fulcio-${c.name}`;
      const r = await pkgkitAsync(["push", "--arches", "amd64", "--org", org, HELLO], { PKGKIT_CONFIG: c.config, SIGSTORE_ID_TOKEN: TOKEN });
      assert.is(r.code, 1, r.stderr);
      assert.match(r.stderr, `sigstore keyless: Fulcio at ${c.url} did not issue a signing certificate for the identity token from $SIGSTORE_ID_TOKEN: ${c.said}; check the Fulcio URL (sigstore.fulcioURL) and that Fulcio is up, then run again`);
      assert.not.match(r.stderr + r.stdout, TOKEN.split(".")[1]!);
      await nothingPushed(`${org}/hello`);
    }));
    assert.is(refusing500.requests.fulcio, 1, "the 500 stand-in was asked (no retry)");
    assert.is(refusing401.requests.fulcio, 1);
  } finally {
    refusing500.server.close();
    refusing401.server.close();
  }
});

test("keyless: plan --push --json runs the prepare step after the package's builds, before its pushes (a key pair's needs nothing)", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    const config = keylessConfig(standIn, mkdtempSync(join(TMP, "position-")));
    const org = `${svc.registries.plain}/${RUN}-position`;
    const keyedPlan = pkgkitAsync(["plan", "--push", "--force", "--json", "--key", signing.key, "--org", org, HELLO]);
    const r = await pkgkitAsync(["plan", "--push", "--force", "--json", "--org", org, HELLO], { PKGKIT_CONFIG: config });
    assert.is(r.code, 0, r.stderr);
    const steps = (JSON.parse(r.stdout) as { steps: { id: string; kind: string; action?: string; needs: string[] }[] }).steps;
    const prepare = steps.find((s) => s.action === "prepare")!;
    const builds = steps.filter((s) => s.kind === "build").map((s) => s.id);
    assert.is(builds.length, 2);
    assert.equal(prepare.needs, builds);
    for (const s of steps.filter((s) => s.kind === "push" || s.kind === "index")) assert.ok(s.needs.includes(prepare.id), `${s.id} needs the prepare step`);
    assert.is((prepare as { reason?: string }).reason, "after the builds, right before the first push: the identity token, and a Fulcio certificate (valid 10 minutes)");
    const keyed = await keyedPlan;
    assert.equal((JSON.parse(keyed.stdout) as { steps: { action?: string; needs: string[] }[] }).steps.find((s) => s.action === "prepare")!.needs, []);
  } finally {
    standIn.server.close();
  }
});

test("keyless: Rekor failing after prepare (stand-in Rekor answering 500) exits 1 listing every unsigned tag with its digest (text and --json); a re-run with Rekor back signs them with one Fulcio certificate; pkgkit verify says ok", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    const config = keylessConfig(standIn, mkdtempSync(join(TMP, "rekor-")));
    const org = `${svc.registries.plain}/${RUN}-rekor`;
    const repo = `${org}/hello`;
    standIn.failing.rekor = 500;
    const r = await pkgkitAsync(["push", "--json", "--org", org, HELLO], { PKGKIT_CONFIG: config, SIGSTORE_ID_TOKEN: TOKEN });
    assert.is(r.code, 1, r.stderr);
    const all = await digests(repo);
    assert.is(all.length, 3, "the images and the index were pushed (prepare succeeded)");
    const out = JSON.parse(r.stdout) as { unsigned: { ref: string; digest: string; thisRun: boolean }[] };
    assert.equal(out.unsigned.map((u) => `${u.ref}@${u.digest}`).sort(), all.map((d) => `${d.ref}@${d.digest}`).sort());
    for (const d of all) assert.match(r.stderr, `unsigned: ${d.ref}@${d.digest}  (`);
    assert.match(r.stderr, "3 image(s) and index(es) in the registry are not signed. Once the signer works again, run `pkgkit push` again with the same arguments");
    assert.is(standIn.requests.fulcio, 1, "one certificate for the run");

    delete standIn.failing.rekor;
    const fulcioBefore = standIn.requests.fulcio;
    const again = await pkgkitAsync(["push", "--org", org, HELLO], { PKGKIT_CONFIG: config, SIGSTORE_ID_TOKEN: TOKEN });
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, "0 built, 0 pushed, 0 index(es) merged, 3 signed");
    assert.is(standIn.requests.fulcio - fulcioBefore, 1, "six signatures (a message and a bundle for each of 3 digests), one Fulcio certificate");
    const ok = await pkgkitAsync(["verify", "--org", org, HELLO], { PKGKIT_CONFIG: config });
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    for (const d of all) assert.match(ok.stdout, `ok    ${d.ref}@${d.digest}  [sigstore] Sigstore bundle`);
  } finally {
    standIn.server.close();
  }
});

test("keyless certificate (stand-in Fulcio): one for every signature while it is valid; a new one when prepare wants 5 minutes more, or a signature finds under a minute left (clock moved on)", async () => {
  const standIn = await startSigstoreStandIn();
  try {
    let clock = Date.now();
    const token = jwt(claims({ exp: Math.floor(clock / 1000) + 3600 }));
    const certs = keylessCertificates({ fulcioURL: standIn.url, token: async () => ({ value: token, from: "the test" }), now: () => clock });
    await certs.ready();
    const first = await Promise.all([1, 2, 3].map((i) => certs.signer.sign(Buffer.from(`payload ${i}`))));
    assert.is(standIn.requests.fulcio, 1);
    assert.is(new Set(first.map((s) => s.key.certificate)).size, 1, "one certificate for all three");
    clock += 6 * 60_000; // 4 minutes left: enough for a signature, not for a package's prepare
    const still = await certs.signer.sign(Buffer.from("payload 4"));
    assert.is(still.key.certificate, first[0]!.key.certificate);
    await certs.ready();
    assert.is(standIn.requests.fulcio, 2, "prepare fetched a new certificate");
    clock += 3.5 * 60_000; // the new one has about 30 s left
    const renewed = await certs.signer.sign(Buffer.from("payload 5"));
    assert.is(standIn.requests.fulcio, 3, "the signature fetched a new certificate first");
    const { X509Certificate } = await import("@sigstore/core");
    const cert = X509Certificate.parse(renewed.key.certificate);
    const { createPublicKey, verify } = await import("node:crypto");
    assert.ok(verify("sha256", Buffer.from("payload 5"), createPublicKey({ key: Buffer.from(cert.publicKey), format: "der", type: "spki" }), renewed.signature), "signed with the key the new certificate is for");
  } finally {
    standIn.server.close();
  }
});

test("no key password or identity token appears in anything pkgkit printed (plans, logs, errors)", async () => {
  const org = `${svc.registries.tls}/${RUN}-key`;
  const planned = await pkgkitAsync(["plan", "--push", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(planned.code, 0, planned.stderr);
  const forced = await pkgkitAsync(["push", "--verbose", "--force", "--arches", "amd64", "--json", "--key", signing.key, "--org", org, HELLO], { COSIGN_PASSWORD: KEY_PASSWORD });
  assert.is(forced.code, 0, forced.stderr);
  const all = printed.join("\n");
  assert.ok(all.length > 1000, "captured the runs' output");
  assert.equal(Object.keys(wrongTokens).length, 8, "the malformed tokens were given");
  const registryAuth = Buffer.from(`${creds.username}:${creds.password}`).toString("base64");
  assertNoSecrets(all, { KEY_PASSWORD, WRONG_KEY_PASSWORD, TOKEN, "TOKEN's claims part": TOKEN.split(".")[1]!, ...wrongTokens, "registry password": creds.password, "registry auth (base64)": registryAuth });
});

test.run();
