/**
 * Benchmark: the overhead pkgkit adds to a build. Compares, as whole processes, interleaved:
 *   A: node <the bin package.json names, lib/bin.cjs> build --force --arches amd64 --org bench examples/hello
 *   E: the same build by the single executable (lib/compile.mjs, compiled into a temp dir first)
 *   B: the exact `docker buildx build ...` argv that A runs, in the directory A runs it in (the
 *      build step's `dir`, the package's: the context is `.`), both read from `pkgkit plan --json`
 * With a warm build cache all are mostly cache hits, so the difference is pkgkit's own cost: node
 * start-up and the bundle (E: Bun's, from bytecode), loading the package, git (six processes at
 * once, each git itself: lib/shell.ts, directShell), the build step through bash (zx), and Engine
 * API requests over the engine's socket (lib/engine-api.ts): the engine's arch, asked as soon as
 * the builder is known (beside git), the image and its plain tag before the build, the built image
 * after it; `docker buildx version` is asked once and remembered (lib/builder-kind.ts). At the end
 * it checks that A and B leave the same image under the tag (B once ran in the checkout's root,
 * building pkgkit's own Dockerfile there).
 *
 * bench/README.md "build-overhead" has where A's time goes, as a timeline.
 *
 *   npx tsx bench/build-overhead.ts [--rounds 5] [--no-cache] [--keep-image]
 *
 * --no-cache passes --disable-cache to pkgkit (so both run `docker buildx build --no-cache`): a
 * real, if small, build, where pkgkit's fixed cost is a smaller share.
 *
 * Target (issue 13): median(A) / median(B) <= 1.30; E / B is printed against it too. Exit 2 if
 * examples/hello lacks its busybox binaries.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { interleave, median, PACKAGE_BIN, parseFlags, secs, table, timed, type RunResult } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "..");
// The bin package.json names (lib/bin.cjs), as `pkgkit` runs it.
const BIN = PACKAGE_BIN;
const PKG = "examples/hello";
const TARGET = 1.3;
const usage = `usage: npx tsx bench/build-overhead.ts [--rounds 5] [--no-cache] [--keep-image]`;
const flags = parseFlags(process.argv.slice(2), { rounds: "string", "no-cache": "boolean", "keep-image": "boolean" }, usage);
const pkgArgs = ["--force", "--arches", "amd64", "--org", "bench", ...(flags["no-cache"] ? ["--disable-cache"] : []), PKG];
const rounds = Number.parseInt(String(flags.rounds ?? "5"), 10);
if (!(rounds > 0)) {
  console.error(usage);
  process.exit(2);
}

const missing = ["busybox-amd64", "busybox-arm64"].filter((f) => !existsSync(join(ROOT, PKG, f)));
if (missing.length) {
  console.error(`${PKG} has no ${missing.join(", ")}; run the setup first: test/env/fetch-busybox.sh ${PKG}`);
  process.exit(2);
}

const fail = (msg: string): never => {
  console.error(`build-overhead: ${msg}`);
  process.exit(1);
};

// The command pkgkit would run, exactly.
const planned = timed(["node", BIN, "plan", "--json", ...pkgArgs], { cwd: ROOT });
if (planned.code !== 0) fail(`pkgkit plan failed (exit ${planned.code}):\n${planned.stderr}`);
interface PlanStep { kind: string; ref?: string; dir?: string; command?: { argv: string[]; env?: Record<string, string> } }
const steps = (JSON.parse(planned.stdout) as { steps: PlanStep[] }).steps.filter((s) => s.kind === "build");
if (steps.length !== 1 || !steps[0]!.command) fail(`expected one build step in the plan, got ${steps.length}`);
const { argv, env: stepEnv } = steps[0]!.command!;
const ref = steps[0]!.ref!;
// The directory the build runs in (the package's: its context is `.`), as pkgkit runs it.
const dir = steps[0]!.dir ?? fail("the build step names no directory");
const env = { ...process.env, ...stepEnv };
const existed = timed(["docker", "image", "inspect", "--format", "{{.Id}}", ref]).code === 0;

const ok = (who: string) => (r: RunResult) => {
  if (r.code !== 0) fail(`${who} exited ${r.code}:\n${r.stderr.split("\n").slice(-25).join("\n")}`);
};
// The single executable, outside the checkout (so that it does not dirty the package's tree).
const SEA = join(mkdtempSync(join(tmpdir(), "pkgkit-bench-sea-")), "pkgkit");
process.on("exit", () => rmSync(dirname(SEA), { recursive: true, force: true }));
const compiled = timed(["node", join(ROOT, "lib", "compile.mjs"), SEA]);
if (compiled.code !== 0) fail(`lib/compile.mjs failed (exit ${compiled.code}):\n${compiled.stderr}`);
const runA = () => timed(["node", BIN, "build", ...pkgArgs], { cwd: ROOT });
const runE = () => timed([SEA, "build", ...pkgArgs], { cwd: ROOT });
const runB = () => timed(argv, { cwd: dir, env });

console.error(`raw command, in ${dir}: ${argv.join(" ")}`);
try {
  const times = interleave(
    [
      { name: "A", run: runA, check: ok("pkgkit build") },
      { name: "E", run: runE, check: ok("the executable's build") },
      { name: "B", run: runB, check: ok("docker buildx build") },
    ],
    rounds,
    (m) => console.error(m),
  );
  const a = median(times.get("A")!), e = median(times.get("E")!), b = median(times.get("B")!);
  // Both must build the same image (B once ran in the checkout's root, building its Dockerfile under A's tag).
  const idAfter = (run: () => RunResult) => (run(), timed(["docker", "image", "inspect", "--format", "{{.Id}}", ref]).stdout.trim());
  const [idA, idE, idB] = [idAfter(runA), idAfter(runE), idAfter(runB)];
  if (!idA || idA !== idB || idE !== idB) fail(`A, E and B built different images under ${ref}: ${idA || "none"}, ${idE || "none"} and ${idB || "none"}`);

  // Where pkgkit's extra time goes (median of 3 each).
  const piece = (cmd: string[]) => median(Array.from({ length: 3 }, () => timed(cmd, { cwd: ROOT }).ms));
  const pieces: [string, number][] = [
    ["node lib/bin.cjs plan (no build)", piece(["node", BIN, "plan", ...pkgArgs])],
    ["node lib/bin.cjs --help (startup)", piece(["node", BIN, "--help"])],
    ["the executable's plan (no build)", piece([SEA, "plan", ...pkgArgs])],
    ["node -e 0", piece(["node", "-e", "0"])],
    ["docker buildx version (remembered, not run)", piece(["docker", "buildx", "version"])],
    ["docker image inspect <ref> (an API request instead)", piece(["docker", "image", "inspect", "--format", "{{json .}}", ref])],
  ];

  console.log(`\nbuild-overhead: ${PKG}, amd64, --force, ${flags["no-cache"] ? "--disable-cache (docker --no-cache)" : "warm cache"}; medians of ${rounds} interleaved rounds after one warm-up each\n`);
  console.log(
    table([
      ["contender", "median (s)", "min (s)", "max (s)"],
      ["A pkgkit build", secs(a), secs(Math.min(...times.get("A")!)), secs(Math.max(...times.get("A")!))],
      ["E the executable's build", secs(e), secs(Math.min(...times.get("E")!)), secs(Math.max(...times.get("E")!))],
      ["B docker buildx build (raw)", secs(b), secs(Math.min(...times.get("B")!)), secs(Math.max(...times.get("B")!))],
    ]),
  );
  console.log(`\nparts of pkgkit's overhead (median ms of 3, separate processes):`);
  console.log(table([["piece", "ms"], ...pieces.map(([k, v]) => [k, v.toFixed(1)])]));
  console.log(`\npkgkit/raw = ${(a / b).toFixed(2)} (overhead ${((a - b) / 1000).toFixed(3)}s per build)`);
  console.log(`target: pkgkit/raw <= ${TARGET.toFixed(2)}: ${a / b <= TARGET ? "MET" : "NOT MET"}`);
  console.log(`executable/raw = ${(e / b).toFixed(2)} (overhead ${((e - b) / 1000).toFixed(3)}s per build): ${e / b <= TARGET ? "MET" : "NOT MET"}`);
} finally {
  if (!existed && !flags["keep-image"]) timed(["docker", "image", "rm", ref]);
}
