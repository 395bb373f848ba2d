// Remote engines reached over the network: `--builders arm64=ssh://user@host:port` (docker's ssh
// transport: sshd with key authentication in front of a dockerd) and `tcp://host:port` with mutual
// TLS (the workspace's tls files, or DOCKER_CERT_PATH). test/env/remote-engines.sh runs one dockerd
// in a network namespace of its own behind both doors; each test reads that engine (through its
// unix socket) and the registry back to see where each arch was built and what was pushed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { chainRepo, must, pkgkit, pushedManifestOf, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
const remote = svc.remoteEngines;
if (!remote) throw new Error("services.json has no remoteEngines: run test/env/start.sh (it runs test/env/remote-engines.sh start)");
const SSH = remote.ssh.host;
const TCP = remote.tls.host;
/** The docker CLI's ssh is the test env's (its key and known_hosts), first on PATH. */
const SSH_ENV = { PATH: `${remote.ssh.path}${delimiter}${process.env.PATH}` };
const RUN = `${process.pid}${Date.now().toString(36)}`;
const ORG = `${svc.registries.plain}/pkgkit-test-remote-${RUN}`;
const HELLO = join(ROOT, "examples/hello");

type Where = "local" | "remote";
const docker = (where: Where, args: string[]) => (where === "remote" ? ["docker", "--host", remote.socket, ...args] : ["docker", ...args]);
function imageIn(where: Where, ref: string): { Id: string; Architecture: string } | undefined {
  const r = sh(docker(where, ["image", "inspect", ref]));
  return r.code === 0 ? (JSON.parse(r.stdout) as { Id: string; Architecture: string }[])[0] : undefined;
}

interface PlanStep { kind: string; id: string; arch?: string; ref: string; builder?: string; from?: string; reason: string; command?: { argv: string[] } }
interface PushOut { packages: { arches: Record<string, { digest: string; action: string }> }[]; plan: { steps: PlanStep[] } }

/** The index `repo:tag` in the registry: each platform's manifest digest. */
async function indexOf(repo: string, tag: string): Promise<Record<string, { manifest: string }>> {
  const client = createRegistry();
  const index = await client.getManifest(repo, tag);
  assert.ok(index, `${repo}:${tag} is in the registry`);
  const out: Record<string, { manifest: string }> = {};
  for (const d of index!.json.manifests!) {
    if (d.platform?.os !== "linux") continue;
    out[d.platform.architecture] = { manifest: d.digest };
  }
  return out;
}

/** A copy of examples/hello whose image says `word`, so each test builds its own content in the shared remote engine. */
function helloRepo(word: string, files: Record<string, string> = {}) {
  const repo = tmpRepo({
    "hello/build.yml": "image: hello\n",
    "hello/Dockerfile": readFileSync(join(HELLO, "Dockerfile"), "utf8").replace("echo hello from", `echo ${word} from`),
    ...files,
  });
  for (const a of ["amd64", "arm64"]) copyFileSync(join(HELLO, `busybox-${a}`), join(repo.dir, "hello", `busybox-${a}`));
  repo.commit();
  return repo;
}

test("push, arm64 on the ssh engine: built there and exported from there; the index has both platforms, arm64's image is that engine's", async () => {
  const repo = helloRepo("ssh");
  const org = `${ORG}-ssh`;
  const text = pkgkit(["plan", "--push", "--disable-content-trust", "--org", org, "--builders", `arm64=${SSH}`, join(repo.dir, "hello")], { env: SSH_ENV });
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, `buildx@${SSH}`, "the plan text names the builder by its endpoint");

  const r = pkgkit(["push", "--disable-content-trust", "--json", "--org", org, "--builders", `arm64=${SSH}`, join(repo.dir, "hello")], { env: SSH_ENV });
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as PushOut;
  assert.equal(out.plan.steps.filter((s) => s.kind === "push").map((s) => [s.arch, s.builder]), [["amd64", "buildx"], ["arm64", `buildx@${SSH}`]]);
  const arm = out.plan.steps.find((s) => s.kind === "build" && s.arch === "arm64")!;
  assert.equal(arm.command!.argv.slice(0, 5), ["docker", "--host", SSH, "buildx", "build"]);
  const tag = arm.ref.split(":").pop()!.replace(/-arm64$/, "");
  const remoteArm = imageIn("remote", `${org}/hello:${tag}-arm64`);
  assert.is(remoteArm?.Architecture, "arm64", "arm64 built in the ssh engine");
  assert.is(imageIn("local", `${org}/hello:${tag}-arm64`), undefined, "and not in the local one");

  const index = await indexOf(`${org}/hello`, tag);
  assert.equal(Object.keys(index).sort(), ["amd64", "arm64"]);
  assert.is(index.arm64!.manifest, await pushedManifestOf(docker("remote", []), `${org}/hello:${tag}-arm64`), "the registry's arm64 image is the ssh engine's, as push normalises it");
  assert.is(index.amd64!.manifest, await pushedManifestOf(docker("local", []), `${org}/hello:${tag}-amd64`));
  assert.equal(Object.values(out.packages[0]!.arches).map((a) => a.digest).sort(), [index.amd64!.manifest, index.arm64!.manifest].sort());
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", `${org}/hello:${tag}-arm64`])).trim(), "ssh from aarch64");
  repo.rm();
});

test("push through `plan` then `apply`, arm64 on the TLS engine named in the workspace with its tls files: the plan shows paths, never their content; the index has both platforms", async () => {
  const certs = remote.tls.certs;
  const repo = helloRepo("tls", {
    "pkgkit.config.ts": `import { defineWorkspace } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\nexport default defineWorkspace({ builders: { arm64: { host: ${JSON.stringify(TCP)}, tls: { ca: ${JSON.stringify(join(certs, "ca.pem"))}, cert: ${JSON.stringify(join(certs, "cert.pem"))}, key: ${JSON.stringify(join(certs, "key.pem"))} } } } });\n`,
  });
  const org = `${ORG}-tls`;
  const planned = pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--org", org, "hello"], { cwd: repo.dir });
  assert.is(planned.code, 0, planned.stderr);
  assert.not.match(planned.stdout, "PRIVATE KEY");
  assert.not.match(planned.stdout, "BEGIN CERTIFICATE");
  const plan = JSON.parse(planned.stdout) as { steps: PlanStep[]; inputs: { builderTls?: Record<string, unknown> } };
  assert.equal(plan.inputs.builderTls, { arm64: { ca: join(certs, "ca.pem"), cert: join(certs, "cert.pem"), key: join(certs, "key.pem") } });
  const arm = plan.steps.find((s) => s.kind === "build" && s.arch === "arm64")!;
  assert.is(arm.builder, `buildx@${TCP}`);
  assert.equal(arm.command!.argv.slice(0, 11), ["docker", "--host", TCP, "--tlsverify", "--tlscacert", join(certs, "ca.pem"), "--tlscert", join(certs, "cert.pem"), "--tlskey", join(certs, "key.pem"), "buildx"]);

  const file = join(repo.dir, "plan.json");
  writeFileSync(file, planned.stdout);
  const applied = pkgkit(["apply", file], { cwd: repo.dir });
  assert.is(applied.code, 0, applied.stderr);
  const tag = arm.ref.split(":").pop()!.replace(/-arm64$/, "");
  const remoteArm = imageIn("remote", `${org}/hello:${tag}-arm64`);
  assert.is(remoteArm?.Architecture, "arm64", "arm64 built in the TLS engine");
  assert.is(imageIn("local", `${org}/hello:${tag}-arm64`), undefined);
  const index = await indexOf(`${org}/hello`, tag);
  assert.equal(Object.keys(index).sort(), ["amd64", "arm64"]);
  assert.is(index.arm64!.manifest, await pushedManifestOf(docker("remote", []), `${org}/hello:${tag}-arm64`), "the registry's arm64 image is the TLS engine's");
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", `${org}/hello:${tag}-arm64`])).trim(), "tls from aarch64");
  repo.rm();
});

test("a chained build, base built locally first, app's arm64 on the ssh engine: the plan copies base's arm64 there (docker save | load), app builds FROM it", () => {
  const repo = chainRepo();
  const org = `pkgkit-test-remote-chain-${RUN}`;
  // arm64 only: the arch that travels (amd64 would build and stay locally, testing nothing here).
  const base = pkgkit(["build", "--json", "--org", org, "--arches", "arm64", join(repo.dir, "base")]);
  assert.is(base.code, 0, base.stderr);
  const baseArm = (JSON.parse(base.stdout) as { plan: { steps: PlanStep[] } }).plan.steps.find((s) => s.arch === "arm64")!.ref;
  assert.is(imageIn("local", baseArm)?.Architecture, "arm64", "base's arm64 is in the local engine only");
  assert.is(imageIn("remote", baseArm), undefined);

  const text = pkgkit(["plan", "--org", org, "--arches", "arm64", "--builders", `arm64=${SSH}`, join(repo.dir, "app")], { env: SSH_ENV });
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, `copy   ${baseArm}  [from buildx to buildx@${SSH}]`);

  const r = pkgkit(["build", "--json", "--org", org, "--arches", "arm64", "--builders", `arm64=${SSH}`, join(repo.dir, "app")], { env: SSH_ENV });
  assert.is(r.code, 0, r.stderr);
  const steps = (JSON.parse(r.stdout) as { plan: { steps: PlanStep[] } }).plan.steps;
  const copy = steps.find((s) => s.ref === baseArm)!;
  assert.equal([copy.kind, copy.from, copy.builder, copy.reason], ["tag", "buildx", `buildx@${SSH}`, `exists in the local engine, not in engine ${SSH}: copied there rather than rebuilt`]);
  const appArm = steps.find((s) => s.kind === "build" && s.arch === "arm64")!;
  assert.equal([appArm.builder, appArm.command!.argv.includes(`BASE=${baseArm}`)], [`buildx@${SSH}`, true]);
  assert.is(imageIn("remote", baseArm)?.Id, imageIn("local", baseArm)!.Id, "base's arm64 reached the ssh engine as the same image");
  assert.is(must(docker("remote", ["run", "--rm", "--network", "none", appArm.ref])).trim(), "app built on aarch64");
  assert.is(imageIn("local", appArm.ref), undefined);
  repo.rm();
});

test("errors name the builder (arch and endpoint) and what to check: a client certificate of another CA, an unknown ssh host key, nothing listening; nothing is built", () => {
  const org = `pkgkit-test-remote-errors-${RUN}`;
  const build = (builders: string, env: Record<string, string> = {}) =>
    pkgkit(["build", "--org", org, "--builders", builders, HELLO], { env });
  const expect = (r: { code: number; stderr: string }, message: RegExp) => {
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
  };
  expect(build(`arm64=${TCP}`, { DOCKER_CERT_PATH: remote.tls.wrongCerts }),
    new RegExp(`^pkgkit: builder arm64 \\(${TCP.replaceAll(".", "\\.")}\\): the engine refused pkgkit's client certificate: check that the client certificate \\(.*DOCKER_CERT_PATH.*\\) is signed by the CA the engine trusts.*The docker CLI said: .*tls: bad certificate`, "m"));

  // An ssh whose known_hosts is empty: the engine's host key is unknown.
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-ssh-"));
  writeFileSync(join(dir, "known_hosts"), "");
  writeFileSync(join(dir, "config"), readFileSync(remote.ssh.config, "utf8").replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${join(dir, "known_hosts")}`));
  writeFileSync(join(dir, "ssh"), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(dir, "config")} "$@"\n`, { mode: 0o755 });
  const port = /:(\d+)$/.exec(SSH)![1];
  const host = /@([^:]+):/.exec(SSH)![1]!;
  expect(build(`arm64=${SSH}`, { PATH: `${dir}${delimiter}${process.env.PATH}` }),
    new RegExp(`^pkgkit: builder arm64 \\(${SSH.replaceAll(".", "\\.")}\\): ssh does not know this host's key .*ssh-keyscan -p ${port} ${host.replaceAll(".", "\\.")} .*The docker CLI said: Host key verification failed\\.$`, "m"));
  rmSync(dir, { recursive: true, force: true });

  const refused = TCP.replace(/:\d+$/, ":2399");
  expect(build(`arm64=${refused}`), new RegExp(`^pkgkit: builder arm64 \\(${refused.replaceAll(".", "\\.")}\\): nothing accepts connections there \\(connection refused\\): check that the engine runs and listens`, "m"));
  const noCerts = build(`arm64=${TCP}`, { DOCKER_CERT_PATH: join(tmpdir(), `pkgkit-no-certs-${RUN}`) });
  assert.is(noCerts.code, 2, "a missing TLS file is bad input, found before any docker process");
  assert.match(noCerts.stderr, `pkgkit: builder arm64: DOCKER_CERT_PATH ca "${join(tmpdir(), `pkgkit-no-certs-${RUN}`, "ca.pem")}": no such file`);
  assert.is(must(["docker", "image", "ls", "--filter", `reference=${org}/*`, "--format", "{{.Repository}}"]).trim(), "", "nothing built locally");
});

test.run();
