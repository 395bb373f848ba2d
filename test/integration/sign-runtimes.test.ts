// Signing under Deno and Bun: a package's pkg.config.ts run directly by each runtime pushes to the
// TLS registry (basic auth) and signs, with Notary (the real notary server; the repository
// passphrase from LinuxKit's passphrase command, so the runtime's shell runs it: dax on Deno, zx on
// Bun), with Sigstore and an encrypted P-256 key, and keylessly (the Fulcio/Rekor/TSA stand-in).
// Checked by clients pkgkit did not write: the `notary` CLI, stock cosign and @sigstore/verify (in
// this process, under Node), against digests read back from the registry; and by `verify` run
// under the same runtime. The package is a one-arch copy of examples/hello in a repository of its
// own that imports "pkgkit" as users do, so `verify` (every arch of the package) has all it needs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, lsTree, must, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";
import { loggedInDockerConfig, services } from "../services.ts";
import { identityToken, IDENTITY, ISSUER, keylessConfig, startSigstoreStandIn, type StandIn } from "../sigstore-stand-in.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
if (!svc.notary) throw new Error("services.json has no notary server: run test/env/start.sh (it runs test/env/notary.sh)");
const NOTARY = svc.notary;
const RUN = `r${process.pid}${Date.now().toString(36)}`;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-runtimes-"));
const COSIGN = process.env.COSIGN ?? "cosign";
const bin = (n: string) => join(ROOT, "node_modules/.bin", n);
const RUNTIMES: [string, string[]][] = [
  ["deno", [bin("deno"), "run", "-A", "--quiet"]],
  ["bun", [bin("bun")]],
];

// The secrets of this suite: random, and looked for in everything the runtimes print.
const REPO_PASS = `repo-${randomBytes(9).toString("hex")}`;
const ROOT_PASS = `root-${randomBytes(9).toString("hex")}`;
const KEY_PASSWORD = `pw-${randomBytes(9).toString("hex")}`;
const printed: string[] = [];

// A user's repository: package.json, pkgkit installed (a link to this checkout), one package.
const repo = tmpRepo({
  "package.json": JSON.stringify({ name: "sign-runtimes", private: true, type: "module", dependencies: { pkgkit: "*" } }),
  ".gitignore": "node_modules/\n",
  "hello/pkg.config.ts": `import { definePackage } from "pkgkit";\n\nexport default definePackage({ image: "hello", arches: ["amd64"], network: false });\n`,
  "hello/Dockerfile": `FROM scratch\nCOPY busybox-amd64 /bin/busybox\nCMD ["/bin/busybox", "echo", "hello"]\n`,
});
mkdirSync(join(repo.dir, "node_modules"));
symlinkSync(ROOT, join(repo.dir, "node_modules/pkgkit"));
copyFileSync(join(ROOT, "examples/hello/busybox-amd64"), join(repo.dir, "hello/busybox-amd64"));
repo.commit();
const CONFIG_FILE = join(repo.dir, "hello/pkg.config.ts");
const TAG = lsTree(repo.dir, "hello");

// HOME with LinuxKit's config.yml, whose passphrase command counts its runs and prints the passphrase.
const HOME = join(TMP, "home");
const passFile = join(TMP, "passphrase");
const runsFile = join(TMP, "command-runs");
writeFileSync(passFile, `${REPO_PASS}\n`, { mode: 0o600 });
mkdirSync(join(HOME, ".moby/linuxkit"), { recursive: true });
writeFileSync(join(HOME, ".moby/linuxkit/config.yml"), `pkg:\n  content-trust-passphrase-command: ${JSON.stringify(`echo run >> ${runsFile}; cat ${passFile}`)}\n`);
const commandRuns = () => (readFileSync(runsFile, { encoding: "utf8", flag: "a+" }).match(/run/g) ?? []).length;

// DOCKER_CONFIG: the TLS registry's credentials, the notary CA under tls/<host:port>/, the trust directory.
const DOCKER_CONFIG = loggedInDockerConfig(join(TMP, "docker-config"), NOTARY);
const client = createRegistry({ dockerConfigDir: DOCKER_CONFIG, certsDirs: [svc.certsDir] });

const env = {
  HOME,
  DOCKER_CONFIG,
  DOCKER_CONTENT_TRUST_SERVER: NOTARY.url,
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: ROOT_PASS,
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "",
  COSIGN_PASSWORD: KEY_PASSWORD,
  PKGKIT_CERTS_DIR: svc.certsDir,
  PKGKIT_CONFIG: "",
  NO_COLOR: "1",
};

/**
 * `<runtime> hello/pkg.config.ts <args>`, from the user's repository; without blocking the event
 * loop, as the keyless stand-in answers from this process.
 */
async function runFile(runtime: string[], args: string[], e: Record<string, string> = {}) {
  const r = await shAsync([...runtime, CONFIG_FILE, ...args], repo.dir, { ...env, ...e });
  printed.push(r.stdout, r.stderr);
  return r;
}

type PushJson = { ok: boolean; result: { steps: { kind: string; status: string }[] } };
type PlanJson = { steps: { kind: string }[] };

/** The index and the amd64 image as the registry has them. */
async function published(repository: string) {
  const index = await client.getManifest(repository, TAG);
  assert.ok(index, `${repository}:${TAG} is in the registry`);
  const amd64 = index!.json.manifests!.find((d) => d.platform?.architecture === "amd64")!;
  assert.is((await client.headManifest(repository, `${TAG}-amd64`))?.digest, amd64.digest, `${TAG}-amd64 is the index's amd64 entry`);
  return { index: { digest: index!.digest, size: index!.size }, amd64: { digest: amd64.digest, size: amd64.size } };
}

const KEY = join(TMP, "cosign.pem");
const PUB = join(TMP, "cosign.pub");
const OTHER_PUB = join(TMP, "other.pub");
must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", KEY], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
must(["openssl", "pkey", "-in", KEY, "-passin", "env:COSIGN_PASSWORD", "-pubout", "-out", PUB], undefined, { COSIGN_PASSWORD: KEY_PASSWORD });
must(["sh", "-c", 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkey -pubout -out "$0"', OTHER_PUB]);
const cosignVerify = (pub: string, ref: string) => sh([COSIGN, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--registry-cacert", svc.ca, ref], undefined, { DOCKER_CONFIG });

// Keyless: an identity token for the stand-in's Fulcio, and the pkgkit.yml that points there.
const TOKEN = identityToken();
let standIn: StandIn | undefined;
const KEYLESS_CONFIG = join(TMP, "pkgkit.yml");
test.before(async () => {
  standIn = await startSigstoreStandIn();
  keylessConfig(standIn, TMP, "intoto"); // the older Rekor entry kind (the option); sign-sigstore.test.ts signs with the default, dsse
});

/** The signatures' Sigstore bundles attached to `digest` (not the attestations'), read through the referrers tag fallback. */
async function referrerBundles(repository: string, digest: string): Promise<unknown[]> {
  const index = await client.getManifest(repository, `sha256-${digest.slice(7)}`);
  assert.ok(index, `referrers tag sha256-${digest.slice(7)} exists`);
  const out: unknown[] = [];
  for (const d of index!.json.manifests!) {
    if (d.annotations?.["dev.sigstore.bundle.predicateType"] !== "https://sigstore.dev/cosign/sign/v1") continue;
    const m = (await client.getManifest(repository, d.digest))!;
    assert.is((m.json.subject as { digest: string }).digest, digest, "the referrer's subject is the signed digest");
    out.push(JSON.parse(Buffer.from(await client.getBlob(repository, m.json.layers![0]!.digest)).toString("utf8")));
  }
  return out;
}

for (const [name, runtime] of RUNTIMES) {
  test(`${name}: push --signer notary signs the amd64 image and the index; notary list has the registry's sha256 and size; verify under ${name} says ok`, async () => {
    const repository = `${svc.registries.tls}/${RUN}-${name}-notary/hello`;
    const org = repository.slice(0, -"/hello".length);
    const before = commandRuns();
    const r = await runFile(runtime, ["push", "--arches", "amd64", "--signer", "notary", "--verbose", "--json", "--org", org]);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as PushJson;
    assert.equal(out.result.steps.filter((s) => s.kind === "sign").map((s) => s.status), ["done", "done", "done"], "prepare, the amd64 image, the index");
    assert.is(commandRuns(), before + 1, `the passphrase command ran once, through ${name}'s shell`);

    const { index, amd64 } = await published(repository);
    const list = sh(["notary", "-s", NOTARY.url, "-d", join(DOCKER_CONFIG, "trust"), "--tlscacert", NOTARY.ca, "list", repository]);
    assert.is(list.code, 0, list.stderr);
    const rows = new Map(list.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 4 && /^[0-9a-f]{64}$/.test(f[1]!)).map((f) => [f[0]!, { hex: f[1], size: Number(f[2]), role: f[3] }]));
    // The amd64 image's attestation manifest (.att) is a Notary target too.
    assert.equal([...rows.keys()].sort(), [TAG, `${TAG}-amd64`, `sha256-${amd64.digest.slice(7)}.att`].sort());
    assert.equal(rows.get(TAG), { hex: index.digest.slice(7), size: index.size, role: "targets" }, "the index target is the registry's index");
    assert.equal(rows.get(`${TAG}-amd64`), { hex: amd64.digest.slice(7), size: amd64.size, role: "targets" }, "the amd64 target is the registry's image");

    const verified = await runFile(runtime, ["verify", "--signer", "notary", "--org", org]);
    assert.is(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}@${index.digest}  [notary] signed target ${repository}:${TAG} match sha256 and size`);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}-amd64@${amd64.digest}  [notary] signed target`);
    assert.match(verified.stderr, "2 signed");

    // Planning looks the signatures up read-only, through the same signer: nothing left to sign.
    const again = await runFile(runtime, ["plan", "--push", "--arches", "amd64", "--signer", "notary", "--json", "--org", org]);
    assert.is(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as PlanJson).steps.map((s) => s.kind), ["skip", "skip"]);
    assert.is(commandRuns(), before + 1, "planning runs no passphrase command");
  });

  test(`${name}: push --signer sigstore --key (encrypted PEM) signs both; stock cosign verify passes, another key fails; verify under ${name} says ok`, async () => {
    const repository = `${svc.registries.tls}/${RUN}-${name}-sigstore/hello`;
    const org = repository.slice(0, -"/hello".length);
    const r = await runFile(runtime, ["push", "--arches", "amd64", "--signer", "sigstore", "--key", KEY, "--verbose", "--json", "--org", org]);
    assert.is(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as PushJson).result.steps.filter((s) => s.kind === "sign").map((s) => s.status), ["done", "done", "done"]);

    const { index, amd64 } = await published(repository);
    for (const d of [index, amd64]) {
      const ok = cosignVerify(PUB, `${repository}@${d.digest}`);
      assert.is(ok.code, 0, `cosign verify ${repository}@${d.digest}: ${ok.stderr}`);
      assert.match(ok.stderr, "The signatures were verified against the specified public key");
      const claims = JSON.parse(ok.stdout) as { critical: { image: { "docker-manifest-digest": string }; identity: { "docker-reference": string } } }[];
      assert.is(claims[0]!.critical.image["docker-manifest-digest"], d.digest);
      assert.is(claims[0]!.critical.identity["docker-reference"], repository);
      const bad = cosignVerify(OTHER_PUB, `${repository}@${d.digest}`);
      assert.is.not(bad.code, 0, "cosign verify with another key must fail");
    }

    const verified = await runFile(runtime, ["verify", "--key", PUB, "--org", org]);
    assert.is(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}@${index.digest}  [sigstore] cosign signature and Sigstore bundle sha256:`);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}-amd64@${amd64.digest}  [sigstore] cosign signature and Sigstore bundle sha256:`);
    assert.match(verified.stderr, "2 signed");
    const wrong = await runFile(runtime, ["verify", "--key", OTHER_PUB, "--org", org]);
    assert.is(wrong.code, 1);
    assert.match(wrong.stderr, "2 of 2 not signed as configured");

    // The look-up while planning verifies the bundles too: a signed package plans no signing.
    const again = await runFile(runtime, ["plan", "--push", "--arches", "amd64", "--key", KEY, "--json", "--org", org]);
    assert.is(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as PlanJson).steps.map((s) => s.kind), ["skip", "skip"]);
  });

  test(`${name}: keyless push (stand-in Fulcio, Rekor, TSA) signs both; the bundles verify with @sigstore/verify for the identity; verify under ${name} says ok`, async () => {
    const repository = `${svc.registries.tls}/${RUN}-${name}-keyless/hello`;
    const org = repository.slice(0, -"/hello".length);
    const r = await runFile(runtime, ["push", "--arches", "amd64", "--json", "--org", org], { PKGKIT_CONFIG: KEYLESS_CONFIG, SIGSTORE_ID_TOKEN: TOKEN });
    assert.is(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as PushJson).result.steps.filter((s) => s.kind === "sign").map((s) => s.status), ["done", "done", "done"]);

    const { bundleFromJSON } = await import("@sigstore/bundle");
    const { Verifier, toSignedEntity, toTrustMaterial } = await import("@sigstore/verify");
    const { TrustedRoot } = await import("@sigstore/protobuf-specs");
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(standIn!.trustedRoot)), { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 });
    const { index, amd64 } = await published(repository);
    for (const d of [index, amd64]) {
      const bundles = await referrerBundles(repository, d.digest);
      assert.is(bundles.length, 1);
      const json = bundles[0] as { dsseEnvelope: { payload: string } };
      const statement = JSON.parse(Buffer.from(json.dsseEnvelope.payload, "base64").toString("utf8")) as { subject: { digest: { sha256: string } }[] };
      assert.is(`sha256:${statement.subject[0]!.digest.sha256}`, d.digest);
      const entity = toSignedEntity(bundleFromJSON(json));
      assert.is(verifier.verify(entity, { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } }).identity?.subjectAlternativeName, IDENTITY);
      assert.throws(() => verifier.verify(entity, { subjectAlternativeName: "https://github.com/someone/else", extensions: { issuer: ISSUER } }));
    }

    const verified = await runFile(runtime, ["verify", "--org", org], { PKGKIT_CONFIG: KEYLESS_CONFIG });
    assert.is(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}@${index.digest}  [sigstore] Sigstore bundle sha256:`);
    assert.match(verified.stdout, `ok    ${repository}:${TAG}-amd64@${amd64.digest}  [sigstore] Sigstore bundle sha256:`);
    assert.match(verified.stdout, `verifies for ${IDENTITY} (${ISSUER})`);
  });
}

test("no passphrase, root passphrase, key password or identity token appears in anything Deno or Bun printed", () => {
  const all = printed.join("\n");
  assert.ok(all.length > 2000, "captured the runs' output");
  const registryAuth = Buffer.from(`${svc.username}:${svc.password}`).toString("base64");
  assertNoSecrets(all, { REPO_PASS, ROOT_PASS, KEY_PASSWORD, TOKEN, "TOKEN's claims part": TOKEN.split(".")[1]!, "registry password": svc.password, "registry auth (base64)": registryAuth });
});

test.after(() => {
  standIn?.server.close();
  repo.rm();
  rmSync(TMP, { recursive: true, force: true });
});
test.run();
