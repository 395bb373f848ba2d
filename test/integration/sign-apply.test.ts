// Plans with sign steps, `pkgkit plan --push --json` → `pkgkit apply`: Sigstore key pairs against the
// plain test registry (no signing server needed). What apply signed is checked with `pkgkit verify`
// and the public key; refusals must leave the registry as it was.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createHash, createPublicKey } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, must, pkgkit, ROOT, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Plan, Step } from "../../lib/plan/schema.ts";
import type { Result } from "../../lib/run.ts";

const svc = services();
const RUN = `sa${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-sign-apply-"));
const client = createRegistry({});
// No pkgkit.yml from the machine: only what each test sets up.
const env = { PKGKIT_CONFIG: "", COSIGN_PASSWORD: "" };

function keyPair(name: string, password?: string): { key: string; pub: string } {
  const key = join(TMP, `${name}.pem`);
  const pub = join(TMP, `${name}.pub`);
  const cipher = password ? ["-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD"] : [];
  must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", ...cipher, "-out", key], undefined, { COSIGN_PASSWORD: password ?? "" });
  must(["openssl", "pkey", "-in", key, ...(password ? ["-passin", "env:COSIGN_PASSWORD"] : []), "-pubout", "-out", pub], undefined, { COSIGN_PASSWORD: password ?? "" });
  return { key, pub };
}
const one = keyPair("one");
const two = keyPair("two");
/** How plans name a key pair's signer: its path and the base64 SHA-256 of its public key (DER). */
const sigstoreKey = (k: { key: string; pub: string }, path = k.key) =>
  `sigstore key ${path} (public key ${createHash("sha256").update(createPublicKey(readFileSync(k.pub)).export({ type: "spki", format: "der" })).digest("base64")})`;

const run = (args: string[], cwd?: string, e: Record<string, string> = {}) => pkgkit(args, { cwd, env: { ...env, ...e } });
function planFile(name: string, args: string[], cwd?: string): { file: string; plan: Plan } {
  const r = run(["plan", "--push", "--json", ...args], cwd);
  assert.is(r.code, 0, r.stderr);
  const file = join(TMP, name);
  writeFileSync(file, r.stdout);
  return { file, plan: JSON.parse(r.stdout) as Plan };
}
const apply = (file: string, e: Record<string, string> = {}) => run(["apply", "--json", file], tmpdir(), e);
const shape = (p: Plan) => p.steps.map((s: Step) => `${s.kind === "sign" ? `sign ${s.action}` : s.kind}${"arch" in s && s.arch ? ` ${s.arch}` : ""}`);
const tags = (repository: string) => client.listTags(repository).then((t) => t.sort(), () => [] as string[]);
const verify = (org: string, pub: string) => run(["verify", "--key", pub, "--org", org, HELLO]);

test("plan --push --key → apply: the sign steps run as planned (prepare before the pushes), from another directory", async () => {
  const org = `${svc.registries.plain}/${RUN}-exact`;
  const { file, plan } = planFile("exact.json", ["--key", one.key, "--org", org, HELLO]);
  assert.equal(shape(plan), ["sign prepare", "build amd64", "push amd64", "sign sign amd64", "attest amd64", "build arm64", "push arm64", "sign sign arm64", "attest arm64", "index", "sign sign"]);
  assert.equal(plan.inputs!.signing, { key: one.key });
  const prepare = plan.steps[0]!.id;
  for (const s of plan.steps) if (s.kind === "push" || s.kind === "index") assert.ok(s.needs.includes(prepare), `${s.id} needs ${prepare}`);
  assert.equal(plan.observed!.signatures ?? {}, {}, "nothing in the registry: no signature looked up");

  const r = apply(file);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { plan: Plan; result: Result };
  assert.equal(out.result.steps.map((s) => [s.id, s.status]), plan.steps.map((s) => [s.id, "done"]));
  assert.match(r.stderr, "3 signed");
  const ok = verify(org, one.pub);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stderr, "3 signed");
  assert.is(verify(org, two.pub).code, 1, "signed with the planned key, not another");
});

test("what the registry has unsigned is signed by digest; signed meanwhile → apply refuses (exit 3) naming the signature; a new plan signs nothing", async () => {
  const org = `${svc.registries.plain}/${RUN}-raced`;
  const repo = `${org}/hello`;
  const unsigned = run(["push", "--disable-content-trust", "--org", org, HELLO]);
  assert.is(unsigned.code, 0, unsigned.stderr);
  const { file, plan } = planFile("raced.json", ["--key", one.key, "--org", org, HELLO]);
  assert.equal(shape(plan), ["sign prepare", "skip amd64", "sign sign amd64", "attest amd64", "skip arm64", "sign sign arm64", "attest arm64", "skip", "sign sign"]);
  const index = (await client.getManifest(repo, TAG))!;
  const looked = plan.observed!.signatures!;
  assert.equal(Object.values(looked), [null, null, null]);
  assert.ok(Object.hasOwn(looked, `${repo}:${TAG}@${index.digest}`), Object.keys(looked).join(", "));
  for (const s of plan.steps) if (s.kind === "sign" && s.action === "sign") assert.equal(s.needs, [plan.steps[0]!.id], `${s.id}: the digest is known, only the signer must be ready`);

  // Someone signs them meanwhile (the same push the plan describes).
  const other = run(["push", "--key", one.key, "--org", org, HELLO]);
  assert.is(other.code, 0, other.stderr);
  const before = await tags(repo);
  const r = apply(file);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, `${file}: the registry, an engine, a signature or an attestation changed since this plan was made; nothing was done.`);
  assert.match(r.stderr, `  ${repo}:${TAG}@${index.digest} (signature): planned not signed, now signed (${sigstoreKey(one)})`);
  assert.match(r.stderr, new RegExp(`  ${repo}:${TAG}-amd64@sha256:[0-9a-f]{64} \\(attestations\\): planned attestations missing or not verifying, now attested \\(`));
  assert.equal(await tags(repo), before, "no signature written by apply");

  const fresh = planFile("raced-fresh.json", ["--key", one.key, "--org", org, HELLO]);
  assert.equal(shape(fresh.plan), ["skip amd64", "skip arm64", "skip"], "signed: no sign step, not even prepare");
  assert.equal(Object.values(fresh.plan.observed!.signatures!), [sigstoreKey(one), sigstoreKey(one), sigstoreKey(one)]);
  const again = apply(fresh.file);
  assert.is(again.code, 0, again.stderr);
});

test("a plan made with a pkgkit.yml: apply reads that file again wherever it runs; another key in it → exit 3, naming the signer planned and now", async () => {
  const org = `${svc.registries.plain}/${RUN}-yml`;
  const ws = join(TMP, "ws");
  mkdirSync(ws, { recursive: true });
  const yml = join(ws, "pkgkit.yml");
  writeFileSync(yml, `signer: sigstore\nsigstore:\n  key: ${one.key}\n`);
  const { file, plan } = planFile("yml.json", ["--arches", "amd64", "--org", org, HELLO], ws);
  assert.equal(plan.inputs!.signing, { config: yml });
  // The apply directory has a pkgkit.yml of its own: not the plan's, so not read.
  const elsewhere = join(TMP, "elsewhere");
  mkdirSync(elsewhere, { recursive: true });
  writeFileSync(join(elsewhere, "pkgkit.yml"), "signer: notary\n");

  writeFileSync(yml, `signer: sigstore\nsigstore:\n  key: ${two.key}\n`);
  const stale = run(["apply", file], elsewhere);
  assert.is(stale.code, 3, stale.stderr);
  assert.match(stale.stderr, `${file}: the signer changed since this plan was made (another key, server or identity); nothing was done.\n  ${org}/hello:${TAG}: signed with ${sigstoreKey(one)} in the plan, with ${sigstoreKey(two)} now\n`);
  assert.equal(await tags(`${org}/hello`), []);

  writeFileSync(yml, `signer: sigstore\nsigstore:\n  key: ${one.key}\n`);
  const ok = run(["apply", file], elsewhere);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, "2 signed");
});

test("another key put at the planned key's path (plain or encrypted): apply refuses (exit 3) naming both keys by fingerprint, nothing pushed; the plan holds no secret", async () => {
  const org = `${svc.registries.plain}/${RUN}-swap`;
  const password = "pw-for-swap-test";
  const path = join(TMP, "swapped.pem");
  copyFileSync(one.key, path);
  const { file } = planFile("swap.json", ["--key", path, "--arches", "amd64", "--org", org, HELLO]);
  copyFileSync(two.key, path);
  const r = apply(file);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, `${file}: the signer changed since this plan was made (another key, server or identity); nothing was done.\n  ${org}/hello:${TAG}: signed with ${sigstoreKey(one, path)} in the plan, with ${sigstoreKey(two, path)} now\n`);

  // Encrypted keys: planned without their password, so named by the file's digest.
  const locked = [keyPair("swap-a", password), keyPair("swap-b", password)];
  copyFileSync(locked[0]!.key, path);
  const encrypted = planFile("swap-encrypted.json", ["--key", path, "--arches", "amd64", "--org", org, HELLO]);
  const fileDigest = (k: { key: string }) => createHash("sha256").update(readFileSync(k.key)).digest("base64");
  const using = (k: { key: string }) => `sigstore key ${path} (encrypted file sha256 ${fileDigest(k)})`;
  assert.equal([...new Set(encrypted.plan.steps.flatMap((s) => (s.kind === "sign" ? [s.using] : [])))], [using(locked[0]!)]);
  copyFileSync(locked[1]!.key, path);
  const e = apply(encrypted.file, { COSIGN_PASSWORD: password });
  assert.is(e.code, 3, e.stderr);
  assert.match(e.stderr, `  ${org}/hello:${TAG}: signed with ${using(locked[0]!)} in the plan, with ${using(locked[1]!)} now\n`);
  assert.equal(await tags(`${org}/hello`), [], "nothing pushed");
  const plans = readFileSync(file, "utf8") + readFileSync(encrypted.file, "utf8");
  assertNoSecrets(plans + r.stdout + r.stderr + e.stdout + e.stderr, { password });
  for (const k of [one, ...locked]) assert.not.match(plans, readFileSync(k.key, "utf8").split("\n")[1]!, "no line of a private key file in the plans");
});

test("apply where the signing key cannot be read (its password unset): prepare fails, so nothing is pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-nopass`;
  const password = "pw-for-sign-apply-test";
  const locked = keyPair("locked", password);
  const { file } = planFile("nopass.json", ["--key", locked.key, "--arches", "amd64", "--org", org, HELLO]);
  const r = apply(file);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, `signing key ${locked.key} is encrypted: set its password in $COSIGN_PASSWORD`);
  const steps = (JSON.parse(r.stdout) as { result: Result }).result.steps;
  const prepare = steps.find((s) => s.id.endsWith("/sign-prepare"))!;
  assert.is(prepare.status, "failed");
  assert.equal(steps.filter((s) => s.kind === "push" || s.kind === "index").map((s) => [s.kind, s.blockedBy]), [["push", prepare.id], ["index", prepare.id]]);
  assert.equal(await tags(`${org}/hello`), [], "nothing unsigned in the registry");
  // The build (which publishes nothing) ran meanwhile: the engine has the image, so plan again.
  const again = planFile("nopass-again.json", ["--key", locked.key, "--arches", "amd64", "--org", org, HELLO]);
  assert.equal(shape(again.plan), ["sign prepare", "skip amd64", "push amd64", "sign sign amd64", "attest amd64", "index", "sign sign"]);
  const ok = apply(again.file, { COSIGN_PASSWORD: password });
  assert.is(ok.code, 0, ok.stderr);
  assertNoSecrets(r.stdout + r.stderr + ok.stdout + ok.stderr, { password });
  const rows = JSON.parse(run(["verify", "--json", "--key", locked.pub, "--org", org, HELLO]).stdout) as { ref: string; ok: boolean; detail: string; attestation?: string }[];
  assert.equal(rows.filter((v) => !v.attestation).map((v) => [v.ref.slice(org.length), v.ok]), [[`/hello:${TAG}`, true], [`/hello:${TAG}-amd64`, true], [`/hello:${TAG}-arm64`, false]], "amd64 only was planned");
  assert.equal(rows.filter((v) => v.attestation).map((v) => [v.ref.slice(org.length), v.attestation, v.ok]), [
    [`/hello:${TAG}-amd64`, "https://spdx.dev/Document", true], [`/hello:${TAG}-amd64`, "https://slsa.dev/provenance/v1", true],
  ], "amd64's SBOM and provenance");
});

test("packages signing with two keys: the sign steps name each signer by its id, and apply makes the same signers, each package signed with its own key", async () => {
  const repo = tmpRepo({
    "a/build.yml": `image: a\narches: [amd64]\nsigner: {type: sigstore, key: ${JSON.stringify(one.key)}}\n`,
    "a/Dockerfile": "FROM scratch\nCOPY a.txt /\n",
    "a/a.txt": "a\n",
    "b/build.yml": `image: b\narches: [amd64]\nsigner: {type: sigstore, key: ${JSON.stringify(two.key)}}\n`,
    "b/Dockerfile": "FROM scratch\nCOPY b.txt /\n",
    "b/b.txt": "b\n",
  });
  const org = `${svc.registries.plain}/${RUN}-two`;
  const dirs = [join(repo.dir, "a"), join(repo.dir, "b")];
  const { file, plan } = planFile("two.json", ["--org", org, ...dirs]);
  const prepares = plan.steps.flatMap((s) => (s.kind === "sign" && s.action === "prepare" ? [[s.repository, s.signerId, s.using]] : []));
  assert.equal(prepares, [[`${org}/a`, "sigstore", sigstoreKey(one)], [`${org}/b`, "sigstore#2", sigstoreKey(two)]]);
  for (const s of plan.steps) if (s.kind === "sign") assert.is(s.signerId, s.repository === `${org}/a` ? "sigstore" : "sigstore#2", s.id);

  const r = apply(file);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "4 signed");
  const verifyWith = (dir: string, pub: string) => run(["verify", "--key", pub, "--org", org, dir]);
  for (const [dir, pub] of [[dirs[0]!, one.pub], [dirs[1]!, two.pub]] as const) {
    const ok = verifyWith(dir, pub);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
  }
  assert.is(verifyWith(dirs[1]!, one.pub).code, 1, "b is signed with its own key, not a's");
  repo.rm();
});

test("a workspace's signer (pkgkit.config.ts) signs its packages: over pkgkit.yml's signer, with pkgkit.yml's settings; the run's flag wins", () => {
  const repo = tmpRepo({
    "pkgkit.config.ts": `import { defineWorkspace } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\nexport default defineWorkspace({ signer: "sigstore" });\n`,
    "pkgkit.yml": `signer: notary\nsigstore:\n  key: ${one.key}\n`,
    "pkgs/a/build.yml": "image: a\narches: [amd64]\n",
    "pkgs/a/Dockerfile": "FROM scratch\n",
  });
  const org = `${svc.registries.plain}/${RUN}-ws`;
  const signers = (p: Plan) => [...new Set(p.steps.flatMap((s) => (s.kind === "sign" ? [`${s.signer}: ${s.using}`] : [])))];
  const { plan } = planFile("ws.json", ["--org", org], repo.dir);
  assert.equal(signers(plan), [`sigstore: ${sigstoreKey(one)}`]);
  assert.equal(plan.inputs!.signing, { config: join(repo.dir, "pkgkit.yml") });
  const flag = planFile("ws-flag.json", ["--signer", "notary", "--org", org], repo.dir);
  assert.equal(signers(flag.plan).map((s) => s.split(":")[0]), ["notary"]);
  repo.rm();
});

test.run();
