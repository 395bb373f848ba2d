// Notary signing in the targets/releases delegation, as LinuxKit's maintainers set it up: they
// initialise the repository (root and targets keys stay with them), hand the snapshot key to the
// server, and add a targets/releases delegation with a signer's certificate; the signer (here,
// pkgkit in "CI") holds only that delegation's key. Against the real notary-server + signer of
// test/env/start.sh, checked by `notary list --roles targets/releases` and by
// `DOCKER_CONTENT_TRUST=1 docker pull`, which prefers targets/releases over targets.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, must, pkgkit, ROOT, sh } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
if (!svc.notary) throw new Error("services.json has no notary server: run test/env/start.sh (it runs test/env/notary.sh)");
const NOTARY = svc.notary;
const RUN = `d${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-delegation-"));
const client = createRegistry({});
const ROLE = "targets/releases";

// The maintainers' passphrases never reach pkgkit; the signer's (its delegation key's) is the one
// pkgkit gets, from pkgkit.yml's passphrase command. All are looked for in what pkgkit prints.
const MAINTAINER_ROOT_PASS = `mroot-${randomBytes(9).toString("hex")}`;
const MAINTAINER_REPO_PASS = `mrepo-${randomBytes(9).toString("hex")}`;
const SIGNER_PASS = `deleg-${randomBytes(9).toString("hex")}`;
const ROOT_PASS = `root-${randomBytes(9).toString("hex")}`;
/** Given for the delegation key in place of SIGNER_PASS: as secret as the right one. */
const WRONG_SIGNER_PASS = `wrong-${randomBytes(9).toString("hex")}`;
const printed: string[] = [];

/** Docker's config dir for the signer: the notary CA under tls/<host:port>/ca.crt, the trust dir under it. */
const DOCKER_CONFIG = join(TMP, "docker-config");
mkdirSync(join(DOCKER_CONFIG, "tls", new URL(NOTARY.url).host), { recursive: true });
copyFileSync(NOTARY.ca, join(DOCKER_CONFIG, "tls", new URL(NOTARY.url).host, "ca.crt"));
writeFileSync(join(DOCKER_CONFIG, "config.json"), "{}");
const SIGNER_TRUST = join(DOCKER_CONFIG, "trust");
const MAINTAINER_TRUST = join(TMP, "maintainer-trust");
const passFile = join(TMP, "passphrase");
writeFileSync(passFile, `${SIGNER_PASS}\n`, { mode: 0o600 });

/** pkgkit.yml: sign in a delegation, the passphrase from a command (and more settings when given). */
function signingConfig(role = ROLE, extra = ""): string {
  const file = join(mkdtempSync(join(TMP, "config-")), "pkgkit.yml");
  writeFileSync(file, `notary:\n  role: ${role}\n  passphraseCommand: cat ${passFile}\n${extra}`);
  return file;
}
const CONFIG = signingConfig();

const env = {
  HOME: mkdtempSync(join(TMP, "home-")),
  DOCKER_CONFIG,
  DOCKER_CONTENT_TRUST_SERVER: NOTARY.url,
  // A delegation signer never initialises a repository: no root passphrase.
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: "",
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "",
  PKGKIT_CERTS_DIR: svc.certsDir,
  PKGKIT_CONFIG: CONFIG,
};
const run = (args: string[], e: Record<string, string> = {}) => {
  const r = pkgkit(args, { env: { ...env, ...e } });
  printed.push(r.stdout, r.stderr);
  return r;
};
const notaryIn = (trustDir: string, args: string[], e: Record<string, string> = {}) =>
  sh(["notary", "-s", NOTARY.url, "-d", trustDir, "--tlscacert", NOTARY.ca, ...args], undefined, e);
const mustNotary = (trustDir: string, args: string[], e: Record<string, string> = {}) => {
  const r = notaryIn(trustDir, args, e);
  if (r.code !== 0) throw new Error(`notary ${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
};
const maintainerEnv = { NOTARY_ROOT_PASSPHRASE: MAINTAINER_ROOT_PASS, NOTARY_TARGETS_PASSPHRASE: MAINTAINER_REPO_PASS, NOTARY_SNAPSHOT_PASSPHRASE: MAINTAINER_REPO_PASS };

/** The maintainers' part: trust data for `gun`, the snapshot key on the server, and (unless not) the delegation with `cert`. */
function maintainerInitialises(gun: string, cert?: string) {
  mustNotary(MAINTAINER_TRUST, ["init", "-p", gun], maintainerEnv);
  mustNotary(MAINTAINER_TRUST, ["key", "rotate", gun, "snapshot", "-r"], maintainerEnv);
  if (cert) mustNotary(MAINTAINER_TRUST, ["delegation", "add", "-p", gun, ROLE, cert, "--all-paths"], maintainerEnv);
}

// The signer's key pair: an ECDSA P-256 key and a self-signed certificate, as LinuxKit's docs make
// them. Notary lists the delegation under the certificate's public key's ID, not the certificate's.
const KEY = join(TMP, "releaser.key");
const CERT = join(TMP, "releaser.crt");
must(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", KEY]);
must(["openssl", "req", "-new", "-x509", "-key", KEY, "-out", CERT, "-days", "30", "-subj", "/CN=releaser"]);
// The signer imports the private key into its trust directory, encrypted with its passphrase.
mustNotary(SIGNER_TRUST, ["key", "import", KEY, "--role", "releaser"], { NOTARY_DELEGATION_PASSPHRASE: SIGNER_PASS });

const ORG = `${svc.registries.plain}/${RUN}`;
const REPO = `${ORG}/hello`;
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
maintainerInitialises(REPO, CERT);

/** `notary list` rows: tag → digest, size, role. */
function targets(listing: string) {
  return new Map(listing.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 4 && /^[0-9a-f]{64}$/.test(f[1]!)).map((f) => [f[0]!, { hex: f[1], size: Number(f[2]), role: f[3] }]));
}

test("push signs in targets/releases with the delegation key: notary lists the registry's digests in the role, docker (DCT) pulls and runs arm64", async () => {
  const planned = run(["plan", "--push", "--org", ORG, HELLO]);
  assert.is(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, `  sign   prepare notary ${NOTARY.url} (${ROLE}) for ${REPO}  before anything is pushed`);

  const r = run(["push", "--json", "--org", ORG, HELLO]);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { result: { steps: { kind: string; status: string }[] } };
  assert.is(out.result.steps.filter((s) => s.kind === "sign" && s.status === "done").length, 4, "prepare + 3 signatures");

  const index = (await client.getManifest(REPO, TAG))!;
  const arches = Object.fromEntries(index.json.manifests!.map((d) => [d.platform!.architecture, d]));
  // notary, from a trust directory of its own, lists the three targets in the delegation.
  const outside = mkdtempSync(join(TMP, "outside-trust-"));
  const list = notaryIn(outside, ["list", REPO, "--roles", ROLE]);
  assert.is(list.code, 0, list.stderr);
  console.log(`notary list ${REPO} --roles ${ROLE}:\n${list.stdout.trim()}`);
  const listed = targets(list.stdout);
  assert.equal(listed.get(TAG), { hex: index.digest.slice(7), size: index.size, role: ROLE }, "the index target is the registry's index");
  for (const a of ["amd64", "arm64"]) assert.equal(listed.get(`${TAG}-${a}`), { hex: arches[a]!.digest.slice(7), size: arches[a]!.size, role: ROLE });
  // Each arch image's attestation manifest (.att) is signed in the delegation too.
  for (const a of ["amd64", "arm64"]) {
    const att = (await client.getManifest(REPO, `sha256-${arches[a]!.digest.slice(7)}.att`))!;
    assert.equal(listed.get(`sha256-${arches[a]!.digest.slice(7)}.att`), { hex: att.digest.slice(7), size: att.size, role: ROLE });
  }
  // Nothing went into the targets role itself (the signer has no targets key to do it with).
  assert.equal([...targets(notaryIn(outside, ["list", REPO]).stdout).values()].map((t) => t.role), [ROLE, ROLE, ROLE, ROLE, ROLE]);

  // A maintainer signs the same tag in targets for another digest: docker must still take targets/releases'.
  mustNotary(MAINTAINER_TRUST, ["addhash", REPO, TAG, String(arches.amd64!.size), "--sha256", arches.amd64!.digest.slice(7), "-p"], maintainerEnv);
  // The docker CLI with content trust: pulls the index signed in targets/releases for arm64; it runs as aarch64.
  // As a user of its own: the notary CA, no trust data (nothing cached from pkgkit's trust directory).
  const userConfig = mkdtempSync(join(TMP, "docker-client-"));
  cpSync(join(DOCKER_CONFIG, "tls"), join(userConfig, "tls"), { recursive: true });
  writeFileSync(join(userConfig, "config.json"), "{}");
  const docker = (args: string[], e: Record<string, string> = {}) => sh(["docker", ...args], undefined, { DOCKER_CONFIG: userConfig, DOCKER_CONTENT_TRUST_SERVER: NOTARY.url, ...e });
  docker(["rmi", "-f", `${REPO}:${TAG}`]);
  const pull = docker(["pull", "--platform", "linux/arm64", `${REPO}:${TAG}`], { DOCKER_CONTENT_TRUST: "1" });
  assert.is(pull.code, 0, pull.stderr);
  console.log(`DOCKER_CONTENT_TRUST=1 docker pull --platform linux/arm64 ${REPO}:${TAG}:\n${(pull.stdout + pull.stderr).trim()}`);
  assert.match(pull.stdout + pull.stderr, `Pull (1 of 1): ${REPO}:${TAG}@${index.digest}`, "docker resolved the tag through the signed target");
  const uname = must(["docker", "run", "--rm", "--network", "none", "--platform", "linux/arm64", `${REPO}:${TAG}`, "uname", "-m"]).trim();
  console.log(`docker run --platform linux/arm64 ${REPO}:${TAG} uname -m: ${uname}`);
  assert.is(uname, "aarch64");

  // pkgkit verify reads the delegation's targets.
  const ok = run(["verify", "--org", ORG, HELLO]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, `ok    ${REPO}:${TAG}@${index.digest}  [notary] signed target ${REPO}:${TAG} in ${ROLE} match sha256 and size`);
  // Without a role, verify judges a tag as docker resolves it: targets/releases before targets, so
  // the maintainer's other digest in targets does not count against the index.
  const plain = run(["verify", "--org", ORG, HELLO], { PKGKIT_CONFIG: signingConfig("targets") });
  assert.is(plain.code, 0, plain.stdout + plain.stderr);
  assert.match(plain.stdout, `ok    ${REPO}:${TAG}@${index.digest}  [notary] signed target ${REPO}:${TAG} match sha256 and size`);
  // Signed in targets/releases is not signed in another delegation.
  const other = run(["verify", "--org", ORG, HELLO], { PKGKIT_CONFIG: signingConfig("targets/ci") });
  assert.is(other.code, 1);
  assert.match(other.stdout, `FAIL  ${REPO}:${TAG}@${index.digest}  [notary] no signed target "${TAG}" in ${REPO} (targets/ci)`);
});

test("a repository without the targets/releases delegation: push fails before anything is pushed, saying how to add it", async () => {
  const org = `${svc.registries.plain}/${RUN}-nodeleg`;
  maintainerInitialises(`${org}/hello`);
  const r = run(["push", "--json", "--org", org, HELLO]);
  assert.is(r.code, 1);
  assert.match(r.stderr, `${org}/hello on ${NOTARY.url} has no ${ROLE} delegation (it has none), so pkgkit cannot sign in it.`);
  assert.match(r.stderr, `\`notary delegation add -p ${org}/hello ${ROLE} <cert.pem> --all-paths\``);
  assert.match(r.stderr, `\`docker trust signer add --key <cert.pem> <name> ${org}/hello\``);
  assert.match(r.stderr, `\`notary key import <key.pem> --role <name>\``);
  assert.match(r.stderr, "Nothing was pushed.");
  assert.not.match(r.stderr, /\] (pushing|pushed|merging) /, "nothing was pushed");
  const steps = (JSON.parse(r.stdout) as { result: { steps: { kind: string; status: string }[] } }).result.steps;
  assert.equal(steps.filter((s) => s.kind === "push" || s.kind === "index").map((s) => s.status), ["skipped", "skipped", "skipped"]);
  assert.equal(await client.listTags(`${org}/hello`), [], "the registry has nothing for it");
});

test("a repository with no trust data is not initialised by a delegation signer; a trust directory without the delegation's key is refused", async () => {
  const org = `${svc.registries.plain}/${RUN}-new`;
  // Even with a root passphrase at hand, which would initialise it when signing in targets.
  const r = run(["push", "--org", org, HELLO], { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: ROOT_PASS });
  assert.is(r.code, 1);
  assert.match(r.stderr, `${org}/hello has no trust data on ${NOTARY.url}: signing in ${ROLE} needs a repository initialised by its maintainers, with a ${ROLE} delegation.`);
  assert.match(r.stderr, `A maintainer initialises it (\`notary init -p ${org}/hello\``);
  assert.equal(await client.listTags(`${org}/hello`), []);
  const listed = notaryIn(mkdtempSync(join(TMP, "outside-trust-")), ["list", `${org}/hello`]);
  assert.match(listed.stdout + listed.stderr, "does not have trust data", "pkgkit did not initialise it");

  // The delegation is there, but this trust directory has no key of it.
  const emptyTrust = mkdtempSync(join(TMP, "empty-trust-"));
  const noKey = run(["push", "--org", ORG, "--hash", `nokey-${RUN}`, HELLO], { PKGKIT_CONFIG: signingConfig(ROLE, `  trustDir: ${emptyTrust}\n`) });
  assert.is(noKey.code, 1);
  assert.match(noKey.stderr, new RegExp(`${emptyTrust} has no private key of ${REPO.replace(/\./g, "\\.")}'s ${ROLE} delegation \\(its key: [0-9a-f]{64}\\): import it with`));
  assert.not.ok((await client.listTags(REPO)).some((t) => t.startsWith(`nokey-${RUN}`)), "nothing of that tag was pushed");
});

test("a wrong passphrase for the delegation key stops the push in prepare, before anything is pushed", async () => {
  const tag = `wrongpass-${RUN}`;
  const r = run(["push", "--hash", tag, "--org", ORG, HELLO], { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: WRONG_SIGNER_PASS });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, `the content-trust repository passphrase does not open ${REPO}'s ${ROLE} delegation key (${join(SIGNER_TRUST, "private")}/`);
  assert.match(r.stderr, "Nothing was pushed.");
  assert.equal((await client.listTags(REPO)).filter((t) => t.startsWith(tag)), []);
  assertNoSecrets(r.stdout + r.stderr, { WRONG_SIGNER_PASS, SIGNER_PASS });
});

test("no passphrase appears in anything pkgkit printed", () => {
  const all = printed.join("\n");
  assert.ok(all.length > 1000, "captured the runs' output");
  assertNoSecrets(all, { SIGNER_PASS, WRONG_SIGNER_PASS, ROOT_PASS, MAINTAINER_REPO_PASS, MAINTAINER_ROOT_PASS });
});

test.run();
