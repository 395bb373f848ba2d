/**
 * Shared helpers for the benchmarks: time whole processes, interleave contenders, report medians.
 * Benchmarks never fail on time; they print ratios and whether the target is met.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { performance } from "node:perf_hooks";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The bin package.json names (lib/bin.cjs): what `pkgkit` runs, in a Makefile or a shell. */
export const PACKAGE_BIN = (() => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  return join(root, (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin: { pkgkit: string } }).bin.pkgkit);
})();

export interface RunResult {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Run one whole process to completion and time it from spawn to exit. */
export function timed(argv: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const start = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { maxBuffer: 256 * 1024 * 1024, encoding: "utf8", ...options });
  const ms = performance.now() - start;
  if (r.error) throw r.error;
  return { ms, code: r.status ?? 1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface Contender {
  name: string;
  run: () => RunResult;
  /** Called with each result (warm-up included); throw to abort the benchmark. */
  check?: (r: RunResult, warmup: boolean) => void;
}

/**
 * One warm-up run of each contender, then `rounds` rounds of A, B, A, B ... so that drift in the
 * machine's load affects both alike. Returns the timings of each contender, in ms.
 */
export function interleave(contenders: Contender[], rounds: number, progress?: (msg: string) => void): Map<string, number[]> {
  const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (const c of contenders) c.check?.(c.run(), true);
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const res = c.run();
      c.check?.(res, false);
      times.get(c.name)!.push(res.ms);
    }
    progress?.(`  round ${r + 1}/${rounds}: ${contenders.map((c) => `${c.name} ${(times.get(c.name)!.at(-1)! / 1000).toFixed(3)}s`).join(", ")}`);
  }
  return times;
}

/** A plain text table: first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(rows[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

export const secs = (ms: number) => (ms / 1000).toFixed(3);

/** The environment for setup and contenders alike: git without user or system config. */
export const benchEnv: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@example.invalid",
  LC_ALL: "C",
};

/** Setup commands: run in `benchEnv` (or `env`), throw with the tail of stderr if they fail. */
export function mustRun(argv: string[], cwd?: string, env: NodeJS.ProcessEnv = benchEnv): RunResult {
  const r = timed(argv, { cwd, env });
  if (r.code !== 0) throw new Error(`${argv.slice(0, 4).join(" ")} … failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  return r;
}

/** Parse `--name value` / `--name=value` / `--flag` options; unknown options are an error. */
export function parseFlags(argv: string[], known: Record<string, "string" | "boolean">, usage: string): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") {
      console.log(usage);
      process.exit(0);
    }
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m || !known[m[1]!]) {
      console.error(`unknown argument ${a}\n${usage}`);
      process.exit(2);
    }
    if (known[m[1]!] === "boolean") out[m[1]!] = true;
    else {
      const v = m[2] ?? argv[++i];
      if (v === undefined) {
        console.error(`--${m[1]} needs a value\n${usage}`);
        process.exit(2);
      }
      out[m[1]!] = v;
    }
  }
  return out;
}

/** The test env's plain registry (test/env/start.sh writes it to services.json); exits 2 saying how to start it. */
export function plainRegistry(): string {
  const state = process.env.PKGKIT_STATE ?? "/var/tmp/pkgkit-testenv";
  try {
    return (JSON.parse(readFileSync(join(state, "services.json"), "utf8")) as { registries: { plain: string } }).registries.plain;
  } catch {
    console.error(`no ${join(state, "services.json")}: run test/env/start.sh first (it starts the registry this benchmark pushes to)`);
    process.exit(2);
  }
}
