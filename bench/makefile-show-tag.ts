/**
 * Benchmark: the Makefile pattern, `for d in $(DIRS); do <tool> show-tag $d; done`, against one
 * batched `<tool> show-tag $(DIRS)`, for pkgkit and for the real linuxkit binary, over N packages
 * (default 90, about LinuxKit's own tree) of a throwaway git repository, a few of them dirty.
 *
 *   npx tsx bench/makefile-show-tag.ts [--size 90] [--rounds 3] [--dirty-percent 5] [--linuxkit <bin>] [--keep]
 *
 * The linuxkit binary is --linuxkit, else the one test/linuxkit.ts finds (without one, only pkgkit
 * runs). E: the Makefile loop with pkgkit's single executable (lib/compile.mjs, compiled into a
 * temp dir first). Prints the times, their ratios to A, and each loop's ratio to linuxkit's loop
 * against issue 13's target (at most 2x). Exits 1 if the tools' tags differ.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, interleave, median, mustRun, PACKAGE_BIN, parseFlags, secs, table, timed, type RunResult } from "./common.ts";
import { linuxkitOracle } from "../test/linuxkit.ts";

const here = dirname(fileURLToPath(import.meta.url));
// The bin package.json names (lib/bin.cjs), as `pkgkit` in a Makefile runs it.
const BIN = PACKAGE_BIN;
const usage = "usage: npx tsx bench/makefile-show-tag.ts [--size 90] [--rounds 3] [--dirty-percent 5] [--linuxkit <bin>] [--keep]";
const flags = parseFlags(process.argv.slice(2), { size: "string", rounds: "string", "dirty-percent": "string", linuxkit: "string", keep: "boolean" }, usage);
const size = Number.parseInt(String(flags.size ?? "90"), 10);
const rounds = Number.parseInt(String(flags.rounds ?? "3"), 10);
const dirtyPercent = Number(flags["dirty-percent"] ?? 5);
if (!(size > 0) || !(rounds > 0) || !(dirtyPercent >= 0 && dirtyPercent <= 100)) {
  console.error(usage);
  process.exit(2);
}
const oracle = flags.linuxkit ? { bin: String(flags.linuxkit) } : linuxkitOracle();
if ("missing" in oracle) console.error(`linuxkit: ${oracle.missing}; timing pkgkit only`);
const env = { ...benchEnv, PKGKIT_ORG: "", LINUXKIT_PKG_ORG: "" };

const repo = mkdtempSync(join(tmpdir(), `pkgkit-bench-makefile-${size}-`));
process.on("exit", () => (flags.keep ? console.error(`kept ${repo}`) : rmSync(repo, { recursive: true, force: true })));
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

mustRun(["git", "init", "-q", "-b", "main"], repo, env);
writeFileSync(join(repo, ".gitignore"), "*.log\n");
const dirs: string[] = [];
for (let i = 0; i < size; i++) {
  const d = join(repo, "pkg", `p${i}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "build.yml"), `image: p${i}\nnetwork: true\n`);
  writeFileSync(join(d, "Dockerfile"), `FROM scratch\nCOPY . /p${i}\n`);
  dirs.push(`pkg/p${i}`);
}
mustRun(["git", "add", "-A"], repo, env);
mustRun(["git", "commit", "-q", "-m", `${size} packages`], repo, env);
const every = dirtyPercent > 0 ? Math.max(1, Math.round(100 / dirtyPercent)) : 0;
let dirty = 0;
for (let i = every ? every - 1 : size; i < size; i += every || size, dirty++) {
  appendFileSync(join(repo, dirs[i]!, "Dockerfile"), "# local edit\n");
  writeFileSync(join(repo, dirs[i]!, "notes.txt"), "untracked\n");
}
mustRun(["git", "status", "--porcelain"], repo, env); // refresh the index once, for every contender alike

/** The Makefile pattern: `tool show-tag <dir>` once per directory, in one bash process; `tool` is an argv prefix. */
const loop = (tool: string[]) => [
  "bash", "-c", 'n=$1; shift; tool=("${@:1:$n}"); shift "$n"; for d in "$@"; do "${tool[@]}" show-tag "$d" || exit; done', "loop", String(tool.length), ...tool, ...dirs,
];
const contenders: { name: string; label: string; argv: string[] }[] = [
  { name: "A", label: "pkgkit, one batched call", argv: ["node", BIN, "show-tag", ...dirs] },
  { name: "B", label: `pkgkit, ${size} calls (Makefile loop)`, argv: loop(["node", BIN]) },
];
// Outside the repository, so it does not make the packages dirty.
const exe = join(mkdtempSync(join(tmpdir(), "pkgkit-bench-sea-")), "pkgkit");
process.on("exit", () => rmSync(dirname(exe), { recursive: true, force: true }));
mustRun(["node", resolve(here, "..", "lib", "compile.mjs"), exe]);
if ("bin" in oracle) {
  contenders.push(
    { name: "C", label: "linuxkit, one batched call", argv: [oracle.bin, "pkg", "show-tag", ...dirs] },
    { name: "D", label: `linuxkit, ${size} calls (Makefile loop)`, argv: loop([oracle.bin, "pkg"]) },
  );
}
contenders.push({ name: "E", label: `pkgkit single executable, ${size} calls (Makefile loop)`, argv: loop([exe]) });

const outputs = new Map<string, string>();
const runs = contenders.map((c) => ({
  name: c.name,
  run: () => timed(c.argv, { cwd: repo, env }),
  check: (r: RunResult) => {
    if (r.code !== 0) throw new Error(`${c.label} exited ${r.code}:\n${r.stderr.slice(0, 2000)}`);
    outputs.set(c.name, r.stdout);
  },
}));
console.error(`${repo}: ${size} packages, ${dirty} dirty`);
const times = interleave(runs, rounds, (m) => console.error(m));

const want = outputs.get("C") ?? outputs.get("A")!;
const differing = [...outputs].filter(([, out]) => out !== want).map(([name]) => name);
const m = (name: string) => median(times.get(name)!);
console.log(`\nshow-tag over ${size} packages (${dirty} dirty): medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(table([["contender", "time (s)", "per package (ms)", "vs A"], ...contenders.map((c) => [`${c.name} ${c.label}`, secs(m(c.name)), (m(c.name) / size).toFixed(1), `${(m(c.name) / m("A")).toFixed(1)}x`])]));
if (times.has("D"))
  for (const name of ["B", "E"]) {
    const r = m(name) / m("D");
    console.log(`${name}/D (a loop against linuxkit's loop): ${r.toFixed(2)}x, target <= 2x: ${r <= 2 ? "met" : "NOT MET"}`);
  }
console.log(`\ntags: ${differing.length === 0 ? `all ${outputs.size} contenders print the same ${size} lines` : `DIFFER: ${differing.join(", ")} against ${outputs.has("C") ? "C" : "A"}`}`);
if (differing.length) process.exitCode = 1;
