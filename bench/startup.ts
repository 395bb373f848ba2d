/**
 * Benchmark: start-up of commands that do not build, each run interleaved with its yardstick in
 * one script (whole processes, medians), against issue 13's targets:
 *
 * - `pkgkit show-tag <build.yml package>` (node and the bin package.json names, lib/bin.cjs): at
 *   most 1.8x `node -e 0`; `node lib/bin.mjs`, its ES module twin, reported beside
 * - `pkgkit show-tag <pkg.config.ts package>`: at most 2.5x `node -e 0`
 * - `tsx <pkg.config.ts> show-tag`: at most 1.25x `tsx empty.ts` (and `npx tsx`, reported only)
 * - the single executable (lib/compile.mjs, compiled into the temp dir first) on both packages,
 *   against `node -e 0` and `bun -e 0`: reported only
 * - `deno run -A pkg.config.ts show-tag` and `bun pkg.config.ts show-tag`: at most 40 ms over the
 *   git queries pkgkit makes for the package, started at once by one sh (`git queries`); their
 *   runs of an empty file are reported beside
 *
 *   npx tsx bench/startup.ts [--rounds 7] [--keep]
 *
 * The packages live in a throwaway git repository (one commit), so git's share is the same for all.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchEnv, interleave, median, mustRun, PACKAGE_BIN, parseFlags, secs, table, timed, type RunResult } from "./common.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The bin package.json names (lib/bin.cjs), as `pkgkit` runs it; its ES module twin is reported beside.
const BIN = PACKAGE_BIN;
const ESM_BIN = join(root, "lib", "bin.mjs");
const TSX = join(root, "node_modules", ".bin", "tsx");
const BUN = join(root, "node_modules", ".bin", "bun");
const DENO = join(root, "node_modules", ".bin", "deno");

const usage = "usage: npx tsx bench/startup.ts [--rounds 7] [--keep]";
const flags = parseFlags(process.argv.slice(2), { rounds: "string", keep: "boolean" }, usage);
const rounds = Number.parseInt(String(flags.rounds ?? "7"), 10);
if (!(rounds > 0)) {
  console.error(usage);
  process.exit(2);
}

const repo = mkdtempSync(join(tmpdir(), "pkgkit-bench-startup-"));
process.on("exit", () => (flags.keep ? console.error(`kept ${repo}`) : rmSync(repo, { recursive: true, force: true })));
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => process.exit(130));

// The pkg.config.ts package imports "pkgkit" as a user's would: through node_modules/pkgkit.
mkdirSync(join(repo, "node_modules"));
mustRun(["ln", "-s", root, join(repo, "node_modules", "pkgkit")]);
for (const dir of ["yml", "ts", "dn"]) {
  mkdirSync(join(repo, dir));
  writeFileSync(join(repo, dir, "Dockerfile"), "FROM scratch\n");
}
writeFileSync(join(repo, "yml", "build.yml"), "image: yml\norg: bench\n");
writeFileSync(
  join(repo, "ts", "pkg.config.ts"),
  'import { definePackage } from "pkgkit";\n\nexport default definePackage({ image: "ts", org: "bench" });\n',
);
// Deno finds an npm package in node_modules only as a dependency a package.json declares: the
// package the Deno and Bun rows run has one of its own (the others have none, as in a LinuxKit tree).
writeFileSync(join(repo, "dn", "pkg.config.ts"), 'import { definePackage } from "pkgkit";\n\nexport default definePackage({ image: "dn", org: "bench" });\n');
writeFileSync(join(repo, "dn", "package.json"), '{ "private": true, "dependencies": { "pkgkit": "*" } }\n');
writeFileSync(join(repo, "empty.ts"), "export {};\n");
writeFileSync(join(repo, ".gitignore"), "node_modules\n");
mustRun(["git", "-C", repo, "init", "-q", "-b", "main"]);
mustRun(["git", "-C", repo, "add", "-A"]);
mustRun(["git", "-C", repo, "commit", "-q", "-m", "startup bench"]);
// Outside the repository, so it does not make the packages dirty.
const SEA = join(mkdtempSync(join(tmpdir(), "pkgkit-bench-sea-")), "pkgkit");
process.on("exit", () => rmSync(dirname(SEA), { recursive: true, force: true }));
mustRun(["node", join(root, "lib", "compile.mjs"), SEA]);

const run = (argv: string[]) => () => timed(argv, { cwd: repo, env: benchEnv });
// The git processes a show-tag starts for one package (lib/git.ts with tagsOnly: rev-parse beside
// ls-tree, diff and ls-files), at once, each git itself as directShell starts them, from one sh.
const gitQueries = (dir: string) =>
  [
    ["rev-parse", "--show-toplevel", "HEAD", "HEAD^{tree}"],
    ["ls-tree", "--full-tree", "-z", "-t", "HEAD", "--", dir],
    ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "HEAD", "--", dir],
    ["ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard", "--", dir],
  ]
    .map((args) => `git -C ${[repo, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ")} >/dev/null &`)
    .join("\n") + "\nwait\n";
const tagLine = (image: string) => (r: RunResult) => {
  if (r.code !== 0 || !new RegExp(`^bench/${image}:[0-9a-f]{40}\\n$`).test(r.stdout)) {
    throw new Error(`show-tag of ${image}: exit ${r.code}, stdout ${JSON.stringify(r.stdout)}, stderr ${r.stderr.slice(-1000)}`);
  }
};
const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.slice(-1000)}`);
};

const contenders = [
  { name: "node -e 0", run: run(["node", "-e", "0"]), check: ok },
  { name: "pkgkit show-tag yml", run: run(["node", BIN, "show-tag", "yml"]), check: tagLine("yml") },
  { name: "pkgkit show-tag ts", run: run(["node", BIN, "show-tag", "ts"]), check: tagLine("ts") },
  { name: "lib/bin.mjs show-tag yml", run: run(["node", ESM_BIN, "show-tag", "yml"]), check: tagLine("yml") },
  { name: "tsx empty.ts", run: run([TSX, "empty.ts"]), check: ok },
  { name: "tsx pkg.config.ts show-tag", run: run([TSX, "ts/pkg.config.ts", "show-tag"]), check: tagLine("ts") },
  { name: "npx tsx pkg.config.ts show-tag", run: run(["npx", "--no-install", "tsx", "ts/pkg.config.ts", "show-tag"]), check: tagLine("ts") },
  { name: "bun -e 0", run: run([BUN, "-e", "0"]), check: ok },
  { name: "executable show-tag yml", run: run([SEA, "show-tag", "yml"]), check: tagLine("yml") },
  { name: "executable show-tag ts", run: run([SEA, "show-tag", "ts"]), check: tagLine("ts") },
  { name: "git queries", run: run(["sh", "-c", gitQueries("dn")]), check: ok },
  { name: "deno empty.ts", run: run([DENO, "run", "-A", "--quiet", "empty.ts"]), check: ok },
  { name: "deno pkg.config.ts show-tag", run: run([DENO, "run", "-A", "--quiet", "dn/pkg.config.ts", "show-tag"]), check: tagLine("dn") },
  { name: "bun empty.ts", run: run([BUN, "empty.ts"]), check: ok },
  { name: "bun pkg.config.ts show-tag", run: run([BUN, "dn/pkg.config.ts", "show-tag"]), check: tagLine("dn") },
];
const times = interleave(contenders, rounds, (m) => console.error(m));
const med = (name: string) => median(times.get(name)!);

console.log(`medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(table([["command", "median (s)"], ...contenders.map((c) => [c.name, secs(med(c.name))])]));
const ratios: [string, string, number | undefined][] = [
  ["pkgkit show-tag yml", "node -e 0", 1.8],
  ["pkgkit show-tag ts", "node -e 0", 2.5],
  ["lib/bin.mjs show-tag yml", "node -e 0", undefined],
  ["tsx pkg.config.ts show-tag", "tsx empty.ts", 1.25],
  ["npx tsx pkg.config.ts show-tag", "tsx empty.ts", undefined],
  ["executable show-tag yml", "node -e 0", undefined],
  ["executable show-tag ts", "node -e 0", undefined],
  ["executable show-tag ts", "bun -e 0", undefined],
];
console.log(`\n${table([
  ["ratio", "measured", "target", "met"],
  ...ratios.map(([a, b, target]) => {
    const r = med(a) / med(b);
    return [`${a} / ${b}`, `${r.toFixed(2)}x`, target ? `<= ${target}x` : "none", target ? (r <= target ? "yes" : "no") : "-"];
  }),
])}`);
const overs: [string, number][] = [
  ["deno pkg.config.ts show-tag", 40],
  ["bun pkg.config.ts show-tag", 40],
];
console.log(`\n${table([
  ["over the git queries", "measured (ms)", "target", "met"],
  ...overs.map(([a, target]) => {
    const over = med(a) - med("git queries");
    return [`${a} - git queries`, over.toFixed(1), `<= ${target} ms`, over <= target ? "yes" : "no"];
  }),
])}`);
