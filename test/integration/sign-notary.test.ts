// Notary v1 signing against the real notary-server + notary-signer test/env/start.sh runs (memory
// storage, the project's CA), checked by clients pkgkit did not write: the docker CLI with
// DOCKER_CONTENT_TRUST=1 (pull and run, trust inspect) and the `notary` CLI. The repository
// passphrase comes from a passphrase command in a LinuxKit-style config.yml under the test's HOME.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, BIN, must, pkgkit, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";
import { services, startNotaryServer } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
if (!svc.notary) throw new Error("services.json has no notary server: run test/env/start.sh (it runs test/env/notary.sh)");
const NOTARY = svc.notary;
const RUN = `n${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-notary-"));
const client = createRegistry({});

// The secrets of this suite: random, and looked for in everything pkgkit prints.
const REPO_PASS = `repo-${randomBytes(9).toString("hex")}`;
const ROOT_PASS = `root-${randomBytes(9).toString("hex")}`;
/** Given in place of REPO_PASS and ROOT_PASS by the wrong-passphrase tests: as secret as the right ones. */
const WRONG_REPO_PASS = `wrong-${randomBytes(9).toString("hex")}`;
const WRONG_ROOT_PASS = `wrong-root-${randomBytes(9).toString("hex")}`;
const printed: string[] = [];

/** A HOME with LinuxKit's config.yml whose passphrase command prints `passFile` and counts its runs. */
function home(command: string): string {
  const dir = mkdtempSync(join(TMP, "home-"));
  mkdirSync(join(dir, ".moby/linuxkit"), { recursive: true });
  writeFileSync(join(dir, ".moby/linuxkit/config.yml"), `pkg:\n  content-trust-passphrase-command: ${JSON.stringify(command)}\n`);
  return dir;
}
const passFile = join(TMP, "passphrase");
writeFileSync(passFile, `${REPO_PASS}\n`, { mode: 0o600 });
const runsFile = join(TMP, "command-runs");
const HOME = home(`echo run >> ${runsFile}; cat ${passFile}`);
const commandRuns = () => (readFileSync(runsFile, { encoding: "utf8", flag: "a+" }).match(/run/g) ?? []).length;

/** Docker's config dir as `docker trust` wants it: the notary CA under tls/<host:port>/ca.crt. */
const DOCKER_CONFIG = join(TMP, "docker-config");
const notaryHost = new URL(NOTARY.url).host;
mkdirSync(join(DOCKER_CONFIG, "tls", notaryHost), { recursive: true });
copyFileSync(NOTARY.ca, join(DOCKER_CONFIG, "tls", notaryHost, "ca.crt"));
writeFileSync(join(DOCKER_CONFIG, "config.json"), "{}");

const env = {
  HOME,
  DOCKER_CONFIG,
  DOCKER_CONTENT_TRUST_SERVER: NOTARY.url,
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: ROOT_PASS,
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "",
  PKGKIT_CERTS_DIR: svc.certsDir,
  PKGKIT_CONFIG: "",
};
const run = (args: string[], e: Record<string, string> = {}) => {
  const r = pkgkit(args, { env: { ...env, ...e } });
  printed.push(r.stdout, r.stderr);
  return r;
};
const notary = (...args: string[]) => sh(["notary", "-s", NOTARY.url, "-d", join(DOCKER_CONFIG, "trust"), "--tlscacert", NOTARY.ca, ...args]);
/** A docker user's own config (the notary CA only, no trust data): what it trusts comes from the server, not from pkgkit's trust directory. */
function clientConfig(): string {
  const dir = mkdtempSync(join(TMP, "docker-client-"));
  mkdirSync(join(dir, "tls", notaryHost), { recursive: true });
  copyFileSync(NOTARY.ca, join(dir, "tls", notaryHost, "ca.crt"));
  writeFileSync(join(dir, "config.json"), "{}");
  return dir;
}
const CLIENT_CONFIG = clientConfig();
const docker = (args: string[], e: Record<string, string> = {}) => sh(["docker", ...args], undefined, { DOCKER_CONFIG: CLIENT_CONFIG, DOCKER_CONTENT_TRUST_SERVER: NOTARY.url, ...e });

const ORG = `${svc.registries.plain}/${RUN}`;
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const REPO = `${ORG}/hello`;

test("push signs each arch and the index with Notary: docker (DCT) pulls and runs arm64, notary list has the registry's digests, an unsigned tag is refused", async () => {
  const before = commandRuns();
  const planned = run(["plan", "--push", "--org", ORG, HELLO]);
  assert.is(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, `  sign   ${REPO}:${TAG}-amd64@<digest of the push> with notary`);
  assert.match(planned.stdout, `  sign   ${REPO}:${TAG}@<digest of the merged index> with notary`);
  assert.is(commandRuns(), before, "planning runs no passphrase command");

  const r = run(["push", "--json", "--org", ORG, HELLO]);
  assert.is(r.code, 0, r.stderr);
  assert.is(commandRuns(), before + 1, "the passphrase command ran once for the whole run");
  const out = JSON.parse(r.stdout) as { result: { steps: { kind: string; status: string }[] } };
  assert.is(out.result.steps.filter((s) => s.kind === "sign" && s.status === "done").length, 4, "prepare + 3 signatures");

  const index = (await client.getManifest(REPO, TAG))!;
  const arches = Object.fromEntries(index.json.manifests!.map((d) => [d.platform!.architecture, d]));
  // notary, as an outside client, lists the three targets with the registry's digests and sizes.
  const list = notary("list", REPO);
  assert.is(list.code, 0, list.stderr);
  const targets = new Map(list.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 3).map((f) => [f[0]!, { hex: f[1], size: Number(f[2]) }]));
  assert.equal(targets.get(TAG), { hex: index.digest.slice(7), size: index.size }, "the index target is the registry's index");
  for (const a of ["amd64", "arm64"]) assert.equal(targets.get(`${TAG}-${a}`), { hex: arches[a]!.digest.slice(7), size: arches[a]!.size });
  // So is each arch image's attestation manifest (.att: its SBOM and provenance), with the registry's digest and size.
  const atts = ["amd64", "arm64"].map((a) => `sha256-${arches[a]!.digest.slice(7)}.att`);
  for (const tag of atts) {
    const att = (await client.getManifest(REPO, tag))!;
    assert.equal(targets.get(tag), { hex: att.digest.slice(7), size: att.size });
  }

  // The docker CLI with content trust: pulls the signed index for arm64, and the image runs as aarch64.
  docker(["rmi", "-f", `${REPO}:${TAG}`]);
  const pull = docker(["pull", "--platform", "linux/arm64", `${REPO}:${TAG}`], { DOCKER_CONTENT_TRUST: "1" });
  assert.is(pull.code, 0, pull.stderr);
  assert.match(pull.stdout + pull.stderr, `Pull (1 of 1): ${REPO}:${TAG}@${index.digest}`, "docker resolved the tag through the signed target");
  assert.is(must(["docker", "run", "--rm", "--network", "none", "--platform", "linux/arm64", `${REPO}:${TAG}`, "uname", "-m"]).trim(), "aarch64");
  const inspect = JSON.parse(docker(["trust", "inspect", REPO]).stdout) as { SignedTags: { SignedTag: string; Digest: string }[] }[];
  assert.equal(inspect[0]!.SignedTags.map((t) => t.SignedTag).sort(), [TAG, `${TAG}-amd64`, `${TAG}-arm64`, ...atts].sort());

  // An unsigned tag in the same repository: pushed with content trust off, refused by the same client.
  const unsigned = run(["push", "--disable-content-trust", "--hash", `unsigned-${RUN}`, "--org", ORG, HELLO]);
  assert.is(unsigned.code, 0, unsigned.stderr);
  const refused = docker(["pull", `${REPO}:unsigned-${RUN}`], { DOCKER_CONTENT_TRUST: "1" });
  assert.is.not(refused.code, 0);
  assert.match(refused.stderr, `No valid trust data for unsigned-${RUN}`);

  // pkgkit verify agrees, and says which ones are not signed.
  const ok = run(["verify", "--org", ORG, HELLO]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, `ok    ${REPO}:${TAG}@${index.digest}  [notary] signed target`);
  const one = run(["verify", "--arches", "arm64", "--org", ORG, HELLO]);
  assert.is(one.code, 0, one.stderr);
  assert.equal(one.stdout.trim().split("\n").map((l) => l.split(/\s+/)[1]!.replace(/@.*/, "")), [`${REPO}:${TAG}`, `${REPO}:${TAG}-arm64`, `${REPO}:${TAG}-arm64`, `${REPO}:${TAG}-arm64`], "--arches: the index and that arch only (its signature, SBOM and provenance)");
  const bad = run(["verify", "--hash", `unsigned-${RUN}`, "--org", ORG, HELLO]);
  assert.is(bad.code, 1);
  assert.match(bad.stdout, `FAIL  ${REPO}:unsigned-${RUN}-arm64@sha256:`);
  assert.match(bad.stdout, `no signed target "unsigned-${RUN}-arm64" in ${REPO}`);
  assert.match(bad.stderr, `3 of 3 not signed as configured`);
});

test("a second push of the signed package signs nothing and runs no passphrase command", () => {
  const before = commandRuns();
  const r = run(["push", "--json", "--org", ORG, HELLO]);
  assert.is(r.code, 0, r.stderr);
  const plan = (JSON.parse(r.stdout) as { plan: { steps: { kind: string }[] } }).plan;
  assert.equal(plan.steps.map((s) => s.kind), ["skip", "skip", "skip"]);
  assert.is(commandRuns(), before);
});

test("a passphrase command that fails stops the push before anything is pushed; the message names the command, not its output", async () => {
  const org = `${svc.registries.plain}/${RUN}-failing`;
  const failing = home("printf 'never-shown-%s' 42; exit 7");
  const r = run(["push", "--json", "--org", org, HELLO], { HOME: failing });
  assert.is(r.code, 1);
  assert.match(r.stderr, `the passphrase command "printf 'never-shown-%s' 42; exit 7" (from ${failing}/.moby/linuxkit/config.yml) exited with 7`);
  assert.not.match(r.stdout + r.stderr, "never-shown-42");
  // The builds publish nothing and may go on; every push and the index wait for prepare, so none ran.
  assert.not.match(r.stderr, /\] (pushing|pushed|merging) /, "nothing was pushed");
  const steps = (JSON.parse(r.stdout) as { result: { steps: { id: string; kind: string; status: string; blockedBy?: string }[] } }).result.steps;
  const prepare = `${org}/hello:${TAG}/sign-prepare`;
  assert.equal(steps.find((s) => s.id === prepare)?.status, "failed");
  assert.equal(steps.filter((s) => s.kind === "push" || s.kind === "index" || s.kind === "sign").filter((s) => s.id !== prepare).map((s) => [s.kind, s.status, s.blockedBy]), [
    ["push", "skipped", prepare], ["sign", "skipped", prepare], ["push", "skipped", prepare], ["sign", "skipped", prepare], ["index", "skipped", prepare], ["sign", "skipped", prepare],
  ]);
  assert.equal(await client.listTags(`${org}/hello`), [], "the registry has nothing, so nothing unsigned");
  const list = notary("list", `${org}/hello`);
  assert.match(list.stdout + list.stderr, "does not have trust data", "the repository was not initialised either");
  // Empty output is refused the same way.
  const empty = run(["push", "--org", org, HELLO], { HOME: home("true") });
  assert.is(empty.code, 1);
  assert.match(empty.stderr, `the passphrase command "true"`);
  assert.match(empty.stderr, "printed nothing");
  assert.equal(await client.listTags(`${org}/hello`), []);
});

test("a notary server that lost a repository's trust data (a private one, memory storage, restarted): notary would list the trust directory's cached copy; verify says FAIL, push stops before pushing; moved aside, the repository starts over", async () => {
  const server = await startNotaryServer();
  try {
    const org = `${svc.registries.plain}/${RUN}-lost`;
    const repo = `${org}/hello`;
    const config = mkdtempSync(join(TMP, "lost-"));
    mkdirSync(join(config, "tls", new URL(server.url).host), { recursive: true });
    copyFileSync(NOTARY.ca, join(config, "tls", new URL(server.url).host, "ca.crt"));
    writeFileSync(join(config, "config.json"), "{}");
    const e = { DOCKER_CONFIG: config, DOCKER_CONTENT_TRUST_SERVER: server.url, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: REPO_PASS };
    const first = run(["push", "--arches", "amd64", "--org", org, HELLO], e);
    assert.is(first.code, 0, first.stderr);
    await server.restart();

    const cached = sh(["notary", "-s", server.url, "-d", join(config, "trust"), "--tlscacert", NOTARY.ca, "list", repo]);
    assert.is(cached.code, 0, "the notary CLI falls back to its cached copy ...");
    assert.match(cached.stderr, "using cached timestamp", "... and only warns");
    const stale = `${server.url} has no trust data for ${repo}, but ${join(config, "trust", "tuf", repo)} holds a copy from an earlier run`;
    const verified = run(["verify", "--arches", "amd64", "--org", org, HELLO], e);
    assert.is(verified.code, 1, verified.stdout);
    assert.match(verified.stdout, `FAIL  ${repo}:${TAG}@sha256:`);
    assert.match(verified.stdout, stale);
    const tag = `lost-${RUN}`;
    const pushed = run(["push", "--arches", "amd64", "--hash", tag, "--org", org, HELLO], e);
    assert.is(pushed.code, 1, pushed.stderr);
    assert.match(pushed.stderr, stale);
    assert.match(pushed.stderr, "Nothing was pushed.");
    assert.equal((await client.listTags(repo)).filter((t) => t.startsWith(tag)), []);

    // As the message says: move the copy aside, and the repository starts over on this server.
    renameSync(join(config, "trust", "tuf", repo), join(config, "trust", "tuf", `${repo}.old`));
    const again = run(["push", "--arches", "amd64", "--org", org, HELLO], e);
    assert.is(again.code, 0, again.stderr);
    const ok = run(["verify", "--arches", "amd64", "--org", org, HELLO], e);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await server.stop();
  }
});

test("a wrong repository passphrase stops the push in prepare, before anything is pushed (the targets key does not open)", async () => {
  const tag = `wrongpass-${RUN}`;
  const r = run(["push", "--hash", tag, "--org", ORG, HELLO], { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: WRONG_REPO_PASS });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`the content-trust repository passphrase does not open ${REPO.replace(/[.]/g, "\\.")}'s (targets|snapshot) key \\(${join(DOCKER_CONFIG, "trust", "private").replace(/[.]/g, "\\.")}/[0-9a-f]{64}\\.key\\)`));
  assert.match(r.stderr, "Nothing was pushed.");
  assertNoSecrets(r.stdout + r.stderr, { WRONG_REPO_PASS, REPO_PASS });
  assert.equal((await client.listTags(REPO)).filter((t) => t.startsWith(tag)), [], "no image or index of that tag is in the registry");
  const list = notary("list", REPO);
  assert.not.match(list.stdout, tag, "nothing was signed either");
});

test("a new repository without DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE stops before anything is pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-noroot`;
  const r = run(["push", "--org", org, HELLO], { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: "" });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, `${org}/hello has no trust data on ${NOTARY.url} yet; initialising it needs the root key's passphrase: set DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE`);
  assert.equal(await client.listTags(`${org}/hello`), []);
});

test("a new repository with a root passphrase that does not open the trust directory's root key exits 2 before anything is pushed (no notary init)", async () => {
  const org = `${svc.registries.plain}/${RUN}-wrongroot`;
  const r = run(["push", "--arches", "amd64", "--org", org, HELLO], { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: WRONG_ROOT_PASS, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: REPO_PASS });
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${org.replace(/\./g, "\\.")}/hello has no trust data on ${NOTARY.url.replace(/\./g, "\\.")} yet, and DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE does not open the root key in ${join(DOCKER_CONFIG, "trust").replace(/\./g, "\\.")} \\(${join(DOCKER_CONFIG, "trust", "private").replace(/\./g, "\\.")}/[0-9a-f]{64}\\.key\\) that initialising it needs`));
  assertNoSecrets(r.stdout + r.stderr, { WRONG_ROOT_PASS, ROOT_PASS, REPO_PASS });
  assert.equal(await client.listTags(`${org}/hello`), []);
  const listed = notary("list", `${org}/hello`);
  assert.match(listed.stdout + listed.stderr, "does not have trust data", "not initialised either");
});

test("a CI matrix signing one tag at once (three machines, each its own copy of the trust directory): every arch is signed, and the index tag's target is the index the registry ends with", async () => {
  const org = `${svc.registries.plain}/${RUN}-matrix`;
  const repo = tmpRepo({
    "multi/Dockerfile": "FROM scratch\nCOPY hello.txt /\n",
    "multi/hello.txt": "hello\n",
    "multi/build.yml": `image: multi\narches: [amd64, arm64, arm, "386"]\n`,
  });
  const dir = join(repo.dir, "multi");
  const gunRepo = `${org}/multi`;
  // Built first, so the machines race on the index and its signature, not on the engine.
  const built = run(["build", "--org", org, dir]);
  assert.is(built.code, 0, built.stderr);
  // The first machine creates the repository's trust data; the others start from a copy of its keys.
  const first = run(["push", "--arches", "amd64", "--org", org, dir]);
  assert.is(first.code, 0, first.stderr);
  const machines = ["arm64", "arm", "386"].map((arch) => {
    const config = mkdtempSync(join(TMP, `machine-${arch}-`));
    cpSync(DOCKER_CONFIG, config, { recursive: true });
    return { arch, config };
  });
  const runs = await Promise.all(machines.map(({ arch, config }) => shAsync([process.execPath, BIN, "push", "--org", org, "--arches", arch, dir], undefined, { ...env, DOCKER_CONFIG: config })));
  for (const r of runs) {
    printed.push(r.stdout, r.stderr);
    assert.is(r.code, 0, r.stderr);
  }
  const tag = run(["show-tag", "--org", org, dir]).stdout.trim().split(":").pop()!;
  const index = (await client.getManifest(gunRepo, tag))!;
  assert.equal(index.json.manifests!.map((d) => d.platform!.architecture).sort(), ["386", "amd64", "arm", "arm64"]);
  const list = notary("list", gunRepo);
  assert.is(list.code, 0, list.stderr);
  const targets = new Map(list.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 3).map((f) => [f[0]!, f[1]!]));
  for (const d of index.json.manifests!) {
    const arch = d.platform!.architecture;
    assert.is(targets.get(`${tag}-${arch}`), d.digest.slice(7), `${arch} is signed with the digest the index lists`);
  }
  assert.is(targets.get(tag), index.digest.slice(7), "the index tag's signed target is the registry's final index, not one a machine merged earlier");
  // And Docker's content trust agrees: it resolves the tag through the signed target and pulls arm/v7.
  const pull = docker(["pull", "--platform", "linux/arm/v7", `${gunRepo}:${tag}`], { DOCKER_CONTENT_TRUST: "1" });
  assert.is(pull.code, 0, pull.stderr);
  assert.match(pull.stdout + pull.stderr, `${gunRepo}:${tag}@${index.digest}`);
  repo.rm();
});

test("no passphrase or root passphrase appears in anything pkgkit printed (plans, logs, errors, JSON)", () => {
  const verbose = run(["push", "--verbose", "--force", "--arches", "amd64", "--org", ORG, HELLO]);
  assert.is(verbose.code, 0, verbose.stderr);
  const all = printed.join("\n");
  assert.ok(all.length > 1000, "captured the runs' output");
  assertNoSecrets(all, { REPO_PASS, ROOT_PASS, WRONG_REPO_PASS, WRONG_ROOT_PASS });
});

test.run();
