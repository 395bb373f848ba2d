// `pkgkit plan --json <override>` → `pkgkit apply`: a plan made with each override (flag or
// environment variable) applies as made, whatever the environment says at apply time, and the
// run is the plan's; an edited override (or the input it names, changed) is refused, exit 3,
// naming what changed. A tiny FROM scratch package keeps each build to a second or so.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, pkgkit, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Plan } from "../../lib/plan/schema.ts";
import type { Result } from "../../lib/run.ts";

const svc = services();
const RUN = `o${process.pid}${Date.now().toString(36)}`;
const work = mkdtempSync(join(tmpdir(), "pkgkit-apply-overrides-"));
const repo = tmpRepo({
  "p/Dockerfile": "FROM scratch\nCOPY a /\n",
  // --dockerfile and --build-arg-file: the other Dockerfile puts the arg in a label the image keeps.
  "p/Dockerfile.alt": "FROM scratch\nCOPY a /alt\nARG FLAVOUR=none\nLABEL flavour=$FLAVOUR\n",
  "p/a": "1\n",
  "p/build.yml": "image: tiny\narches: [amd64, arm64]\n",
});
const PKG = join(repo.dir, "p");
const client = createRegistry({});
const images: [string | undefined, string][] = [];

/** `pkgkit plan --json <args> p` (or `command` instead of `plan`), written to a file; PKGKIT_ORG, PKGKIT_CONFIG and the builder variables cleared unless `env` sets them. */
function planFile(name: string, args: string[], env: Record<string, string> = {}, command = ["plan"]): { file: string; plan: Plan } {
  const r = pkgkit([...command, "--json", ...args, "p"], { cwd: repo.dir, env: { PKGKIT_ORG: "", PKGKIT_CONFIG: "", PKGKIT_BUILDERS: "", LINUXKIT_BUILDERS: "", ...env } });
  assert.is(r.code, 0, r.stderr);
  return { file: write(name, JSON.parse(r.stdout)), plan: JSON.parse(r.stdout) as Plan };
}
function write(name: string, plan: Plan): string {
  const file = join(work, name);
  writeFileSync(file, JSON.stringify(plan));
  return file;
}
const apply = (file: string, env: Record<string, string> = {}) => pkgkit(["apply", "--json", file], { cwd: tmpdir(), env: { PKGKIT_ORG: "", PKGKIT_CONFIG: "", PKGKIT_BUILDERS: "", LINUXKIT_BUILDERS: "", ...env } });

/** Applied (exit 0), the run is the file's plan with every step done; returns the built images' refs. */
function applied(file: string, plan: Plan, env?: Record<string, string>): string[] {
  const r = apply(file, env);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { plan: Plan; result: Result };
  assert.equal(out.plan, plan, "the plan run is the file's");
  assert.equal(out.result.steps.map((s) => [s.id, s.status]), plan.steps.map((s) => [s.id, "done"]));
  return plan.steps.flatMap((s) => (s.kind === "build" ? [s.ref] : []));
}
/** Refused (exit 3) with `says` in the message, nothing run. */
function refused(file: string, says: string, env?: Record<string, string>) {
  const r = apply(file, env);
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, says);
  assert.not.match(r.stderr, "building");
}
const inEngine = (ref: string, host?: string) => sh(["docker", ...(host ? ["--host", host] : []), "image", "inspect", ref]).code === 0;
const buildArgv = (plan: Plan) => plan.steps.flatMap((s) => (s.kind === "build" ? [s.command.argv.join(" ")] : []));

test("--hash: apply builds the plan's tag; the hash edited in the plan → refused, naming both tags", () => {
  const org = `${RUN}-hash`;
  const { file, plan } = planFile("hash.json", ["--org", org, "--arches", "amd64", "--hash", "h1"]);
  assert.equal(plan.inputs!.resolved, { from: repo.dir, org, hash: "h1" });
  const edited = structuredClone(plan);
  edited.inputs!.resolved!.hash = "h2";
  refused(write("hash-edited.json", edited), `  ${PKG}: planned ${org}/tiny:h1, now ${org}/tiny:h2`);
  assert.equal(applied(file, plan), [`${org}/tiny:h1-amd64`]);
  assert.ok(inEngine(`${org}/tiny:h1-amd64`));
  images.push([undefined, `${org}/tiny:h1-amd64`]);
});

test("--org and PKGKIT_ORG: apply builds under the plan's org whatever PKGKIT_ORG says then; the org edited → refused", () => {
  for (const [how, args, env] of [["flag", ["--org", `${RUN}-flag`], {}], ["env", [], { PKGKIT_ORG: `${RUN}-env` }]] as const) {
    const org = `${RUN}-${how}`;
    const { file, plan } = planFile(`org-${how}.json`, [...args, "--arches", "amd64"], env);
    assert.is(plan.inputs!.resolved!.org, org, how);
    const edited = structuredClone(plan);
    edited.inputs!.resolved!.org = `${org}-other`;
    refused(write(`org-${how}-edited.json`, edited), `  ${PKG}: planned ${org}/tiny:${plan.packages[0]!.tag}; the directory now holds ${org}-other/tiny:${plan.packages[0]!.tag}`);
    const [ref] = applied(file, plan, { PKGKIT_ORG: `${RUN}-elsewhere` });
    assert.is(ref, `${org}/tiny:${plan.packages[0]!.tag}-amd64`, how);
    assert.ok(inEngine(ref!), how);
    images.push([undefined, ref!]);
  }
});

test("--arches: apply builds only the planned arch; a plan for an arch the package no longer builds → refused", () => {
  const org = `${RUN}-arches`;
  const { file, plan } = planFile("arches.json", ["--org", org, "--arches", "arm64"]);
  assert.equal(plan.packages[0]!.arches, ["arm64"]);
  const edited = structuredClone(plan);
  edited.packages[0]!.arches = ["riscv64" as "arm64"];
  refused(write("arches-edited.json", edited), `  ${PKG}: planned ${org}/tiny:${plan.packages[0]!.tag} for riscv64, which it no longer builds (arches: amd64, arm64)`);
  const [ref] = applied(file, plan);
  assert.is(ref, `${org}/tiny:${plan.packages[0]!.tag}-arm64`);
  assert.ok(inEngine(ref!));
  assert.not.ok(inEngine(`${org}/tiny:${plan.packages[0]!.tag}-amd64`), "amd64 was not planned");
  images.push([undefined, ref!]);
});

test("--builders amd64=<local socket as an endpoint>, arm64=<second engine>: each arch is built where the plan says; applied again → refused (the images exist)", () => {
  const org = `${RUN}-builders`;
  const local = `unix://${process.env.DOCKER_HOST?.replace(/^unix:\/\//, "") || "/var/run/docker.sock"}`;
  const { file, plan } = planFile("builders.json", ["--org", org, "--builders", `amd64=${local},arm64=${svc.remoteEngine}`]);
  assert.equal(plan.inputs!.builders, { amd64: `buildx@${local}`, arm64: `buildx@${svc.remoteEngine}` });
  const refs = applied(file, plan);
  const tag = plan.packages[0]!.tag;
  assert.equal(refs, [`${org}/tiny:${tag}-amd64`, `${org}/tiny:${tag}-arm64`]);
  assert.ok(inEngine(refs[0]!, local));
  assert.ok(inEngine(refs[1]!, svc.remoteEngine), "arm64 in the second engine");
  assert.not.ok(inEngine(refs[1]!), "and not in the local one");
  refused(file, `  ${refs[1]} (engine): planned not there, now sha256:`);
  images.push([undefined, refs[0]!], [svc.remoteEngine, refs[1]!]);
});

test("--network and --disable-cache: the build runs with the plan's flags; either edited in the plan → refused, naming the build step", () => {
  const org = `${RUN}-net`;
  const { file, plan } = planFile("net.json", ["--org", org, "--arches", "amd64", "--network", "--disable-cache"]);
  assert.equal(plan.inputs!.resolved, { from: repo.dir, org, network: true, disableCache: true });
  const [argv] = buildArgv(plan);
  assert.not.match(argv!, "--network none");
  assert.match(argv!, "--no-cache");
  for (const field of ["network", "disableCache"] as const) {
    const edited = structuredClone(plan);
    edited.inputs!.resolved![field] = false;
    const step = plan.steps.find((s) => s.kind === "build")!.id;
    refused(write(`net-${field}.json`, edited), `  ${step}: build step differs in command`);
  }
  const [ref] = applied(file, plan);
  images.push([undefined, ref!]);
});

test("--signer sigstore --key and --disable-content-trust: push plans apply as planned, signed or not; another key named in the plan → refused", async () => {
  const password = `pw-${RUN}`;
  const keyPair = (name: string) => {
    const key = join(work, name);
    must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", key], undefined, { COSIGN_PASSWORD: password });
    return key;
  };
  const key = keyPair("key.pem");
  const org = `${svc.registries.plain}/${RUN}-sign`;
  const signed = planFile("signed.json", ["--push", "--org", org, "--arches", "amd64", "--signer", "sigstore", "--key", key]);
  assert.equal(signed.plan.inputs!.signing, { signer: "sigstore", key });
  assert.equal(signed.plan.steps.map((s) => s.kind), ["sign", "build", "push", "sign", "attest", "index", "sign"]);
  const edited = structuredClone(signed.plan);
  edited.inputs!.signing!.key = keyPair("other.pem");
  refused(write("signed-edited.json", edited), `signed with sigstore key ${key} (encrypted file sha256 `, { COSIGN_PASSWORD: password });
  applied(signed.file, signed.plan, { COSIGN_PASSWORD: password });
  const repository = `${org}/tiny`;
  const tag = signed.plan.packages[0]!.tag;
  const index = (await client.getManifest(repository, tag))!;
  assert.ok(await client.headManifest(repository, `sha256-${index.digest.slice(7)}`), "the index's signature is in the registry");

  const unsignedOrg = `${svc.registries.plain}/${RUN}-unsigned`;
  const unsigned = planFile("unsigned.json", ["--push", "--org", unsignedOrg, "--arches", "amd64", "--signer", "sigstore", "--key", key, "--disable-content-trust"]);
  assert.equal(unsigned.plan.steps.map((s) => s.kind), ["build", "push", "index"]);
  applied(unsigned.file, unsigned.plan);
  const unsignedIndex = (await client.getManifest(`${unsignedOrg}/tiny`, tag))!;
  assert.is(await client.headManifest(`${unsignedOrg}/tiny`, `sha256-${unsignedIndex.digest.slice(7)}`), undefined, "no signature");
  images.push([undefined, `${org}/tiny:${tag}-amd64`], [undefined, `${unsignedOrg}/tiny:${tag}-amd64`]);
});

// LinuxKit's flags and variables (lib/cli/linuxkit.ts): a plan made with each applies as made.

test("--platforms linux/arm64 and --skip-platforms linux/amd64: apply builds only the planned arch", () => {
  for (const [how, args] of [["platforms", ["--platforms", "linux/arm64"]], ["skip", ["--skip-platforms", "linux/amd64"]]] as const) {
    const org = `${RUN}-lk-${how}`;
    const { file, plan } = planFile(`lk-${how}.json`, ["--org", org, ...args]);
    assert.equal(plan.packages[0]!.arches, ["arm64"], how);
    const [ref] = applied(file, plan);
    assert.is(ref, `${org}/tiny:${plan.packages[0]!.tag}-arm64`, how);
    assert.ok(inEngine(ref!), how);
    assert.not.ok(inEngine(`${org}/tiny:${plan.packages[0]!.tag}-amd64`), `${how}: amd64 was not planned`);
    images.push([undefined, ref!]);
  }
});

test("--dockerfile and --build-arg-file: apply builds with the plan's Dockerfile and args, whatever the file says then; either edited → refused", () => {
  const org = `${RUN}-lk-df`;
  const args = join(work, "flavour.args");
  writeFileSync(args, "FLAVOUR=planned\n");
  const { file, plan } = planFile("lk-df.json", ["--org", org, "--platforms", "linux/amd64", "--dockerfile", "Dockerfile.alt", "--build-arg-file", args]);
  assert.equal(plan.inputs!.resolved, { from: repo.dir, org, dockerfile: "Dockerfile.alt", buildArgs: { FLAVOUR: "planned" } });
  writeFileSync(args, "FLAVOUR=changed\n");
  for (const [field, value] of [["dockerfile", "Dockerfile"], ["buildArgs", { FLAVOUR: "edited" }]] as const) {
    const edited = structuredClone(plan);
    (edited.inputs!.resolved as Record<string, unknown>)[field] = value;
    refused(write(`lk-df-${field}.json`, edited), `  ${plan.steps[0]!.id}: build step differs in command`);
  }
  const [ref] = applied(file, plan);
  assert.is(must(["docker", "image", "inspect", "--format", "{{index .Config.Labels \"flavour\"}}", ref!]).trim(), "planned");
  images.push([undefined, ref!]);
});

test("--sbom-scanner false: apply builds with attestations off, as planned", () => {
  const org = `${RUN}-lk-sbom`;
  const { file, plan } = planFile("lk-sbom.json", ["--org", org, "--arches", "amd64", "--sbom-scanner", "false"]);
  assert.is(plan.inputs!.attestations, false);
  assert.match(buildArgv(plan)[0]!, "--provenance=false --sbom=false");
  const [ref] = applied(file, plan);
  assert.ok(inEngine(ref!));
  images.push([undefined, ref!]);
});

test("LINUXKIT_BUILDERS linux/arm64=<second engine>: apply builds arm64 there, whatever the variable says then", () => {
  const org = `${RUN}-lk-builders`;
  const { file, plan } = planFile("lk-builders.json", ["--org", org, "--platforms", "linux/arm64"], { LINUXKIT_BUILDERS: `linux/arm64=${svc.remoteEngine}` });
  assert.equal(plan.inputs!.builders, { arm64: `buildx@${svc.remoteEngine}` });
  const [ref] = applied(file, plan, { LINUXKIT_BUILDERS: "" });
  assert.ok(inEngine(ref!, svc.remoteEngine), "arm64 in the second engine");
  assert.not.ok(inEngine(ref!), "and not in the local one");
  images.push([svc.remoteEngine, ref!]);
});

test("--manifest=false and `pkgkit pkg push` (LinuxKit's default: no signer configured, nothing signed): the push plan applies as made, no index, no signature", async () => {
  const org = `${svc.registries.plain}/${RUN}-lk-nomanifest`;
  const { file, plan } = planFile("lk-nomanifest.json", ["--org", org, "--platforms", "linux/amd64", "--manifest=false", "--dry-run"], {}, ["pkg", "push"]);
  assert.equal(plan.steps.map((s) => s.kind), ["build", "push"], "no index, no sign step");
  assert.is(plan.inputs!.manifest, false);
  assert.equal(plan.inputs!.signing, { signByDefault: false });
  applied(file, plan);
  const tag = plan.packages[0]!.tag;
  const pushed = await client.headManifest(`${org}/tiny`, `${tag}-amd64`);
  assert.ok(pushed, "the arch's image is in the registry");
  assert.is(await client.getManifest(`${org}/tiny`, tag), undefined, "no index");
  assert.is(await client.headManifest(`${org}/tiny`, `sha256-${pushed!.digest.slice(7)}`), undefined, "no signature");
  images.push([undefined, `${org}/tiny:${tag}-amd64`]);
});

test.after(() => {
  for (const [host, ref] of images) sh(["docker", ...(host ? ["--host", host] : []), "rmi", "-f", ref]);
  repo.rm();
});

test.run();
