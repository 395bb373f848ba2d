// Red-team cases: a registry or package in a state an attacker or an earlier mistake left it in,
// through the real CLI against the real engine and registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { BIN, pkgkit, sh, shAsync, tmpRepo } from "../helpers.ts";
import { startFaultProxy } from "../fault-proxy.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import { MediaTypes } from "../../lib/registry/types.ts";

const svc = services();
const RUN = `rt${process.pid}${Date.now().toString(36)}`;
const client = createRegistry({});
const repo = tmpRepo({ "p/Dockerfile": "FROM scratch\nCOPY a.txt /\n", "p/a.txt": "a\n", "p/build.yml": "image: rt\narches: [amd64]\n" });
const pkg = join(repo.dir, "p");

test("a per-arch tag that holds an index is not listed in the index as that arch (exit 1, nothing written)", async () => {
  const org = `${svc.registries.plain}/${RUN}-nested`;
  const name = `${org}/rt`;
  const first = pkgkit(["push", "--disable-content-trust", "--org", org, "--hash", "one", pkg]);
  assert.is(first.code, 0, first.stderr);
  // The index of `one` put under `two-arm64`: a per-arch tag that is not an image.
  const index = await client.getManifest(name, "one");
  assert.ok(index);
  await client.putManifest(name, "two-arm64", index.bytes, index.mediaType);

  const second = pkgkit(["push", "--disable-content-trust", "--org", org, "--hash", "two", pkg]);
  assert.is(second.code, 1, second.stdout + second.stderr);
  assert.ok(
    (second.stdout + second.stderr).includes(`${name}:two-arm64 is a multi-arch index (${MediaTypes.dockerManifestList}), not a single image; not listing it in ${name}:two as arm64`),
    second.stdout + second.stderr,
  );
  assert.is(await client.getManifest(name, "two"), undefined, "no index written at two");
});

test("apply refuses a plan with a step in it twice (exit 3), and builds nothing", () => {
  const org = `${svc.registries.plain}/${RUN}-dup`;
  const made = pkgkit(["plan", "--json", "--org", org, "--hash", "dup", pkg]);
  assert.is(made.code, 0, made.stderr);
  const plan = JSON.parse(made.stdout);
  assert.is(plan.steps.length, 1);
  const build = plan.steps[0];
  const file = join(repo.dir, "dup.json");
  writeFileSync(file, JSON.stringify({ ...plan, steps: [build, build] }));
  const r = pkgkit(["apply", file]);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`  ${build.id}: in the plan 2 times, planned once now`), r.stderr);
  assert.is(sh(["docker", "image", "inspect", `${org}/rt:dup-amd64`]).code, 1, "nothing built");
});

test("an extra source's Dockerfile symlink (or a symlinked directory on its way) out of the package: plan and build refuse, exit 2, the host file is never read", () => {
  // The legacy builder's client follows a Dockerfile symlink out of the context and sends the file it finds.
  const r = tmpRepo({
    "p/Dockerfile": "FROM scratch\nCOPY a.txt /\n",
    "p/a.txt": "a\n",
    "p/build.yml": `image: rtdf\narches: [amd64]\nextra-sources: ["../src:/"]\n`,
    "src/keep": "",
    "host/Dockerfile": "FROM scratch\nRUN-host-file-read\n",
  });
  const yml = join(r.dir, "p/build.yml");
  const hostFile = join(r.dir, "host/Dockerfile");
  symlinkSync(hostFile, join(r.dir, "src/Dockerfile"));
  for (const command of ["plan", "build"]) {
    const out = pkgkit([command, "--builder", "legacy", "--org", `${RUN}-df`, "--hash", "df", join(r.dir, "p")]);
    assert.is(out.code, 2, `${command}: ${out.stdout}${out.stderr}`);
    assert.is(out.stderr, `pkgkit: ${yml}: field "extra-sources[0]": "../src:/": puts a symlink (to ${hostFile}) at "Dockerfile" in the build context, where the build reads the Dockerfile "Dockerfile"; expected a regular file there, not a symlink\n`);
  }
  rmSync(join(r.dir, "src/Dockerfile"));
  r.write("p/build.yml", `image: rtdf\narches: [amd64]\ndockerfile: sub/Dockerfile\nextra-sources: ["../src:/"]\n`);
  r.write("p/sub/Dockerfile", "FROM scratch\nCOPY a.txt /\n");
  symlinkSync(join(r.dir, "host"), join(r.dir, "src/sub"));
  const out = pkgkit(["build", "--builder", "legacy", "--org", `${RUN}-df`, "--hash", "df2", join(r.dir, "p")]);
  assert.is(out.code, 2, out.stdout + out.stderr);
  assert.is(out.stderr, `pkgkit: ${yml}: field "extra-sources[0]": "../src:/": puts a symlink (to ${join(r.dir, "host")}) at "sub" in the build context, where the build reads the Dockerfile "sub/Dockerfile"; expected a directory there, not a symlink\n`);
  assert.not.ok((out.stdout + out.stderr).includes("RUN-HOST-FILE-READ"));
  r.rm();
});

test("SIGINT while the registry's answer to the index PUT is held (the index is stored): exit 130, the index is reported in progress, not as unpublished", async () => {
  const proxy = await startFaultProxy(svc.registries.plain);
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  try {
    const org = `${proxy.address}/${RUN}-sig`;
    const direct = `${svc.registries.plain}/${RUN}-sig/rt`;
    proxy.fault = (r) => (r.method === "PUT" && r.path.endsWith("/manifests/sig") ? { waitAfter: held } : undefined);
    const child = spawn(process.execPath, [BIN, "push", "--disable-content-trust", "--org", org, "--hash", "sig", pkg]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    // Until the registry has stored the index (its answer is still held by the proxy).
    let index = await client.getManifest(direct, "sig");
    for (let i = 0; !index && i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      index = await client.getManifest(direct, "sig");
    }
    assert.ok(index, `the index reached the registry: ${out}`);
    child.kill("SIGINT");
    assert.is(await exited, 130, out);
    const amd64 = await client.headManifest(direct, "sig-amd64");
    assert.ok(amd64);
    assert.match(out, `published by this run:\n  ${org}/rt:sig-amd64  ${amd64.digest}\n` +
      `in progress when interrupted (the registry may have it or not; a re-run pushes what is missing):\n  ${org}/rt:sig (index)\n`);
    assert.not.match(out, "not published:");
  } finally {
    release();
    await proxy.stop();
  }
});

test("a registry that sends a malformed index (an entry null, manifests not an array): exit 1 naming the index and the entry, no index written", async () => {
  const proxy = await startFaultProxy(svc.registries.plain);
  try {
    const index = (manifests: unknown) => ({
      status: 200,
      body: JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }),
      headers: { "content-type": MediaTypes.ociIndex },
    });
    for (const [hash, manifests, why] of [
      ["bad1", [null], "manifests[0] is not a descriptor (expected {mediaType, digest, size})"],
      ["bad2", "x", `"manifests" is a string; expected an array of descriptors`],
    ] as const) {
      proxy.fault = (r) => (r.method === "GET" && r.path.endsWith(`/manifests/${hash}`) ? index(manifests) : undefined);
      const name = `${proxy.address}/${RUN}-bad/rt`;
      const out = await shAsync([process.execPath, BIN, "push", "--disable-content-trust", "--org", `${proxy.address}/${RUN}-bad`, "--hash", hash, pkg]);
      assert.is(out.code, 1, out.stdout + out.stderr);
      assert.ok(
        (out.stdout + out.stderr).includes(`${proxy.address}: manifest ${name}:${hash}: not a valid index: ${why}`),
        out.stdout + out.stderr,
      );
      assert.not.match(out.stdout + out.stderr, "Cannot read properties");
      assert.is(await client.getManifest(`${svc.registries.plain}/${RUN}-bad/rt`, hash), undefined, "no index written");
    }
  } finally {
    await proxy.stop();
  }
});

test("a notary server URL with a password in it (DOCKER_CONTENT_TRUST_SERVER, pkgkit.yml notary.server): plans never show it; push exits 2 naming the setting, nothing pushed", async () => {
  const org = `${svc.registries.plain}/${RUN}-creds`;
  const yml = join(repo.dir, "pkgkit.yml");
  writeFileSync(yml, "notary:\n  server: https://bob:hunter2@127.0.0.1:4443\n");
  for (const [env, source] of [
    [{ DOCKER_CONTENT_TRUST_SERVER: "https://bob:hunter2@127.0.0.1:4443" }, "DOCKER_CONTENT_TRUST_SERVER"],
    [{ PKGKIT_CONFIG: yml }, 'notary "server"'],
  ] as const) {
    for (const args of [["plan", "--push"], ["plan", "--push", "--json"]]) {
      const r = pkgkit([...args, "--org", org, "--hash", "creds", pkg], { env });
      assert.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stdout.includes("https://bob:***@127.0.0.1:4443"), r.stdout);
      assert.not.match(r.stdout + r.stderr, "hunter2");
    }
    const r = pkgkit(["push", "--org", org, "--hash", "creds", pkg], { env: { ...env, DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "not-used" } });
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.ok((r.stdout + r.stderr).includes(`${source} "https://bob:***@127.0.0.1:4443": a notary server URL must not hold a password`), r.stdout + r.stderr);
    assert.not.match(r.stdout + r.stderr, "hunter2");
    assert.is(await client.headManifest(`${org}/rt`, "creds-amd64"), undefined, "nothing pushed");
  }
  rmSync(yml);
});

test("TMPDIR that does not exist, or is a file: exit 2 naming TMPDIR, and pkgkit creates no directory on the way", () => {
  const r = tmpRepo({
    "p/Dockerfile": "FROM scratch\nCOPY . /\n",
    "p/build.yml": `image: rttmp\narches: [amd64]\nextra-sources: ["../src:/s"]\n`,
    "src/s.txt": "s\n",
    "victim/planted": "planted\n",
  });
  const missing = join(r.dir, "victim/no/such/dir");
  let out = pkgkit(["build", "--org", `${RUN}-tmp`, "--hash", "tmp", join(r.dir, "p")], { env: { TMPDIR: missing } });
  assert.is(out.code, 2, out.stdout + out.stderr);
  assert.ok(out.stderr.endsWith(`pkgkit: TMPDIR ${missing}: no such directory; pkgkit makes its scratch directory in it: set TMPDIR to an existing directory\n`), out.stderr);
  assert.equal(readdirSync(join(r.dir, "victim")), ["planted"], "no directory appears on the way to TMPDIR");
  const file = join(r.dir, "victim/planted");
  out = pkgkit(["build", "--org", `${RUN}-tmp`, "--hash", "tmp", join(r.dir, "p")], { env: { TMPDIR: file } });
  assert.is(out.code, 2, out.stdout + out.stderr);
  assert.ok(out.stderr.endsWith(`pkgkit: TMPDIR ${file}: not a directory; pkgkit makes its scratch directory in it: set TMPDIR to an existing directory\n`), out.stderr);
  assert.is(readFileSync(file, "utf8"), "planted\n");
  r.rm();
});

test("SIGINT while the registry's answers to the signature PUTs are held (the .sig tags are stored): exit 130, the report does not say NOT SIGNED", async () => {
  const key = join(repo.dir, "cosign.pem");
  sh(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  const proxy = await startFaultProxy(svc.registries.plain);
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  try {
    const org = `${proxy.address}/${RUN}-sigsign`;
    const direct = `${svc.registries.plain}/${RUN}-sigsign/rt`;
    proxy.fault = (r) => (r.method === "PUT" && /\/manifests\/sha256-[0-9a-f]{64}\.sig$/.test(r.path) ? { waitAfter: held } : undefined);
    const child = spawn(process.execPath, [BIN, "push", "--key", key, "--org", org, "--hash", "sigsign", pkg]);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    // Until both signatures (image and index) are stored; their answers are still held.
    const sigs = async () => (await client.listTags(direct)).filter((t) => t.endsWith(".sig"));
    for (let i = 0; (await sigs()).length < 2 && i < 600; i++) await new Promise((r) => setTimeout(r, 100));
    assert.is((await sigs()).length, 2, `both signatures reached the registry: ${out}`);
    child.kill("SIGINT");
    assert.is(await exited, 130, out);
    const amd64 = (await client.headManifest(direct, "sigsign-amd64"))!;
    const index = (await client.headManifest(direct, "sigsign"))!;
    assert.match(out, `published by this run:\n` +
      `  ${org}/rt:sigsign-amd64  ${amd64.digest}, signing in progress when interrupted (not confirmed; a re-run signs what is missing)\n` +
      `  ${org}/rt:sigsign (index)  ${index.digest}, signing in progress when interrupted (not confirmed; a re-run signs what is missing)\n`);
    assert.not.match(out, "NOT SIGNED");
  } finally {
    release();
    await proxy.stop();
  }
});

test("a registry error message with a newline and terminal escapes is shown on one line, the control characters escaped", async () => {
  const proxy = await startFaultProxy(svc.registries.plain);
  try {
    const message = "boom\n\u001b[2J\rpushed everything, all signed";
    proxy.fault = (r) => (r.method === "PUT" && r.path.endsWith("/manifests/esc-amd64") ? { status: 500, body: JSON.stringify({ errors: [{ code: "UNKNOWN", message }] }) } : undefined);
    const out = await shAsync([process.execPath, BIN, "push", "--disable-content-trust", "--registry-retries", "0", "--org", `${proxy.address}/${RUN}-esc`, "--hash", "esc", pkg]);
    assert.is(out.code, 1, out.stdout + out.stderr);
    assert.ok((out.stdout + out.stderr).includes(": UNKNOWN: boom\\n\\u001b[2J\\rpushed everything, all signed (1 attempt)"), out.stdout + out.stderr);
    assert.not.ok(/[\u001b\r]/.test(out.stdout + out.stderr), "no escape or carriage return from the registry reaches the output");
  } finally {
    await proxy.stop();
  }
});

test.after(() => repo.rm());
test.run();
