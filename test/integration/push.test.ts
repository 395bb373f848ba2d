// Push against real distribution registries (plain HTTP, basic auth, TLS with the project's CA):
// per-arch images, the merged index, skips, and the failure modes. Registry state is read back
// with pkgkit's own client and with skopeo, and pulled and run by the Docker engine.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertNoSecrets, BIN, must, pkgkit, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";
import { services, startRegistry } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import { MediaTypes, type Manifest } from "../../lib/registry/types.ts";
import { imageBlobsFromArchive, tarEntries } from "../../lib/image.ts";
import { openSync, writeSync, closeSync } from "node:fs";

const svc = services();
const RUN = `t${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const TAG = pkgkit(["show-tag", "--org", "x", HELLO]).stdout.trim().split(":").pop()!;

/** A DOCKER_CONFIG with basic-auth credentials for the given registries (for pkgkit and the engine). */
function dockerConfig(auths: Record<string, { username: string; password: string }>, extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-docker-config-"));
  const entries = Object.fromEntries(Object.entries(auths).map(([host, c]) => [host, { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") }]));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: entries, ...extra }));
  return dir;
}
const creds = { username: svc.username, password: svc.password };
const CONFIG = dockerConfig({ [svc.registries.auth]: creds, [svc.registries.tls]: creds });
const env = { DOCKER_CONFIG: CONFIG, PKGKIT_CERTS_DIR: svc.certsDir };
const client = createRegistry({ dockerConfigDir: CONFIG, certsDirs: [svc.certsDir] });

// Unsigned pushes: signing has its own suites (sign-*.test.ts).
const printed: string[] = [];
const push = (args: string[], e: Record<string, string> = {}) => {
  const r = pkgkit(["push", "--disable-content-trust", ...args], { env: { ...env, ...e } });
  printed.push(r.stdout, r.stderr);
  return r;
};
const pushJson = (args: string[], e: Record<string, string> = {}) => {
  const r = push(["--json", ...args], e);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    ok: boolean;
    packages: { ref: string; index: { digest: string; mediaType: string; written: boolean } | null; arches: Record<string, { ref: string; digest: string | null; action: string }> }[];
    plan: { steps: { kind: string; id: string; reason: string }[] };
  };
};

/** skopeo's view of a manifest: the raw bytes, as an outside tool reads them. */
function skopeoRaw(ref: string): string {
  const host = ref.split("/")[0]!;
  const flags =
    host === svc.registries.plain ? ["--tls-verify=false"]
    : host === svc.registries.auth ? ["--tls-verify=false", "--creds", `${svc.username}:${svc.password}`]
    : ["--cert-dir", join(svc.certsDir, host), "--creds", `${svc.username}:${svc.password}`];
  return must(["skopeo", "inspect", "--raw", ...flags, `docker://${ref}`]);
}
const digestOf = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

const platforms = (m: Manifest | undefined) => (m?.json.manifests ?? []).map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort();

for (const kind of ["plain", "auth", "tls"] as const) {
  test(`push to the ${kind} registry: per-arch images and an index that skopeo reads and the engine pulls and runs`, async () => {
    const org = `${svc.registries[kind]}/${RUN}-${kind}`;
    const out = pushJson(["--org", org, HELLO]);
    const pkg = out.packages[0]!;
    assert.is(pkg.ref, `${org}/hello:${TAG}`);
    // The project's client reads the index back: type, platforms, digests that resolve.
    const index = await client.getManifest(`${org}/hello`, TAG);
    assert.ok(index, "index exists");
    assert.is(index!.mediaType, MediaTypes.dockerManifestList);
    assert.is(index!.digest, pkg.index!.digest);
    assert.equal(platforms(index), ["linux/amd64", "linux/arm64"]);
    for (const arch of ["amd64", "arm64"]) {
      const entry = index!.json.manifests!.find((d) => d.platform?.architecture === arch)!;
      assert.is(entry.digest, pkg.arches[arch]!.digest, `${arch} entry = the pushed digest`);
      assert.is((await client.headManifest(`${org}/hello`, `${TAG}-${arch}`))?.digest, entry.digest, `${TAG}-${arch} tag resolves to the entry`);
      const m = await client.getManifest(`${org}/hello`, entry.digest);
      assert.is(m?.mediaType, MediaTypes.dockerManifest);
      for (const layer of m!.json.layers!) assert.ok(await client.blobExists(`${org}/hello`, layer.digest), `layer ${layer.digest} is there`);
    }
    // skopeo, an outside reader, sees the same bytes.
    const raw = skopeoRaw(`${org}/hello:${TAG}`);
    assert.is(digestOf(raw), pkg.index!.digest);
    assert.equal(JSON.parse(raw).manifests.map((d: { platform: { architecture: string } }) => d.platform.architecture).sort(), ["amd64", "arm64"]);
    // The engine pulls the index by tag for each platform and runs it.
    for (const [arch, uname] of [["amd64", "x86_64"], ["arm64", "aarch64"]]) {
      sh(["docker", "rmi", "-f", `${org}/hello:${TAG}`]);
      must(["docker", "pull", "-q", "--platform", `linux/${arch}`, `${org}/hello:${TAG}`], undefined, { DOCKER_CONFIG: CONFIG });
      assert.is(must(["docker", "run", "--rm", "--platform", `linux/${arch}`, `${org}/hello:${TAG}`, "uname", "-m"]).trim(), uname);
    }
  });
}

test("arches from separate runs (tsx, deno, bun running pkg.config.ts) end up in one index; --release points a tag at it", async () => {
  const org = `${svc.registries.plain}/${RUN}-separate`;
  const bin = (n: string) => join(ROOT, "node_modules/.bin", n);
  const viaFile = (runtime: string[], args: string[]) => {
    const r = sh([...runtime, join(HELLO, "pkg.config.ts"), "push", "--disable-content-trust", "--json", "--org", org, ...args], ROOT, env);
    assert.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ReturnType<typeof pushJson>;
  };
  const first = viaFile([bin("tsx")], ["--arches", "amd64"]);
  assert.equal(platforms(await client.getManifest(`${org}/hello`, TAG)), ["linux/amd64"]);
  viaFile([bin("deno"), "run", "-A", "--quiet"], ["--arches", "arm64"]);
  const index = await client.getManifest(`${org}/hello`, TAG);
  assert.equal(platforms(index), ["linux/amd64", "linux/arm64"]);
  assert.is(index!.json.manifests!.find((d) => d.platform?.architecture === "amd64")!.digest, first.packages[0]!.arches.amd64!.digest);
  const third = viaFile([bin("bun")], ["--release", "v1.2.3"]);
  assert.equal(third.plan.steps.map((s) => s.kind), ["skip", "skip", "index"], "only the release tag is new");
  assert.is(third.packages[0]!.index!.digest, index!.digest, "the index is unchanged");
  assert.is((await client.headManifest(`${org}/hello`, "v1.2.3"))?.digest, index!.digest);
});

test("--oci pushes OCI manifests and an OCI index", async () => {
  const org = `${svc.registries.plain}/${RUN}-oci`;
  const out = pushJson(["--org", org, "--oci", HELLO]);
  const index = await client.getManifest(`${org}/hello`, TAG);
  assert.is(index!.mediaType, MediaTypes.ociIndex);
  assert.is(out.packages[0]!.index!.mediaType, MediaTypes.ociIndex);
  assert.equal([...new Set(index!.json.manifests!.map((d) => d.mediaType))], [MediaTypes.ociManifest]);
});

/** Every file under dir with its size and mtime: a registry's storage, to show nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p} ${statSync(p).size} ${statSync(p).mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

test("a second push of an unchanged package builds nothing and uploads nothing (plan and registry storage say so)", async () => {
  const reg = await startRegistry();
  try {
    const org = `${reg.address}/${RUN}-skip`;
    pushJson(["--org", org, HELLO]);
    const before = snapshot(reg.dataDir);
    const planned = JSON.parse(pkgkit(["plan", "--push", "--disable-content-trust", "--json", "--org", org, HELLO], { env }).stdout) as { steps: { kind: string; reason: string }[] };
    assert.equal(planned.steps.map((s) => `${s.kind}: ${s.reason}`), ["skip: exists in registry", "skip: exists in registry", "skip: index in registry lists every arch"]);
    const again = pushJson(["--org", org, HELLO]);
    assert.equal(again.plan.steps.map((s) => s.kind), ["skip", "skip", "skip"]);
    assert.is(again.packages[0]!.arches.amd64!.action, "exists in registry");
    assert.equal(snapshot(reg.dataDir), before, "the registry's storage is untouched");
    // --force rebuilds and pushes again: the same content gives the same digests.
    const forced = pushJson(["--org", org, "--force", "--arches", "arm64", HELLO]);
    assert.is(forced.packages[0]!.arches.arm64!.action, "built, pushed");
  } finally {
    await reg.stop();
  }
});

test("a dirty package is refused (exit 2, nothing pushed) unless --allow-dirty", async () => {
  const repo = tmpRepo({ "p/Dockerfile": "FROM scratch\nCOPY a /\n", "p/a": "1\n", "p/build.yml": "image: dirty\narches: [amd64]\n" });
  writeFileSync(join(repo.dir, "p/a"), "2\n");
  const org = `${svc.registries.plain}/${RUN}-dirty`;
  const r = push(["--org", org, join(repo.dir, "p")]);
  assert.is(r.code, 2);
  assert.match(r.stderr, "refusing to push a package with uncommitted changes");
  assert.match(r.stderr, "pass --allow-dirty");
  assert.equal(await client.listTags(`${org}/dirty`), [], "no tags: listTags answers [] for a repository the registry does not know");
  const allowed = push(["--org", org, "--allow-dirty", join(repo.dir, "p")]);
  assert.is(allowed.code, 0, allowed.stderr);
  assert.ok((await client.listTags(`${org}/dirty`)).some((t) => /-dirty-[0-9a-f]{7}-amd64$/.test(t)));
  repo.rm();
});

test("wrong credentials: a clear error naming the registry, exit 1, and the password is not printed (nor its base64 form)", () => {
  const wrong = "not-the-password-xyz";
  const config = dockerConfig({ [svc.registries.auth]: { username: svc.username, password: wrong } });
  const r = push(["--org", `${svc.registries.auth}/${RUN}-badauth`, HELLO], { DOCKER_CONFIG: config });
  assert.is(r.code, 1);
  assert.match(r.stderr, `credentials for ${svc.registries.auth}`);
  assertNoSecrets(r.stderr + r.stdout, { "wrong password": wrong, "wrong auth (base64)": Buffer.from(`${svc.username}:${wrong}`).toString("base64") });
});

test("TLS registry without its CA: a clear TLS error; with --registry-ca it works", () => {
  const empty = mkdtempSync(join(tmpdir(), "pkgkit-no-certs-"));
  const org = `${svc.registries.tls}/${RUN}-ca`;
  const r = push(["--org", org, "--arches", "amd64", HELLO], { PKGKIT_CERTS_DIR: empty });
  assert.is(r.code, 1);
  assert.match(r.stderr, /TLS/);
  assert.match(r.stderr, svc.registries.tls);
  assert.match(r.stderr, "--registry-ca");
  const ok = push(["--org", org, "--arches", "amd64", "--registry-ca", svc.ca, HELLO], { PKGKIT_CERTS_DIR: empty });
  assert.is(ok.code, 0, ok.stderr);
});

test("credentials from a credHelpers entry backed by a docker-credential-<name> helper on PATH", async () => {
  const bin = mkdtempSync(join(tmpdir(), "pkgkit-cred-bin-"));
  const log = join(bin, "calls.log");
  writeFileSync(
    join(bin, "docker-credential-pkgkit-test"),
    `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\necho "$server" >> ${JSON.stringify(log)}\n` +
      `printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}' "$server" "$TEST_USER" "$TEST_SECRET"\n`,
    { mode: 0o755 },
  );
  const config = dockerConfig({}, { credHelpers: { [svc.registries.auth]: "pkgkit-test" } });
  const org = `${svc.registries.auth}/${RUN}-helper`;
  const r = push(["--org", org, "--arches", "amd64", HELLO], {
    DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}`, TEST_USER: svc.username, TEST_SECRET: svc.password,
  });
  assert.is(r.code, 0, r.stderr);
  assert.match(must(["cat", log]), svc.registries.auth);
  assert.ok(await client.headManifest(`${org}/hello`, `${TAG}-amd64`));
});

test("registry stopped part-way: the run fails clearly, no index points at a missing manifest, a re-run converges", async () => {
  const reg = await startRegistry();
  const org = `${reg.address}/${RUN}-outage`;
  const regClient = createRegistry({});
  try {
    // Stop the registry as soon as the first arch is pushed; the push process is paused meanwhile.
    // One step at a time, so the other arch's push cannot finish alongside the first.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, "push", "--disable-content-trust", "--jobs", "1", "--org", org, HELLO], { env: { ...process.env, ...env } });
      let stderr = "";
      let stopped = false;
      child.stderr.on("data", async (d) => {
        stderr += d;
        if (!stopped && /\] pushed /.test(stderr)) {
          stopped = true;
          child.kill("SIGSTOP");
          await reg.stop();
          child.kill("SIGCONT");
        }
      });
      child.on("close", (code) => resolve({ code, stderr }));
    });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, `cannot reach registry ${reg.address}`);
    assert.match(r.stderr, /FAILED/);
    await reg.restart();
    assert.is(await regClient.getManifest(`${org}/hello`, TAG), undefined, "no index was written");
    const again = pushJson(["--org", org, HELLO]);
    assert.equal(
      again.plan.steps.map((s) => `${s.kind}: ${s.reason}`),
      ["skip: exists in registry", "skip: exists in local engine", "push: not in registry", "index: no index in registry yet"],
      "the arch pushed before the outage is not pushed again; the other one is pushed, not rebuilt",
    );
    const index = await regClient.getManifest(`${org}/hello`, TAG);
    assert.equal(platforms(index), ["linux/amd64", "linux/arm64"]);
    for (const d of index!.json.manifests!) assert.ok(await regClient.headManifest(`${org}/hello`, d.digest));
  } finally {
    await reg.stop();
  }
});

test("image export: docker save → gzipped layers checked against diff_ids; a corrupt layer is refused", async () => {
  const org = `${RUN}-export`;
  assert.is(pkgkit(["build", "--org", org, "--arches", "arm64", HELLO]).code, 0);
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-export-"));
  const archive = join(dir, "image.tar");
  must(["docker", "save", "--output", archive, `${org}/hello:${TAG}-arm64`]);
  const image = await imageBlobsFromArchive(archive, dir);
  const config = JSON.parse(Buffer.from(image.config.data as Uint8Array).toString()) as { architecture: string; rootfs: { diff_ids: string[] } };
  assert.is(image.platform.architecture, "arm64");
  assert.is(image.layers.length, config.rootfs.diff_ids.length);
  const manifest = JSON.parse(Buffer.from(image.manifest.bytes).toString()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
  assert.is(manifest.config.digest, image.config.digest);
  assert.is(digestOf(Buffer.from(image.manifest.bytes).toString()), image.manifest.digest);
  for (const [i, l] of image.layers.entries()) {
    const gz = (l.data as { path: string }).path;
    assert.is(`sha256:${must(["sh", "-c", 'gzip -dc "$0" | sha256sum', gz]).split(" ")[0]}`, config.rootfs.diff_ids[i], "the gzipped layer unpacks to its diff_id");
    assert.equal([manifest.layers[i]!.digest, manifest.layers[i]!.size], [l.digest, statSync(gz).size]);
  }
  // Flip one byte inside the biggest layer: the export must refuse it.
  const biggest = [...(await tarEntries(archive)).values()].filter((e) => e.name.endsWith("layer.tar")).sort((a, b) => b.size - a.size)[0]!;
  const fd = openSync(archive, "r+");
  writeSync(fd, Buffer.from([0x42]), 0, 1, biggest.offset + 1000);
  closeSync(fd);
  try {
    await imageBlobsFromArchive(archive, dir);
    assert.unreachable("a corrupt layer must be refused");
  } catch (e) {
    assert.match((e as Error).message, "does not match its diff_id");
  }
});

test("the registry password (plain or base64) is in nothing pkgkit printed in this suite", () => {
  assert.ok(printed.join("").length > 1000, "captured the runs' output");
  assertNoSecrets(printed.join("\n"), { "registry password": svc.password, "registry auth (base64)": Buffer.from(`${svc.username}:${svc.password}`).toString("base64") });
});

test.run();
