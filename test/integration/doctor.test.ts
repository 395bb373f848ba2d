// `pkgkit doctor` against the real services: all ok on this machine for a package pushing to the
// local registries with Notary and with Sigstore; then each prerequisite taken away in turn,
// without touching the shared services (a socket nothing listens on, an arch with no qemu handler
// here, a registry of the test's own stopped, a certs.d without the CA, a PATH without notary):
// each time the row that says so fails with its fix, and doctor exits 1. Errors of other commands
// that doctor explains end with its hint.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { assertNoSecrets, BIN, must, pkgkit, ROOT, shAsync } from "../helpers.ts";
import { loggedInDockerConfig, services, startRegistry } from "../services.ts";
import { DOCTOR_HINT } from "../../lib/errors.ts";

const svc = services();
if (!svc.notary) throw new Error("services.json has no notary server: run test/env/start.sh");
const NOTARY = svc.notary;
if (!svc.remoteEngines) throw new Error("services.json has no remote engines: run test/env/start.sh (it runs test/env/remote-engines.sh)");
const REMOTE = svc.remoteEngines;
const HELLO = join(ROOT, "examples/hello");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-doctor-"));
const RUN = `doctor${process.pid}`;

const REPO_PASS = `repo-${randomBytes(9).toString("hex")}`;
const ROOT_PASS = `root-${randomBytes(9).toString("hex")}`;
const KEY_PASS = `key-${randomBytes(9).toString("hex")}`;
const printed: string[] = [];

/** A docker config dir: the notary CA where notary looks, the TLS registry's login. */
const DOCKER_CONFIG = loggedInDockerConfig(join(TMP, "docker-config"), NOTARY);

const KEY = join(TMP, "cosign.key");
must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", KEY], undefined, { COSIGN_PASSWORD: KEY_PASS });

const env: Record<string, string> = {
  HOME: TMP,
  DOCKER_CONFIG,
  PKGKIT_CERTS_DIR: svc.certsDir,
  PKGKIT_CONFIG: "",
  DOCKER_CONTENT_TRUST_SERVER: NOTARY.url,
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: REPO_PASS,
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: ROOT_PASS,
  COSIGN_PASSWORD: KEY_PASS,
};

interface Row { check: string; status: "ok" | "warn" | "missing"; found: string; fix: string }
function doctor(args: string[], e: Record<string, string> = {}, cwd?: string): { code: number; rows: Row[]; stderr: string } {
  const r = pkgkit(["doctor", "--json", ...args], { env: { ...env, ...e }, ...(cwd ? { cwd } : {}) });
  printed.push(r.stdout, r.stderr);
  assert.ok(r.code !== 2, r.stderr);
  return { code: r.code, rows: JSON.parse(r.stdout) as Row[], stderr: r.stderr };
}
const row = (rows: Row[], check: string) => {
  const found = rows.find((r) => r.check === check);
  assert.ok(found, `no row ${check} in ${rows.map((r) => r.check).join(", ")}`);
  return found!;
};
const notMissing = (rows: Row[]) => assert.equal(rows.filter((r) => r.status === "missing"), [], "every needed row is ok");

test("a healthy machine: all ok for a package pushing to the plain registry with Notary, and to the TLS registry (login, CA) with Sigstore", () => {
  const notary = doctor(["--org", `${svc.registries.plain}/${RUN}`, HELLO]);
  notMissing(notary.rows);
  assert.is(notary.code, 0);
  assert.match(row(notary.rows, "engine").found, /^Docker Engine \S+ \(API \d+\.\d+\), linux\/amd64/);
  assert.match(row(notary.rows, "binfmt arm64").found, "qemu-aarch64 enabled");
  assert.match(row(notary.rows, `registry ${svc.registries.plain}`).found, `http://${svc.registries.plain}/v2/ answers`);
  assert.is(row(notary.rows, "notary cli").status, "ok");
  assert.match(row(notary.rows, `notary server ${NOTARY.url}`).found, `TLS verified with ${join(DOCKER_CONFIG, "tls", new URL(NOTARY.url).host, "ca.crt")}`);
  assert.match(row(notary.rows, "notary passphrase").found, "$DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE");

  const sigstore = doctor(["--org", `${svc.registries.tls}/${RUN}`, "--key", KEY, "--builders", `arm64=${REMOTE.tls.host}`, HELLO], { DOCKER_CERT_PATH: REMOTE.tls.certs });
  notMissing(sigstore.rows);
  assert.is(sigstore.code, 0);
  assert.match(row(sigstore.rows, "builder arm64").found, new RegExp(`at ${REMOTE.tls.host}; builds .*linux/arm64`));
  assert.not.ok(sigstore.rows.some((r) => r.check === "binfmt arm64"), "an arch with an engine of its own needs no qemu here");
  assert.match(row(sigstore.rows, `tls ${svc.registries.tls}`).found, `verified with ${join(svc.certsDir, svc.registries.tls, "ca.crt")}`);
  assert.match(row(sigstore.rows, `login ${svc.registries.tls}`).found, `credentials from auths in ${join(DOCKER_CONFIG, "config.json")} accepted`);
  assert.match(row(sigstore.rows, "sigstore key").found, `${KEY}: ECDSA P-256 private key, opened with $COSIGN_PASSWORD`);
  assert.not.ok(sigstore.rows.some((r) => r.check.startsWith("notary")), "a package signed by Sigstore needs no notary");
});

test("each prerequisite removed in turn: the row that says so is missing, with its fix, and doctor exits 1", async () => {
  // Engine stopped: a socket nothing listens on.
  const engine = doctor(["--org", `${svc.registries.plain}/${RUN}`, HELLO], { DOCKER_HOST: `unix://${join(TMP, "no-engine.sock")}` });
  assert.is(engine.code, 1);
  assert.is(row(engine.rows, "engine").status, "missing");
  assert.match(row(engine.rows, "engine").found, `no engine answers at unix://${join(TMP, "no-engine.sock")}`);
  assert.match(row(engine.rows, "engine").fix, "start the engine");

  // An arch's own engine (tcp://, mutual TLS) given a client certificate of another CA.
  const builder = doctor(["--org", `${svc.registries.plain}/${RUN}`, "--builders", `arm64=${REMOTE.tls.host}`, HELLO], { DOCKER_CERT_PATH: REMOTE.tls.wrongCerts });
  assert.is(builder.code, 1);
  assert.is(row(builder.rows, "builder arm64").status, "missing");
  assert.match(row(builder.rows, "builder arm64").found, `${REMOTE.tls.host} does not answer`);
  assert.match(row(builder.rows, "builder arm64").fix, "the engine refused pkgkit's client certificate");

  // binfmt: an arch no qemu handler is registered for here (machine checks, no package).
  const foreign = ["riscv64", "s390x", "ppc64le"].find((a) => !existsSync(`/proc/sys/fs/binfmt_misc/qemu-${a}`))!;
  assert.ok(foreign, "some arch has no qemu handler here");
  const binfmt = doctor(["--arches", `amd64,${foreign}`], {}, TMP);
  assert.is(binfmt.code, 1);
  assert.is(row(binfmt.rows, `binfmt ${foreign}`).status, "missing");
  assert.match(row(binfmt.rows, `binfmt ${foreign}`).fix, `tonistiigi/binfmt --install ${foreign}`);
  assert.not.ok(binfmt.rows.some((r) => r.check === "binfmt amd64"), "the engine's own arch needs no emulation");

  // Registry down: a registry of the test's own, ok while it runs, missing once stopped.
  const own = await startRegistry();
  const up = doctor(["--org", `${own.address}/${RUN}`, HELLO]);
  assert.is(row(up.rows, `registry ${own.address}`).status, "ok");
  await own.stop();
  const down = doctor(["--org", `${own.address}/${RUN}`, HELLO]);
  assert.is(down.code, 1);
  assert.is(row(down.rows, `registry ${own.address}`).status, "missing");
  assert.match(row(down.rows, `registry ${own.address}`).found, "connection refused");
  assert.match(row(down.rows, `registry ${own.address}`).fix, "start the registry");

  // A stalled registry (it accepts connections and never answers) does not hold doctor up: its wait is bounded.
  const held: Socket[] = [];
  const stalled = createServer((s) => void held.push(s));
  await new Promise<void>((r) => stalled.listen(0, "127.0.0.1", r));
  const stalledAt = `127.0.0.1:${(stalled.address() as AddressInfo).port}`;
  const s = await shAsync([process.execPath, BIN, "doctor", "--json", "--registry-timeout", "1s", "--org", `${stalledAt}/${RUN}`, HELLO], ROOT, env);
  for (const c of held) c.destroy();
  stalled.close();
  printed.push(s.stdout, s.stderr);
  assert.is(s.code, 1, s.stderr);
  const stalledRow = row(JSON.parse(s.stdout) as Row[], `registry ${stalledAt}`);
  assert.is(stalledRow.status, "missing");
  assert.match(stalledRow.found, /no connection within 1(\.0)?s/);

  // CA missing: the TLS registry, with a certs.d that lacks its CA.
  const emptyCerts = mkdtempSync(join(TMP, "certs.d-"));
  const ca = doctor(["--org", `${svc.registries.tls}/${RUN}`, "--key", KEY, HELLO], { PKGKIT_CERTS_DIR: emptyCerts });
  assert.is(ca.code, 1);
  assert.is(row(ca.rows, `tls ${svc.registries.tls}`).status, "missing");
  assert.match(row(ca.rows, `tls ${svc.registries.tls}`).found, "unknown authority");
  assert.match(row(ca.rows, `tls ${svc.registries.tls}`).fix, `${emptyCerts}/${svc.registries.tls}/ca.crt`);

  // Notary missing: a PATH with everything of /usr/bin but notary.
  const bin = join(TMP, "bin");
  mkdirSync(bin);
  for (const name of readdirSync("/usr/bin")) if (name !== "notary") symlinkSync(join("/usr/bin", name), join(bin, name));
  const notary = doctor(["--org", `${svc.registries.plain}/${RUN}`, HELLO], { PATH: `${bin}:/usr/local/bin` });
  assert.is(notary.code, 1);
  assert.is(row(notary.rows, "notary cli").status, "missing");
  assert.match(row(notary.rows, "notary cli").fix, "apt-get install notary");
  assert.equal(notary.rows.filter((r) => r.status === "missing").map((r) => r.check), ["notary cli"], "only notary is missing");

  // No passphrase source: the variable unset, no passphrase command.
  const pass = doctor(["--org", `${svc.registries.plain}/${RUN}`, HELLO], { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "" });
  assert.is(pass.code, 1);
  assert.is(row(pass.rows, "notary passphrase").status, "missing");
  assert.match(row(pass.rows, "notary passphrase").fix, "set DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE");
});

test("bad input exits 2, naming the flag", () => {
  for (const [args, said] of [[["--arches", "sparc"], "--arches"], [["--builder", "bazel"], "--builder"], [["--builders", "arm64"], "--builders"]] as const) {
    const r = pkgkit(["doctor", ...args], { env, cwd: TMP });
    printed.push(r.stdout, r.stderr);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, said);
  }
});

test("errors doctor explains end with its hint: engine unreachable, registry unreachable, unknown certificate authority, no login", async () => {
  const ends = (r: { code: number; stderr: string }, what: string) => {
    printed.push(r.stderr);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, what);
    assert.ok(r.stderr.trimEnd().endsWith(DOCTOR_HINT), r.stderr);
  };
  ends(pkgkit(["build", "--org", RUN, HELLO], { env: { ...env, DOCKER_HOST: `unix://${join(TMP, "no-engine.sock")}` } }), "Is the Docker engine running?");
  const own = await startRegistry();
  await own.stop();
  ends(pkgkit(["push", "--disable-content-trust", "--registry-retries", "0", "--org", `${own.address}/${RUN}`, HELLO], { env }), `cannot reach registry ${own.address}`);
  ends(pkgkit(["push", "--disable-content-trust", "--registry-retries", "0", "--org", `${svc.registries.tls}/${RUN}`, HELLO], { env: { ...env, PKGKIT_CERTS_DIR: mkdtempSync(join(TMP, "certs.d-")) } }), "signed by an unknown authority");
  ends(pkgkit(["push", "--disable-content-trust", "--registry-retries", "0", "--org", `${svc.registries.auth}/${RUN}`, HELLO], { env: { ...env, DOCKER_CONFIG: mkdtempSync(join(TMP, "no-login-")) } }), `wrong or missing credentials for ${svc.registries.auth}`);
});

test("no secret in anything doctor printed", () => {
  assertNoSecrets(printed.join("\n"), { REPO_PASS, ROOT_PASS, KEY_PASS, registryPassword: svc.password });
});

test.run();
