/**
 * Benchmark: `pkgkit show-tag` with no directory (workspace discovery) over N packages that
 * depend on each other, against the same N packages without dependencies, as whole processes,
 * interleaved. Once with pkg.config.ts files importing each other (typed dependencies), once
 * with build.yml files using LinuxKit's "@lkt:pkg:<path>".
 *
 *   npx tsx bench/workspace-show-tag.ts [--size 1000] [--rounds 5] [--dirty-percent 5] [--kinds ts,yml] [--keep]
 *
 * Package i > 0 depends on package (i-1)/2 (a binary tree, so diamonds and chains ~log2 N deep)
 * and every 10th one also on package i-1. Target: with dependencies at most 1.5x the time
 * without. Exits non-zero only if a tag disagrees with the rule recomputed from git ls-tree.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { interleave, median, parseFlags, secs, table, timed, type RunResult, benchEnv } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const LIB = resolve(here, "..", "lib", "index.ts");
const TARGET = 1.5;

const usage = "usage: npx tsx bench/workspace-show-tag.ts [--size 1000] [--rounds 5] [--dirty-percent 5] [--kinds ts,yml] [--keep]";
const flags = parseFlags(process.argv.slice(2), { size: "string", rounds: "string", "dirty-percent": "string", kinds: "string", keep: "boolean" }, usage);
const n = Number.parseInt(String(flags.size ?? "1000"), 10);
const rounds = Number.parseInt(String(flags.rounds ?? "5"), 10);
const dirtyPercent = Number(flags["dirty-percent"] ?? 5);
const kinds = String(flags.kinds ?? "ts,yml").split(",") as ("ts" | "yml")[];
if (!(n > 1) || !(rounds > 0) || !(dirtyPercent >= 0 && dirtyPercent <= 100) || kinds.some((k) => k !== "ts" && k !== "yml")) {
  console.error(usage);
  process.exit(2);
}

// Same git environment for setup and both contenders; no user or system config.
const env = benchEnv;

const temps: string[] = [];
process.on("exit", () => {
  if (flags.keep) return temps.forEach((t) => console.error(`kept ${t}`));
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

function git(repo: string, args: string[]): string {
  const r = timed(["git", "-C", repo, ...args], { env });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Package i's dependencies: build arg name → package index. */
const depsOf = (i: number): [string, number][] => (i === 0 ? [] : [["D0", (i - 1) >> 1], ...(i % 10 === 0 ? [["D1", i - 1] as [string, number]] : [])]);

/** A repository with pkgs/p0..p<n-1>, committed; every k-th package then gets an edit and an untracked file. */
function makeRepo(kind: "ts" | "yml", withDeps: boolean): { repo: string; dirty: Set<number> } {
  const repo = mkdtempSync(join(tmpdir(), `pkgkit-bench-ws-${kind}-${withDeps ? "deps" : "plain"}-`));
  temps.push(repo);
  git(repo, ["init", "-q", "-b", "main"]);
  writeFileSync(join(repo, ".gitignore"), "*.log\n");
  for (let i = 0; i < n; i++) {
    const d = join(repo, "pkgs", `p${i}`);
    mkdirSync(d, { recursive: true });
    const deps = depsOf(i);
    // Without dependencies the same build args hold plain strings, so both parse the same amount.
    if (kind === "ts") {
      const imports = withDeps ? deps.map(([a, j]) => `import ${a.toLowerCase()} from "../p${j}/pkg.config.ts";\n`).join("") : "";
      const args = deps.map(([a]) => `${a}: ${withDeps ? a.toLowerCase() : '"none"'}`).join(", ");
      writeFileSync(join(d, "pkg.config.ts"), `import { definePackage } from ${JSON.stringify(LIB)};\n${imports}export default definePackage({ image: "p${i}", org: "bench", buildArgs: { ${args} } });\n`);
    } else {
      const args = deps.map(([a, j]) => `  - ${a}=${withDeps ? `@lkt:pkg:../p${j}` : "none"}\n`).join("");
      writeFileSync(join(d, "build.yml"), `image: p${i}\norg: bench\n${args ? `buildArgs:\n${args}` : ""}`);
    }
    writeFileSync(join(d, "Dockerfile"), `${deps.map(([a]) => `ARG ${a}\n`).join("")}FROM scratch\nLABEL bench.index=${i}\n`);
  }
  git(repo, ["add", "-A"]);
  git(repo, ["commit", "-q", "-m", `${n} packages`]);
  const dirty = new Set<number>();
  const every = dirtyPercent > 0 ? Math.max(1, Math.round(100 / dirtyPercent)) : 0;
  for (let i = every ? every - 1 : n; i < n; i += every || n) {
    appendFileSync(join(repo, "pkgs", `p${i}`, "Dockerfile"), "# local edit\n");
    writeFileSync(join(repo, "pkgs", `p${i}`, "notes.txt"), "untracked\n");
    writeFileSync(join(repo, "pkgs", `p${i}`, "ignored.log"), "ignored, must not make it dirty\n");
    dirty.add(i);
  }
  git(repo, ["status", "--porcelain"]); // refresh the index once, so neither contender pays for it
  return { repo, dirty };
}

/**
 * Mismatches against the documented rule, recomputed from git ls-tree: clean packages with no
 * dirty dependency must have exactly the expected tag; the others must be dirty, and only they.
 */
function check(out: string, repo: string, dirtyOwn: Set<number>, withDeps: boolean): number {
  const tags = new Map<number, string>();
  for (const line of out.trim().split("\n")) {
    const m = /^bench\/p(\d+):(\S+)$/.exec(line);
    if (!m) throw new Error(`unexpected show-tag line ${JSON.stringify(line)}`);
    tags.set(Number(m[1]), m[2]!);
  }
  if (tags.size !== n) throw new Error(`expected ${n} packages, got ${tags.size}`);
  const trees = new Map<number, string>();
  for (const entry of git(repo, ["ls-tree", "-r", "-d", "HEAD", "pkgs"]).trim().split("\n")) {
    const m = /^\d+ tree ([0-9a-f]+)\tpkgs\/p(\d+)$/.exec(entry);
    if (m) trees.set(Number(m[2]), m[1]!);
  }
  const expected = new Map<number, { tag: string; dirty: boolean }>();
  for (let i = 0; i < n; i++) {
    const deps = withDeps ? depsOf(i) : [];
    const dirty = dirtyOwn.has(i) || deps.some(([, j]) => expected.get(j)!.dirty);
    const lines = depsOf(i).map(([a, j]) => `${a}=${withDeps ? `bench/p${j}:${expected.get(j)!.tag.replace(/-dirty-.*$/, "")}` : "none"}`);
    const head = deps.length === 0 ? trees.get(i)! : createHash("sha1").update(`${trees.get(i)}\n${lines.join("\n")}`).digest("hex");
    expected.set(i, { tag: head, dirty });
  }
  let mismatches = 0;
  for (let i = 0; i < n; i++) {
    const got = tags.get(i)!;
    const want = expected.get(i)!;
    const ok = want.dirty ? new RegExp(`^${want.tag}-dirty-[0-9a-f]{7}$`).test(got) : got === want.tag;
    if (!ok) {
      if (mismatches < 5) console.error(`  mismatch p${i}: got ${got}, expected ${want.tag}${want.dirty ? "-dirty-<7 hex>" : ""}`);
      mismatches++;
    }
  }
  return mismatches;
}

interface Row { kind: string; a: number; b: number; dirtyA: number; mismatches: number; edges: number }
const rows: Row[] = [];
for (const kind of kinds) {
  const t0 = performance.now();
  const deps = makeRepo(kind, true);
  const plain = makeRepo(kind, false);
  console.error(`${kind}: generated ${n} packages twice (${deps.dirty.size} dirty each) in ${secs(performance.now() - t0)}s`);
  const run = (repo: string) => () => timed(["node", BIN, "show-tag"], { cwd: repo, env });
  const ok = (who: string) => (r: RunResult) => {
    if (r.code !== 0) throw new Error(`${who} exited ${r.code}:\n${r.stderr.slice(0, 2000)}`);
  };
  const a = run(deps.repo)(), b = run(plain.repo)();
  ok("with dependencies")(a), ok("without")(b);
  const mismatches = check(a.stdout, deps.repo, deps.dirty, true) + check(b.stdout, plain.repo, plain.dirty, false);
  const dirtyA = (a.stdout.match(/-dirty-/g) ?? []).length;
  const times = interleave(
    [
      { name: "A", run: run(deps.repo), check: ok("with dependencies") },
      { name: "B", run: run(plain.repo), check: ok("without") },
    ],
    rounds,
    (m) => console.error(`  ${kind}${m}`),
  );
  const edges = Array.from({ length: n }, (_, i) => depsOf(i).length).reduce((x, y) => x + y, 0);
  rows.push({ kind, a: median(times.get("A")!), b: median(times.get("B")!), dirtyA, mismatches, edges });
}

console.log(`\nworkspace show-tag, N=${n}: A = node lib/bin.mjs show-tag (no directory) with dependencies, B = the same packages without`);
console.log(`medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(
  table([
    ["files", "edges", "dirty in A (own + inherited)", "A deps (s)", "B plain (s)", "A/B", "tag mismatches"],
    ...rows.map((r) => [r.kind === "ts" ? "pkg.config.ts" : "build.yml", String(r.edges), String(r.dirtyA), secs(r.a), secs(r.b), `${(r.a / r.b).toFixed(2)}x`, String(r.mismatches)]),
  ]),
);
console.log("");
for (const r of rows)
  console.log(`target (${r.kind}): with dependencies <= ${TARGET}x the time without: ${r.a / r.b <= TARGET ? "MET" : "NOT MET"} (${(r.a / r.b).toFixed(2)}x)`);
if (rows.some((r) => r.mismatches > 0)) {
  console.log("FAILED: some tags disagree with the rule recomputed from git ls-tree (see mismatches above)");
  process.exitCode = 1;
}
