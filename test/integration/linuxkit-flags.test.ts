// LinuxKit's build and push flags and `pkgkit pkg <command>`, against the real engines and
// registry: what each flag builds or pushes, read back from the engine and the registry. Where the
// real linuxkit binary can answer (its --help flag lists, `pkg show-tag`), pkgkit is compared with
// it. A tiny FROM scratch package keeps each build to a second or so.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lsTree, must, pkgkit, sh, tmpRepo } from "../helpers.ts";
import { linuxkitOracle } from "../linuxkit.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { Plan } from "../../lib/plan/schema.ts";

const svc = services();
const RUN = `lk${process.pid}${Date.now().toString(36)}`;
const repo = tmpRepo({
  "p/Dockerfile": "FROM scratch\nCOPY a /\n",
  "p/a": "1\n",
  "p/build.yml": "image: tiny\narches: [amd64, arm64]\n",
});
const client = createRegistry({});
const images: [string | undefined, string][] = [];
/** Variables a developer's shell may set, cleared so each test says what it sets. */
const CLEAN = { PKGKIT_ORG: "", PKGKIT_CONFIG: "", PKGKIT_BUILDERS: "", LINUXKIT_BUILDERS: "", LINUXKIT_PKG_ORG: "" };
const run = (args: string[], env: Record<string, string> = {}) => pkgkit(args, { cwd: repo.dir, env: { ...CLEAN, ...env } });
const ok = (args: string[], env?: Record<string, string>) => {
  const r = run(args, env);
  assert.is(r.code, 0, `${args.join(" ")}\n${r.stderr}`);
  return r;
};
const inEngine = (ref: string, host?: string) => sh(["docker", ...(host ? ["--host", host] : []), "image", "inspect", ref]).code === 0;
/** The package's tag: its tree hash (clean). */
const tag = () => lsTree(repo.dir, "p");

const found = linuxkitOracle();
const oracle = "bin" in found ? { bin: found.bin } : { why: found.missing };

/** Long flags a `--help` text lists: every `--name` in the names column (before the first run of two spaces) of each option line. */
const flagsOf = (help: string) =>
  new Set(help.split("\n").filter((l) => /^\s+-/.test(l)).flatMap((l) => [...l.trim().split(/\s{2,}/)[0]!.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!)));

test("every flag linuxkit's `pkg build --help` and `pkg push --help` list is one `pkgkit pkg build|push` takes (compared with the real binary)", () => {
  if (!oracle.bin) return console.log(`  skipped: ${oracle.why}`);
  // `build --release` without --push: linuxkit fails ("cannot release ... if not pushing"), pkgkit's build has no --release; with --push, push takes it.
  const unpushed = { build: ["release"], push: [] as string[] };
  for (const command of ["build", "push"] as const) {
    const theirs = flagsOf(must([oracle.bin, "pkg", command, "--help"]));
    assert.ok(theirs.size > 30, `parsed linuxkit's ${command} --help: ${[...theirs].join(" ")}`);
    const ours = flagsOf(ok(["pkg", command, "--help"]).stdout);
    const missing = [...theirs].filter((f) => !ours.has(f) && !unpushed[command].includes(f));
    assert.equal(missing, [], `linuxkit pkg ${command} flags pkgkit pkg ${command} does not take`);
  }
});

test("`pkgkit pkg show-tag` prints what `linuxkit pkg show-tag` prints (compared with the real binary)", () => {
  if (!oracle.bin) return console.log(`  skipped: ${oracle.why}`);
  const theirs = must([oracle.bin, "pkg", "show-tag", "p"], repo.dir, CLEAN);
  assert.is(ok(["pkg", "show-tag", "p"]).stdout, theirs);
  assert.is(ok(["pkg", "show-tag", "--org", "wombat", "p"]).stdout, must([oracle.bin, "pkg", "show-tag", "--org", "wombat", "p"], repo.dir, CLEAN));
});

test("--platforms linux/arm64 builds only arm64 in the engine; --skip-platforms linux/amd64 too; both at once are refused, as linuxkit refuses them", () => {
  const org = `${RUN}-platforms`;
  ok(["pkg", "build", "--org", org, "--platforms", "linux/arm64", "-q", "p"]);
  const t = tag();
  assert.ok(inEngine(`${org}/tiny:${t}-arm64`));
  assert.not.ok(inEngine(`${org}/tiny:${t}-amd64`), "amd64 not built");
  images.push([undefined, `${org}/tiny:${t}-arm64`]);
  const skip = ok(["build", "--org", org, "--skip-platforms", "linux/amd64", "p"]);
  assert.match(skip.stderr, `skip ${org}/tiny:${t}-arm64: exists in local engine`);
  assert.not.ok(inEngine(`${org}/tiny:${t}-amd64`), "amd64 skipped");
  const both = run(["pkg", "build", "--platforms", "linux/amd64", "--skip-platforms", "linux/arm64", "p"]);
  assert.is(both.code, 2);
  assert.match(both.stderr, "--skip-platforms and --platforms may not be used together");
  if (oracle.bin) assert.match(sh([oracle.bin, "pkg", "build", "--platforms", "linux/amd64", "--skip-platforms", "linux/arm64", "p"], repo.dir).stderr, "--skip-platforms and --platforms may not be used together");
  const none = run(["pkg", "build", "--skip-platforms", "linux/amd64,linux/arm64", "p"]);
  assert.is(none.code, 0, "a package left with no arch is skipped, as linuxkit skips it");
  assert.match(none.stderr, `Skipping linuxkit/tiny:${t} with no architectures to build`);
});

test("LINUXKIT_BUILDERS linux/arm64=<second engine> builds arm64 there; --builders linux/arm64=<local> overrides it for arm64 only", () => {
  const org = `${RUN}-builders`;
  const t = tag();
  const local = `unix://${process.env.DOCKER_HOST?.replace(/^unix:\/\//, "") || "/var/run/docker.sock"}`;
  ok(["pkg", "build", "--org", org, "--platforms", "linux/arm64", "p"], { LINUXKIT_BUILDERS: `linux/arm64=${svc.remoteEngine}` });
  assert.ok(inEngine(`${org}/tiny:${t}-arm64`, svc.remoteEngine), "arm64 in the second engine");
  assert.not.ok(inEngine(`${org}/tiny:${t}-arm64`), "not in the local one");
  images.push([svc.remoteEngine, `${org}/tiny:${t}-arm64`]);
  const merged = JSON.parse(ok(["plan", "--json", "--org", org, "--builders", `linux/arm64=${local}`, "p"], { LINUXKIT_BUILDERS: `linux/arm64=${svc.remoteEngine},linux/amd64=${svc.remoteEngine}` }).stdout) as Plan;
  assert.equal(merged.inputs!.builders, { amd64: `buildx@${svc.remoteEngine}`, arm64: `buildx@${local}` }, "the flag wins for arm64, the variable keeps amd64");
});

test("--manifest=false pushes each arch and no index (read back from the registry); --nobuild pushes what the engine has and refuses, naming it, what it lacks", async () => {
  const org = `${svc.registries.plain}/${RUN}-push`;
  const t = tag();
  // Build amd64 only, then push with --nobuild: amd64 comes from the engine; arm64 would need a build.
  ok(["pkg", "build", "--org", org, "--platforms", "linux/amd64", "p"]);
  images.push([undefined, `${org}/tiny:${t}-amd64`]);
  const lacking = run(["pkg", "build", "--push", "--nobuild", "--org", org, "p"]);
  assert.is(lacking.code, 2, lacking.stderr);
  assert.match(lacking.stderr, `--nobuild: this image is neither in the registry nor in its engine, so it would be built:\n  ${org}/tiny:${t}-arm64`);
  assert.is(await client.headManifest(`${org}/tiny`, `${t}-amd64`), undefined, "nothing pushed");
  const pushed = ok(["pkg", "push", "--nobuild", "--manifest=false", "--platforms", "linux/amd64", "--org", org, "--json", "p"]);
  const out = JSON.parse(pushed.stdout) as { plan: Plan };
  assert.equal(out.plan.steps.map((s) => s.kind), ["skip", "push"], "nothing built, nothing merged, nothing signed");
  assert.ok(await client.headManifest(`${org}/tiny`, `${t}-amd64`), "the arch's image is in the registry");
  assert.is(await client.getManifest(`${org}/tiny`, t), undefined, "no index");
});

test("`pkgkit pkg push` signs nothing unless a signer is configured; plain `pkgkit push` keeps Notary; --signer under pkg signs", () => {
  const org = `${svc.registries.plain}/${RUN}-sign`;
  const kinds = (args: string[]) => (JSON.parse(ok([...args, "--dry-run", "--json", "--org", org, "--platforms", "linux/amd64", "p"]).stdout) as Plan).steps.map((s) => s.kind);
  assert.equal(kinds(["pkg", "push"]), ["build", "push", "index"]);
  assert.equal(kinds(["pkg", "build", "--push"]), ["build", "push", "index"]);
  assert.equal(kinds(["push"]), ["sign", "build", "push", "sign", "attest", "index", "sign"], "pkgkit's own default: Notary (it signs the attestations too)");
  assert.equal(kinds(["pkg", "push", "--signer", "notary"]), ["sign", "build", "push", "sign", "attest", "index", "sign"]);
  assert.equal(kinds(["pkg", "push", "--signer", "notary", "--sbom-scanner", "false"]), ["sign", "build", "push", "sign", "index", "sign"], "LinuxKit's switch turns them off");
  const yml = join(repo.dir, "signing.yml");
  writeFileSync(yml, "signer: notary\n");
  assert.equal((JSON.parse(ok(["pkg", "push", "--dry-run", "--json", "--org", org, "--platforms", "linux/amd64", "p"], { PKGKIT_CONFIG: yml }).stdout) as Plan).steps.filter((s) => s.kind === "sign").length, 3, "pkgkit.yml names a signer");
});

test("--dockerfile, --build-arg-file (repeatable, later wins) and --sbom-scanner false build for real; the arg lands in the image", () => {
  const org = `${RUN}-df`;
  const files = tmpRepo({ "one.args": "FLAVOUR=one\nOTHER=1\n", "two.args": "FLAVOUR=two\n" });
  repo.write("p/Dockerfile.alt", "FROM scratch\nCOPY a /alt\nARG FLAVOUR=none\nLABEL flavour=$FLAVOUR\n");
  repo.commit();
  const t = tag();
  ok(["pkg", "build", "--org", org, "--platforms", "linux/amd64", "--dockerfile", "Dockerfile.alt", "--build-arg-file", join(files.dir, "one.args"), "--build-arg-file", join(files.dir, "two.args"), "--sbom-scanner", "false", "p"]);
  const ref = `${org}/tiny:${t}-amd64`;
  assert.is(must(["docker", "image", "inspect", "--format", '{{index .Config.Labels "flavour"}}', ref]).trim(), "two");
  images.push([undefined, ref]);
  const escape = run(["build", "--dockerfile", "../Dockerfile", "p"]);
  assert.is(escape.code, 2);
  assert.match(escape.stderr, '--dockerfile "../Dockerfile": expected a path relative to each package directory and inside it');
  files.rm();
});

test("-q prints nothing on success; -v 2 and a bare -v note the flags accepted without effect; refused flags exit 2 naming what to use", () => {
  const org = `${RUN}-quiet`;
  const quiet = ok(["pkg", "build", "-q", "--org", org, "--platforms", "linux/amd64", "--docker", "p"]);
  assert.is(quiet.stderr + quiet.stdout, "");
  images.push([undefined, `${org}/tiny:${tag()}-amd64`]);
  for (const v of [["-v", "2"], ["-v"]]) {
    const loud = ok(["pkg", "build", ...v, "--org", org, "--platforms", "linux/amd64", "--docker", "--builder-name", "x", "--sbom-scanner", "syft", "p"]);
    assert.match(loud.stderr, "note: --builder-name: accepted, no effect", v.join(" "));
    assert.match(loud.stderr, "note: --sbom-scanner syft: accepted, no effect: pkgkit makes its own SBOM", v.join(" "));
    assert.match(loud.stderr, "note: --docker: accepted, no effect", v.join(" "));
  }
  assert.not.match(ok(["pkg", "build", "--org", org, "--platforms", "linux/amd64", "--docker", "p"]).stderr, "note:", "no notes without -v");
  const secret = `pw-${RUN}`;
  const creds = run(["pkg", "build", "--registry-creds", `https://r.example/=u:${secret}`, "p"]);
  assert.is(creds.code, 2);
  assert.match(creds.stderr, "--registry-creds: not supported by pkgkit: credentials never go on the command line");
  assert.not.match(creds.stderr + creds.stdout, secret);
  const both = run(["pkg", "build", "-q", "-v", "2", "p"]);
  assert.is(both.code, 2);
  assert.match(both.stderr, "-q and -v 2: quiet and verbose at once");
  const manifest = run(["pkg", "manifest", "p"]);
  assert.is(manifest.code, 2);
  assert.match(manifest.stderr, "pkg manifest: not a pkgkit command: pkgkit push merges");
});

test.after(() => {
  for (const [host, ref] of images) sh(["docker", ...(host ? ["--host", host] : []), "rmi", "-f", ref]);
  repo.rm();
});

test.run();
