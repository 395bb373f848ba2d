/**
 * Benchmark: 8 independent packages, each with a RUN step that takes about 2 s, built with
 * `--jobs 4` (A) against `--jobs 1` (B), as whole processes, interleaved. Every run rebuilds
 * (`--force --disable-cache`), so each one does the same work.
 *
 *   npx tsx bench/parallel-build.ts [--packages 8] [--jobs 4] [--seconds 2] [--rounds 3] [--keep]
 *
 * Needs a Docker engine with buildx (test/env/start.sh). Target: B/A ≥ 2.5 on a 2-core machine.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { interleave, median, parseFlags, secs, table, timed, type RunResult, benchEnv, mustRun } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const BUSYBOX = resolve(here, "..", "examples", "hello", "busybox-amd64");
const TARGET = 2.5;

const usage = "usage: npx tsx bench/parallel-build.ts [--packages 8] [--jobs 4] [--seconds 2] [--rounds 3] [--keep]";
const flags = parseFlags(process.argv.slice(2), { packages: "string", jobs: "string", seconds: "string", rounds: "string", keep: "boolean" }, usage);
const n = Number.parseInt(String(flags.packages ?? "8"), 10);
const jobs = Number.parseInt(String(flags.jobs ?? "4"), 10);
const sleep = Number(flags.seconds ?? "2");
const rounds = Number.parseInt(String(flags.rounds ?? "3"), 10);
if (!(n > 0) || !(jobs > 0) || !(sleep >= 0) || !(rounds > 0)) {
  console.error(usage);
  process.exit(2);
}
if (!existsSync(BUSYBOX)) {
  console.error(`${BUSYBOX} is missing: run test/env/fetch-busybox.sh examples/hello`);
  process.exit(2);
}
const env = benchEnv;
const must = mustRun;

// base: static busybox; p1..pN: FROM base, RUN sleep. Independent of each other.
const repo = mkdtempSync(join(tmpdir(), "pkgkit-bench-parallel-"));
process.on("exit", () => (flags.keep ? console.error(`kept ${repo}`) : rmSync(repo, { recursive: true, force: true })));
const org = `bench-parallel-${process.pid}`;
mkdirSync(join(repo, "base"));
copyFileSync(BUSYBOX, join(repo, "base", "busybox"));
writeFileSync(join(repo, "base", "Dockerfile"), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n');
writeFileSync(join(repo, "base", "build.yml"), `image: base\norg: ${org}\narches: [amd64]\n`);
const dirs = Array.from({ length: n }, (_, i) => `p${i + 1}`);
for (const d of dirs) {
  mkdirSync(join(repo, d));
  writeFileSync(join(repo, d, "Dockerfile"), `ARG BASE\nFROM \${BASE}\nRUN sleep ${sleep} && echo ${d} > /${d}\n`);
  writeFileSync(join(repo, d, "build.yml"), `image: ${d}\norg: ${org}\narches: [amd64]\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n`);
}
must(["git", "init", "-q", "-b", "main"], repo);
must(["git", "add", "-A"], repo);
must(["git", "commit", "-q", "-m", "bench"], repo);
must(["node", BIN, "build", "base"], repo);

const runWith = (j: number) => () => timed(["node", BIN, "build", "--force", "--disable-cache", "--jobs", String(j), ...dirs], { cwd: repo, env });
const check = (r: RunResult) => {
  if (r.code !== 0 || !r.stderr.includes(`${n} built, 1 skipped, 0 failed`)) throw new Error(`build failed or did not rebuild all (exit ${r.code}):\n${r.stderr.slice(-1500)}`);
};
const times = interleave(
  [
    { name: "A", run: runWith(jobs), check },
    { name: "B", run: runWith(1), check },
  ],
  rounds,
  (m) => console.error(m),
);
const a = median(times.get("A")!);
const b = median(times.get("B")!);
console.log(`\nparallel build: ${n} independent packages, each RUN sleep ${sleep}; every run rebuilds (--force --disable-cache)`);
console.log(`A = pkgkit build --jobs ${jobs}   B = pkgkit build --jobs 1   (medians of ${rounds} interleaved rounds after one warm-up each)\n`);
console.log(table([["", "A (s)", "B (s)", "B/A"], [`${n} packages`, secs(a), secs(b), `${(b / a).toFixed(2)}x`]]));
console.log(`target: B/A >= ${TARGET}: ${b / a >= TARGET ? "MET" : "NOT MET"} (${(b / a).toFixed(2)}x)`);
