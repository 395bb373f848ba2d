// The CI matrix example, end to end: the `run` steps of examples/ci-matrix/github-workflow.yml,
// job by job in the workflow's order, each job its own processes, temporary directory and engine:
// plan on the local engine; the arch jobs at once, amd64 on the local engine and arm64 on the
// second engine (test/env/start.sh's stand-in for a native arm64 runner); publish with no engine
// at all. `uses` steps are emulated (the plan artifact is copied from the plan job's temporary
// directory to each arch job's) or not needed here (checkout: this checkout; login: the plain
// registry); "install pkgkit" is this checkout's bin, on PATH as `npx pkgkit`. Then the registry is
// read back, and cosign, the outside verifier, checks the signatures.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { must, PACKAGE_BIN, pkgkit, pushedManifestOf, ROOT, sh, shAsync } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";
import type { PlanMatrix } from "../../lib/apply.ts";
import type { BuildStep, Plan } from "../../lib/plan/schema.ts";

const svc = services();
const REMOTE = svc.remoteEngine;
const LOCAL = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
const COSIGN = process.env.COSIGN ?? "cosign";
const RUN = `ci${process.pid}${Date.now().toString(36)}`;
const WORKFLOW = join(ROOT, "examples/ci-matrix/github-workflow.yml");
const TMP = mkdtempSync(join(tmpdir(), "pkgkit-ci-matrix-"));
const client = createRegistry({});

interface Step { name?: string; id?: string; uses?: string; run?: string; env?: Record<string, string> }
interface Job { needs?: string; steps: Step[]; strategy?: { matrix: { arch: string } } }
const workflow = parse(readFileSync(WORKFLOW, "utf8")) as { env: Record<string, string>; jobs: Record<string, Job> };

/** `npx pkgkit ...` runs this checkout's bin, the one package.json names; anything else npx would fetch fails. */
const shims = join(TMP, "bin");
mkdirSync(shims);
writeFileSync(join(shims, "npx"), `#!/bin/sh\n[ "$1" = pkgkit ] || { echo "npx stand-in: only pkgkit" >&2; exit 127; }\nshift\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PACKAGE_BIN)} "$@"\n`);
chmodSync(join(shims, "npx"), 0o755);

/** The workflow expressions the `run` steps' environment uses, and nothing else. */
function expand(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([\w.]+)\s*\}\}/g, (_, expr: string) => {
    if (!Object.hasOwn(values, expr)) throw new Error(`${WORKFLOW}: the test does not know \${{ ${expr} }}`);
    return values[expr]!;
  });
}

interface JobRun { temp: string; outputs: Record<string, string>; log: string }

/** One job of the workflow: its `run` steps in order, with bash -eo pipefail as GitHub runs them, on `engine`. */
async function runJob(name: string, engine: string, values: Record<string, string>, artifact?: string): Promise<JobRun> {
  const job = workflow.jobs[name]!;
  const temp = mkdtempSync(join(TMP, `${name}-`));
  if (artifact) copyFileSync(artifact, join(temp, "plan.json"));
  const output = join(temp, "github-output");
  writeFileSync(output, "");
  const vals = { ...values, "runner.temp": temp };
  const env = (e: Record<string, string> = {}) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, expand(String(v), vals)]));
  assert.ok(job.steps.some((s) => s.name === "install pkgkit"), `${name}: installs pkgkit (the shim stands for it)`);
  let log = "";
  for (const step of job.steps) {
    if (!step.run || step.name === "install pkgkit") continue;
    const r = await shAsync(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], ROOT, {
      PATH: `${shims}:${process.env.PATH}`,
      DOCKER_HOST: engine,
      RUNNER_TEMP: temp,
      GITHUB_OUTPUT: output,
      PKGKIT_CONFIG: "",
      ...env(workflow.env),
      ...env(step.env),
    });
    log += r.stderr;
    assert.is(r.code, 0, `${name}: ${step.name}: ${r.stderr}`);
  }
  const outputs = Object.fromEntries(readFileSync(output, "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  return { temp, outputs, log };
}

const inEngine = (engine: string, ref: string) => {
  const r = sh(["docker", "--host", engine, "image", "inspect", "--format", "{{.Id}}", ref]);
  return r.code === 0 ? r.stdout.trim() : undefined;
};

test("the example workflow: plan once, each arch on its own engine at once, then merge and sign with no engine; the registry has a signed index of both", async () => {
  assert.equal([workflow.jobs.build!.needs, workflow.jobs.publish!.needs], ["plan", "build"], "the jobs' order");
  const org = `${svc.registries.plain}/${RUN}`;
  const key = join(TMP, "cosign.key");
  const pub = join(TMP, "cosign.pub");
  must(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  must(["openssl", "pkey", "-in", key, "-pubout", "-out", pub]);
  const values = { "vars.PKGKIT_ORG": org, "secrets.COSIGN_PRIVATE_KEY": readFileSync(key, "utf8"), "secrets.COSIGN_PASSWORD": "" };

  const planned = await runJob("plan", LOCAL, values);
  const matrix = JSON.parse(readFileSync(join(planned.temp, "plan.json"), "utf8")) as PlanMatrix;
  assert.is(planned.outputs.arches, '["amd64","arm64"]');
  for (const g of matrix.groups) assert.equal(g.plan.steps.map((s) => s.kind), ["build", "push"], `${g.arch}: per-arch image only, unsigned`);
  const tag = matrix.groups[0]!.plan.packages[0]!.tag;
  const repo = `${org}/hello`;

  const arches = JSON.parse(planned.outputs.arches!) as string[];
  const engines: Record<string, string> = { amd64: LOCAL, arm64: REMOTE };
  const built = await Promise.all(arches.map((arch) => runJob("build", engines[arch]!, { ...values, "matrix.arch": arch }, join(planned.temp, "plan.json"))));
  for (const b of built) assert.match(b.log, "1 built, 1 pushed, 0 index(es) merged");
  assert.is(await client.getManifest(repo, tag), undefined, "no multi-arch tag until every arch is there");
  const ids = { amd64: inEngine(LOCAL, `${repo}:${tag}-amd64`), arm64: inEngine(REMOTE, `${repo}:${tag}-arm64`) };
  assert.ok(ids.amd64 && ids.arm64, "each arch built on its job's engine");
  assert.is(inEngine(LOCAL, `${repo}:${tag}-arm64`), undefined, "arm64 not on the amd64 job's engine");
  assert.is(inEngine(REMOTE, `${repo}:${tag}-amd64`), undefined, "amd64 not on the arm64 job's engine");

  const published = await runJob("publish", `unix://${join(TMP, "no-engine.sock")}`, values);
  assert.match(published.log, "0 built, 0 pushed, 1 index(es) merged, 3 signed");

  const index = await client.getManifest(repo, tag);
  assert.equal(index!.json.manifests!.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).sort(), ["linux/amd64", "linux/arm64"]);
  for (const d of index!.json.manifests!) {
    const arch = d.platform!.architecture as "amd64" | "arm64";
    assert.is(d.digest, (await client.headManifest(repo, `${tag}-${arch}`))!.digest, `${arch}: the index lists its per-arch tag`);
    assert.is(d.digest, await pushedManifestOf(["docker", "--host", engines[arch]!], `${repo}:${tag}-${arch}`), `${arch}: the image its job's engine built, as push normalises it`);
  }
  for (const digest of [index!.digest, ...index!.json.manifests!.map((d) => d.digest)]) {
    const v = sh([COSIGN, "verify", "--key", pub, "--insecure-ignore-tlog=true", `${repo}@${digest}`]);
    assert.is(v.code, 0, `cosign verify ${repo}@${digest}: ${v.stderr}`);
    assert.is((JSON.parse(v.stdout) as { critical: { image: { "docker-manifest-digest": string } } }[])[0]!.critical.image["docker-manifest-digest"], digest);
  }
});

test("a plan applied on a machine of another native arch keeps the planning machine's plain tag (a matrix group on a native runner)", () => {
  // Made as on a native arm64 planner: its arm64 image also gets the plain tag. Applied on the
  // second engine (an amd64 machine), the plan still holds and does just that.
  const org = `${RUN}-native`;
  const r = pkgkit(["plan", "--json", "--arches", "arm64", "--org", org, join(ROOT, "examples/hello")], { env: { DOCKER_HOST: REMOTE } });
  assert.is(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as Plan;
  assert.is(plan.inputs!.nativeArch, "amd64");
  const build = plan.steps[0] as BuildStep;
  const plain = plan.packages[0]!.name;
  assert.not.ok(build.command.argv.includes(plain));
  plan.inputs!.nativeArch = "arm64";
  build.command.argv.splice(build.command.argv.length - 1, 0, "--tag", plain);
  const file = join(TMP, "native.json");
  writeFileSync(file, JSON.stringify(plan));
  const applied = pkgkit(["apply", file], { env: { DOCKER_HOST: REMOTE } });
  assert.is(applied.code, 0, applied.stderr);
  assert.is(inEngine(REMOTE, plain), inEngine(REMOTE, build.ref));
  assert.ok(inEngine(REMOTE, plain));
});

test.after(() => {
  for (const engine of [LOCAL, REMOTE]) {
    const refs = must(["docker", "--host", engine, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]).split("\n").filter((r) => r.includes(RUN));
    if (refs.length) sh(["docker", "--host", engine, "image", "rm", "-f", ...refs]);
  }
  rmSync(TMP, { recursive: true, force: true });
});
test.run();
