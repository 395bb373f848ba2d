// Reproducible images, end to end: one commit, built clean (--disable-cache --force) three times,
// by the pkgkit bin under Node on the local engine, under Deno on the second engine
// (services.json remoteEngine) and under Bun on the local engine, each pushed to a repository of
// its own in the local registry; the amd64, arm64 and index digests read back from the registry
// are the same, for a FROM-scratch package and for one with a RUN step on busybox. Then
// `verify --rebuild`: the same packages rebuild to the registry's digests (exit 0); a RUN that
// writes the time rebuilds to another image, reported with the layer and the file (exit 1).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, lsTree, ROOT, sh, shAsync, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
const REGISTRY = svc.registries.plain;
const RUN = `repro${process.pid}${Date.now().toString(36)}`;
const bin = (n: string) => join(ROOT, "node_modules/.bin", n);
const client = createRegistry({ insecure: [REGISTRY] });

const busybox = (arch: string) => `FROM scratch\nARG TARGETARCH\nCOPY busybox-\${TARGETARCH} /bin/busybox\n${arch}`;
const repo = tmpRepo({
  "scratch/build.yml": "image: scratch\narches: [amd64, arm64]\n",
  "scratch/Dockerfile": busybox('CMD ["/bin/busybox", "echo", "hello"]\n'),
  "run/build.yml": "image: run\narches: [amd64, arm64]\n",
  "run/Dockerfile": busybox('RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc && echo hello > /etc/hello && /bin/busybox ln -s hello /etc/link"]\n'),
  "clock/build.yml": "image: clock\narches: [amd64]\n",
  "clock/Dockerfile": busybox('RUN ["/bin/busybox", "sh", "-c", "/bin/busybox date > /built-at"]\n'),
});
for (const dir of ["scratch", "run", "clock"]) for (const arch of ["amd64", "arm64"]) copyFileSync(join(ROOT, `examples/hello/busybox-${arch}`), join(repo.dir, dir, `busybox-${arch}`));
repo.commit();
const TAGS = { scratch: lsTree(repo.dir, "scratch"), run: lsTree(repo.dir, "run"), clock: lsTree(repo.dir, "clock") };

const org = (name: string) => `${REGISTRY}/${RUN}-${name}`;
const builtRefs: [engine: string | undefined, ref: string][] = [];
const env = { NO_COLOR: "1", PKGKIT_CONFIG: "" };

async function pkgkit(runtime: string[], args: string[]) {
  const r = await shAsync([...runtime, BIN, ...args], repo.dir, env);
  return r;
}

/** The index and per-arch digests of a package in one org, read back from the registry. */
async function published(name: keyof typeof TAGS, where: string): Promise<Record<string, string>> {
  const repository = `${org(where)}/${name}`;
  const index = await client.getManifest(repository, TAGS[name]);
  assert.ok(index, `${repository}:${TAGS[name]} is in the registry`);
  const arches: Record<string, string> = {};
  for (const arch of ["amd64", "arm64"]) {
    const d = await client.headManifest(repository, `${TAGS[name]}-${arch}`);
    if (!d) continue;
    arches[arch] = d.digest;
    assert.ok(index!.json.manifests!.some((m) => m.digest === d.digest && m.platform?.architecture === arch), `the index lists ${arch} at its tag's digest`);
  }
  return { index: index!.digest, ...arches };
}

test("one commit built clean by Node (local engine), Deno (second engine) and Bun: the same amd64, arm64 and index digests in every repository", async () => {
  // The clock package is pushed first and rebuilt last (next test): seconds apart, so its `date` differs.
  const clock = await pkgkit([process.execPath], ["push", "--org", org("node"), "--disable-content-trust", "-q", "clock"]);
  assert.is(clock.code, 0, clock.stderr);
  const clean = ["--disable-cache", "--force", "--disable-content-trust", "-q", "scratch", "run"];
  const remote = `amd64=${svc.remoteEngine},arm64=${svc.remoteEngine}`;
  // At once: each run pushes its own refs (its own org), so no build can race another's.
  const runs = await Promise.all([
    pkgkit([process.execPath], ["push", "--org", org("node"), ...clean]),
    pkgkit([bin("deno"), "run", "-A", "--quiet"], ["push", "--org", org("deno"), "--builders", remote, ...clean]),
    pkgkit([bin("bun")], ["push", "--org", org("bun"), ...clean]),
  ]);
  for (const r of runs) assert.is(r.code, 0, r.stderr);
  for (const name of ["scratch", "run", "clock"] as const) for (const where of ["node", "bun"]) for (const arch of ["amd64", "arm64"]) builtRefs.push([undefined, `${org(where)}/${name}:${TAGS[name]}-${arch}`]);
  for (const name of ["scratch", "run"] as const) for (const arch of ["amd64", "arm64"]) builtRefs.push([svc.remoteEngine, `${org("deno")}/${name}:${TAGS[name]}-${arch}`]);

  for (const name of ["scratch", "run"] as const) {
    const [node, deno, bun] = await Promise.all(["node", "deno", "bun"].map((w) => published(name, w)));
    assert.ok(node!.amd64 && node!.arm64, `${name}: both arches pushed`);
    assert.equal(deno, node, `${name}: Deno on the second engine pushed what Node on the local engine did`);
    assert.equal(bun, node, `${name}: Bun pushed what Node did`);
    // What makes them equal: every time is SOURCE_DATE_EPOCH (0), in the config and in the layers.
    const manifest = (await client.getManifest(`${org("node")}/${name}`, `${TAGS[name]}-amd64`))!;
    const config = JSON.parse(new TextDecoder().decode(await client.getBlob(`${org("node")}/${name}`, manifest.json.config!.digest))) as { created: string; history: { created: string }[] };
    assert.equal([config.created, ...new Set(config.history.map((h) => h.created))], ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]);
  }
});

test("verify --rebuild: the same images again (exit 0); a RUN that writes the time differs, naming the layer and the file (exit 1)", async () => {
  const same = await pkgkit([process.execPath], ["verify", "--rebuild", "--json", "--org", org("node"), "scratch", "run"]);
  assert.is(same.code, 0, same.stdout + same.stderr);
  const rows = JSON.parse(same.stdout) as { ref: string; match: boolean; registry: string; rebuilt: string; layers: unknown[] }[];
  assert.equal(rows.map((r) => [r.ref, r.match, r.rebuilt === r.registry, r.layers]), (["scratch", "run"] as const).flatMap((n) => ["amd64", "arm64"].map((a) => [`${org("node")}/${n}:${TAGS[n]}-${a}`, true, true, []])));
  assert.match(same.stderr, "4 rebuilt, each identical to the registry's");

  const clock = await pkgkit([process.execPath], ["verify", "--rebuild", "--org", org("node"), "clock"]);
  assert.is(clock.code, 1, clock.stdout + clock.stderr);
  const ref = `${org("node")}/clock:${TAGS.clock}-amd64`;
  assert.match(clock.stdout, `DIFFERS  ${ref}  registry sha256:`);
  assert.match(clock.stdout, "\n         config: rootfs.diff_ids\n");
  assert.match(clock.stdout, /\n {9}layer 2 \(registry sha256:[0-9a-f]{12}, rebuilt sha256:[0-9a-f]{12}\): 1 file\(s\) differ\n {11}changed {2}built-at \(content\)\n/);
  assert.match(clock.stderr, `1 of 1 rebuilt images differ from the registry: ${ref}`);
});

test.after(() => {
  for (const [host, ref] of builtRefs) sh(["docker", ...(host ? ["--host", host] : []), "rmi", "-f", ref]);
  repo.rm();
});
test.run();
