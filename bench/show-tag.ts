/**
 * Benchmark: `pkgkit show-tag` over N packages (one process, batched git queries) against the
 * per-package git calls LinuxKit makes (bench/linuxkit-show-tag.sh), as whole processes,
 * interleaved, in a throwaway git repository of N packages (a few of them dirty).
 *
 *   npx tsx bench/show-tag.ts [--sizes 100,1000] [--rounds 5] [--dirty-percent 5] [--keep]
 *
 * Target: at 1000 packages, pkgkit at least 10x faster, and its process's peak memory (resident set)
 * at most 100 MiB. Exits non-zero only if the tags disagree.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { interleave, median, parseFlags, secs, table, timed, type RunResult, benchEnv } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const LINUXKIT = resolve(here, "linuxkit-show-tag.sh");
const TARGET = { size: 1000, speedup: 10, peakMiB: 100 };
const MAXRSS = resolve(here, "maxrss.mjs");

const usage = `usage: npx tsx bench/show-tag.ts [--sizes 100,1000] [--rounds 5] [--dirty-percent 5] [--keep]`;
const flags = parseFlags(process.argv.slice(2), { sizes: "string", rounds: "string", "dirty-percent": "string", keep: "boolean" }, usage);
const sizes = String(flags.sizes ?? "100,1000").split(",").map((s) => Number.parseInt(s, 10));
const rounds = Number.parseInt(String(flags.rounds ?? "5"), 10);
const dirtyPercent = Number(flags["dirty-percent"] ?? 5);
if (sizes.some((n) => !(n > 0)) || !(rounds > 0) || !(dirtyPercent >= 0 && dirtyPercent <= 100)) {
  console.error(usage);
  process.exit(2);
}

// Same git environment for setup and both contenders; no user or system config.
const env = benchEnv;

const temps: string[] = [];
const cleanup = () => {
  if (flags.keep) return temps.forEach((t) => console.error(`kept ${t}`));
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
};
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

function git(repo: string, args: string[]): string {
  const r = timed(["git", "-C", repo, ...args], { env });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A repository with pkgs/p0..p<n-1>, committed; every k-th package then gets an edit and an untracked file. */
function makeRepo(n: number): { repo: string; dirs: string[]; dirty: Set<number> } {
  const repo = mkdtempSync(join(tmpdir(), `pkgkit-bench-show-tag-${n}-`));
  temps.push(repo);
  git(repo, ["init", "-q", "-b", "main"]);
  writeFileSync(join(repo, ".gitignore"), "*.log\n");
  const dirs: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(repo, "pkgs", `p${i}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "build.yml"), `image: p${i}\norg: bench\n`);
    writeFileSync(join(d, "Dockerfile"), `FROM scratch\nCOPY . /p${i}\nLABEL bench.index=${i}\n`);
    dirs.push(`pkgs/p${i}`);
  }
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "-m", `${n} packages`]);
  const dirty = new Set<number>();
  const every = dirtyPercent > 0 ? Math.max(1, Math.round(100 / dirtyPercent)) : 0;
  for (let i = every ? every - 1 : n; i < n; i += every || n) {
    appendFileSync(join(repo, dirs[i]!, "Dockerfile"), "# local edit\n");
    writeFileSync(join(repo, dirs[i]!, "notes.txt"), "untracked\n");
    writeFileSync(join(repo, dirs[i]!, "ignored.log"), "ignored, must not make it dirty\n");
    dirty.add(i);
  }
  git(repo, ["status", "--porcelain"]); // refresh the index once, so neither contender pays for it
  return { repo, dirs, dirty };
}

/** `org/image:tag` lines → tag per image; checks the line count and order. */
function parseTags(out: string, n: number, who: string): string[] {
  const lines = out.trim().split("\n");
  if (lines.length !== n) throw new Error(`${who}: expected ${n} lines, got ${lines.length}:\n${out.slice(0, 500)}`);
  return lines.map((l, i) => {
    const m = /^bench\/p(\d+):(\S+)$/.exec(l);
    if (!m || Number(m[1]) !== i) throw new Error(`${who}: line ${i + 1} is ${JSON.stringify(l)}, expected bench/p${i}:<tag>`);
    return m[2]!;
  });
}

interface Row { n: number; a: number; b: number; mismatches: number; dirty: number; peakMiB: number; breakdown: Record<string, number> }
const rows: Row[] = [];
let failed = false;

for (const n of sizes) {
  const t0 = performance.now();
  const { repo, dirs, dirty } = makeRepo(n);
  console.error(`N=${n}: generated ${repo} (${dirty.size} dirty) in ${secs(performance.now() - t0)}s`);

  const runA = () => timed(["node", BIN, "show-tag", ...dirs], { cwd: repo, env });
  const runB = () => timed(["bash", LINUXKIT, ...dirs], { cwd: repo, env });
  const ok = (who: string) => (r: RunResult) => {
    if (r.code !== 0) throw new Error(`${who} exited ${r.code}:\n${r.stderr.slice(0, 2000)}`);
  };

  // Correctness, on the warm-up outputs: clean tags equal, the same packages dirty.
  const a = runA(), b = runB();
  ok("pkgkit")(a), ok("linuxkit-sh")(b);
  const ta = parseTags(a.stdout, n, "pkgkit"), tb = parseTags(b.stdout, n, "linuxkit-sh");
  let mismatches = 0;
  for (let i = 0; i < n; i++) {
    const aDirty = /-dirty-[0-9a-f]{7}$/.test(ta[i]!), bDirty = tb[i]!.endsWith("-dirty");
    const expectDirty = dirty.has(i);
    const bad = aDirty !== expectDirty || bDirty !== expectDirty || (aDirty ? ta[i]!.replace(/-dirty-.*$/, "") : ta[i]) !== tb[i]!.replace(/-dirty$/, "");
    if (bad) {
      if (mismatches < 5) console.error(`  mismatch p${i}: pkgkit ${ta[i]}  linuxkit-sh ${tb[i]}  (expected ${expectDirty ? "dirty" : "clean"})`);
      mismatches++;
    }
  }
  if (mismatches) failed = true;

  const times = interleave(
    [
      { name: "A", run: runA, check: ok("pkgkit") },
      { name: "B", run: runB, check: ok("linuxkit-sh") },
    ],
    rounds,
    (m) => console.error(m),
  );

  // Where pkgkit's time goes: the same pieces as separate processes (medians of 5).
  const piece = (argv: string[]) => median(Array.from({ length: 5 }, () => timed(argv, { cwd: repo, env }).ms));
  const breakdown = {
    "node -e 0": piece(["node", "-e", "0"]),
    "pkgkit --help (node+tsx+imports)": piece(["node", BIN, "--help"]),
    "git ls-tree (all dirs)": piece(["git", "ls-tree", "--full-tree", "-z", "HEAD", "--", ...dirs]),
    "git diff HEAD (all dirs)": piece(["git", "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "HEAD", "--", ...dirs]),
    "git ls-files (all dirs)": piece(["git", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--", ...dirs]),
    "one package, 3 git calls (B/N)": median(times.get("B")!) / n,
  };
  // A's peak resident set, read by the process itself at exit (bench/maxrss.mjs): median of 3.
  const peakMiB = median(
    Array.from({ length: 3 }, () => {
      const r = timed(["node", "--import", MAXRSS, BIN, "show-tag", ...dirs], { cwd: repo, env });
      ok("pkgkit (peak memory)")(r);
      const m = /maxrss (\d+)\n?$/.exec(r.stderr);
      if (!m) throw new Error(`no maxrss line from bench/maxrss.mjs: ${r.stderr.slice(-300)}`);
      return Number(m[1]) / 1024;
    }),
  );
  rows.push({ n, a: median(times.get("A")!), b: median(times.get("B")!), mismatches, dirty: dirty.size, peakMiB, breakdown });
}

console.log(`\nshow-tag: A = node lib/bin.mjs show-tag <N dirs>   B = bench/linuxkit-show-tag.sh <N dirs> (3 git calls per package)`);
console.log(`medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(
  table([
    ["N", "dirty", "A pkgkit (s)", "B linuxkit-sh (s)", "B/A", "tag mismatches", "A peak memory (MiB)"],
    ...rows.map((r) => [String(r.n), String(r.dirty), secs(r.a), secs(r.b), `${(r.b / r.a).toFixed(1)}x`, String(r.mismatches), r.peakMiB.toFixed(1)]),
  ]),
);
console.log(`\nbreakdown (median ms of 5 runs each, separate processes):`);
const keys = Object.keys(rows[0]!.breakdown);
console.log(table([["piece", ...rows.map((r) => `N=${r.n}`)], ...keys.map((k) => [k, ...rows.map((r) => r.breakdown[k]!.toFixed(1))])]));
console.log("");
const speed = (r: Row) => (r.b >= r.a ? `${(r.b / r.a).toFixed(1)}x faster` : `${(r.a / r.b).toFixed(1)}x slower`);
for (const r of rows) console.log(`N=${r.n}: pkgkit is ${speed(r)} (B/A = ${(r.b / r.a).toFixed(2)}; A ${secs(r.a)}s, B ${secs(r.b)}s)`);
const t = rows.find((r) => r.n === TARGET.size);
if (t) {
  console.log(`target: at N=${TARGET.size}, >= ${TARGET.speedup}x faster: ${t.b / t.a >= TARGET.speedup ? "MET" : "NOT MET"} (${(t.b / t.a).toFixed(1)}x)`);
  console.log(`target: at N=${TARGET.size}, peak memory <= ${TARGET.peakMiB} MiB: ${t.peakMiB <= TARGET.peakMiB ? "MET" : "NOT MET"} (${t.peakMiB.toFixed(1)} MiB)`);
} else console.log(`target: at N=${TARGET.size}, >= ${TARGET.speedup}x faster and <= ${TARGET.peakMiB} MiB: not measured (add ${TARGET.size} to --sizes)`);
if (failed) {
  console.log(`FAILED: pkgkit's tags disagree with the git tree hashes (see mismatches above)`);
  process.exitCode = 1;
}
