/**
 * Benchmark: what attestations add to a push. The same package, one 50 MB layer (random bytes, so
 * gzip cannot shrink it), amd64, signed with a Sigstore key pair, pushed to a new repository each
 * run, interleaved:
 *   A: `pkgkit push --key k.pem` (pushes, signs, and attaches an SPDX SBOM and a SLSA provenance:
 *      the SBOM hashes every file of the image, SHA-1 and SHA-256);
 *   B: `pkgkit push --key k.pem --sbom-scanner false` (pushes and signs, attaches nothing).
 * The image is built once and tagged for every run's repository in the engine, so no run builds.
 *
 *   npx tsx bench/attest.ts [--mb 50] [--rounds 5]
 *
 * Needs the test environment (test/env/start.sh: Docker engine, plain registry). Target: A/B ≤ 1.15.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, interleave, median, mustRun, parseFlags, secs, table, timed, type RunResult, plainRegistry } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const TARGET = 1.15;

const usage = "usage: npx tsx bench/attest.ts [--mb 50] [--rounds 5]";
const flags = parseFlags(process.argv.slice(2), { mb: "string", rounds: "string" }, usage);
const mb = Number.parseInt(String(flags.mb ?? "50"), 10);
const rounds = Number.parseInt(String(flags.rounds ?? "5"), 10);
if (!(mb > 0) || !(rounds > 0)) {
  console.error(usage);
  process.exit(2);
}

const registry = plainRegistry();

const repo = mkdtempSync(join(tmpdir(), "pkgkit-bench-attest-"));
process.on("exit", () => rmSync(repo, { recursive: true, force: true }));
// A throwaway key; its password reaches pkgkit through $COSIGN_PASSWORD only.
const env = { ...benchEnv, COSIGN_PASSWORD: randomBytes(12).toString("hex"), PKGKIT_CONFIG: "" };
const key = join(repo, "k.pem");
mustRun(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", key], repo, env);
mkdirSync(join(repo, "pkg"));
writeFileSync(join(repo, "pkg", "build.yml"), "image: big\narches: [amd64]\n");
writeFileSync(join(repo, "pkg", "Dockerfile"), "FROM scratch\nCOPY blob /blob\nCOPY hello.txt /etc/hello.txt\n");
writeFileSync(join(repo, "pkg", "blob"), randomBytes(mb * 1024 * 1024));
writeFileSync(join(repo, "pkg", "hello.txt"), "hello\n");
mustRun(["git", "init", "-q", "-b", "main"], repo);
mustRun(["git", "add", "-A"], repo);
mustRun(["git", "commit", "-q", "-m", "bench"], repo);

const orgOf = (name: string, i: number) => `${registry}/bench-attest-${process.pid}-${name.toLowerCase()}${i}`;
const t0 = performance.now();
const built = mustRun(["node", BIN, "build", "--org", orgOf("base", 0), "pkg"], repo, env);
const ref = mustRun(["node", BIN, "show-tag", "--org", orgOf("base", 0), "pkg"], repo, env).stdout.trim();
// Every run (warm-up included) pushes to a repository of its own: the same image, tagged for it.
const runs = rounds + 1;
for (const name of ["A", "B"]) for (let i = 0; i < runs; i++) mustRun(["docker", "tag", `${ref}-amd64`, `${ref.replace(orgOf("base", 0), orgOf(name, i))}-amd64`]);
console.error(`setup: a ${mb} MB package built once${built.stderr.includes("0 built") ? " (in the engine already)" : ""}, tagged for ${2 * runs} repositories, in ${secs(performance.now() - t0)}s`);

const count = { A: 0, B: 0 };
const push = (name: "A" | "B", extra: string[]) => () => timed(["node", BIN, "push", "--key", key, ...extra, "--org", orgOf(name, count[name]++), "pkg"], { cwd: repo, env });
const expect = (summary: string) => (r: RunResult) => {
  if (r.code !== 0 || !r.stderr.includes(summary)) throw new Error(`push did not do what was measured (exit ${r.code}; expected "${summary}"):\n${r.stderr.slice(-1500)}`);
};
const times = interleave(
  [
    { name: "A", run: push("A", []), check: expect("0 built, 1 pushed, 1 index(es) merged, 2 signed, 1 attested, 1 skipped, 0 failed") },
    { name: "B", run: push("B", ["--sbom-scanner", "false"]), check: expect("0 built, 1 pushed, 1 index(es) merged, 2 signed, 1 skipped, 0 failed") },
  ],
  rounds,
  (m) => console.error(m),
);
const a = median(times.get("A")!);
const b = median(times.get("B")!);
console.log(`\npush of one ${mb} MB amd64 image, signed with a key pair, to a new repository each run:`);
console.log("  A = pkgkit push --key k.pem (SPDX SBOM + SLSA provenance attached)");
console.log("  B = pkgkit push --key k.pem --sbom-scanner false (no attestations)");
console.log(`medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(table([["", "A attest (s)", "B none (s)", "A/B"], [`${mb} MB`, secs(a), secs(b), (a / b).toFixed(2)]]));
console.log(`target: A/B <= ${TARGET}: ${a / b <= TARGET ? "MET" : "NOT MET"} (${(a / b).toFixed(2)})`);
