/**
 * Benchmark: a no-op `pkgkit push` of N packages × 2 arches, where everything is already in the
 * registry, against the same number of raw manifest HEAD requests made by `curl -I`, run in
 * parallel (`xargs -P`), as whole processes, interleaved.
 *
 *   npx tsx bench/noop-push.ts [--packages 50] [--rounds 5] [--parallel 16] [--keep]
 *
 * Needs the test environment (test/env/start.sh: Docker engine, plain registry). Target: A/B ≤ 1.5 (issue 13; it was 2.0).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseImageRef, registryTag, withArch } from "../lib/names.ts";
import { parseRepository } from "../lib/registry/names.ts";
import { interleave, median, parseFlags, secs, table, timed, type RunResult, benchEnv, mustRun, plainRegistry } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const TARGET = 1.5;
const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

const usage = "usage: npx tsx bench/noop-push.ts [--packages 50] [--rounds 5] [--parallel 16] [--keep]";
const flags = parseFlags(process.argv.slice(2), { packages: "string", rounds: "string", parallel: "string", keep: "boolean" }, usage);
const n = Number.parseInt(String(flags.packages ?? "50"), 10);
const rounds = Number.parseInt(String(flags.rounds ?? "5"), 10);
const parallel = Number.parseInt(String(flags.parallel ?? "16"), 10);
if (!(n > 0) || !(rounds > 0) || !(parallel > 0)) {
  console.error(usage);
  process.exit(2);
}

const registry = plainRegistry();
const env = benchEnv;
const must = mustRun;

// N packages with the same content, so one build per arch serves them all (tagged N times).
const repo = mkdtempSync(join(tmpdir(), "pkgkit-bench-noop-push-"));
process.on("exit", () => (flags.keep ? console.error(`kept ${repo}`) : rmSync(repo, { recursive: true, force: true })));
const org = `${registry}/bench-${process.pid}`;
const dirs = Array.from({ length: n }, (_, i) => `pkgs/p${i}`);
for (const d of dirs) {
  mkdirSync(join(repo, d), { recursive: true });
  writeFileSync(join(repo, d, "build.yml"), `image: ${d.slice(5)}\norg: ${org}\narches: [amd64, arm64]\n`);
  writeFileSync(join(repo, d, "Dockerfile"), "FROM scratch\nCOPY hello.txt /\n");
  writeFileSync(join(repo, d, "hello.txt"), "hello\n");
}
must(["git", "init", "-q", "-b", "main"], repo);
must(["git", "add", "-A"], repo);
must(["git", "commit", "-q", "-m", "bench"], repo);

const t0 = performance.now();
const refs = must(["node", BIN, "show-tag", ...dirs], repo).stdout.trim().split("\n");
must(["node", BIN, "build", dirs[0]!], repo);
for (const ref of refs.slice(1)) for (const arch of ["amd64", "arm64"]) must(["docker", "tag", `${refs[0]}-${arch}`, `${ref}-${arch}`]);
must(["node", BIN, "push", "--disable-content-trust", ...dirs], repo);
console.error(`setup: ${n} packages built (once per arch, tagged ${n} times) and pushed to ${registry} in ${secs(performance.now() - t0)}s`);

const urls = refs.flatMap((text) => {
  const ref = parseImageRef(text);
  const { host, path } = parseRepository(ref.repository);
  return (["amd64", "arm64"] as const).map((a) => `http://${host}/v2/${path}/manifests/${registryTag(withArch(ref, a))}`);
});
const curlScript = `xargs -P ${parallel} -n 1 curl -sfI -o /dev/null -w '%{http_code}\\n' -H ${JSON.stringify(`Accept: ${ACCEPT}`)}`;

const runA = () => timed(["node", BIN, "push", "--disable-content-trust", ...dirs], { cwd: repo, env });
const runB = () => timed(["bash", "-c", curlScript], { input: urls.join("\n"), env });
const checkA = (r: RunResult) => {
  if (r.code !== 0 || !r.stderr.includes(`0 built, 0 pushed, 0 index(es) merged, ${3 * n} skipped, 0 failed`))
    throw new Error(`pkgkit push was not a no-op (exit ${r.code}):\n${r.stderr.slice(-1500)}`);
};
const checkB = (r: RunResult) => {
  const codes = r.stdout.trim().split("\n");
  if (codes.length !== 2 * n || codes.some((c) => c !== "200")) throw new Error(`curl: expected ${2 * n} × 200, got ${r.stdout.slice(0, 300)}`);
};

const times = interleave(
  [
    { name: "A", run: runA, check: checkA },
    { name: "B", run: runB, check: checkB },
  ],
  rounds,
  (m) => console.error(m),
);
const a = median(times.get("A")!);
const b = median(times.get("B")!);
const piece = (argv: string[]) => median(Array.from({ length: 5 }, () => timed(argv, { cwd: repo, env }).ms));
console.log(`\nno-op push: A = node lib/bin.mjs push <${n} dirs> (${2 * n} arch images + ${n} indexes, all in the registry)`);
console.log(`            B = ${2 * n} × curl -sfI <manifest URL>, xargs -P ${parallel}`);
console.log(`medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(table([["", "A pkgkit (s)", "B curl (s)", "A/B"], [`${n} × 2`, secs(a), secs(b), (a / b).toFixed(2)]]));
console.log(`\nbreakdown (median ms of 5, separate processes): node -e 0 ${piece(["node", "-e", "0"]).toFixed(1)}; ` +
  `pkgkit show-tag ${piece(["node", BIN, "show-tag", ...dirs]).toFixed(1)}; one curl -sI ${piece(["curl", "-sfI", "-o", "/dev/null", urls[0]!]).toFixed(1)}`);
console.log(`target: A/B <= ${TARGET}: ${a / b <= TARGET ? "MET" : "NOT MET"} (${(a / b).toFixed(2)})`);
