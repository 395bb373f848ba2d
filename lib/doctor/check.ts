/**
 * `pkgkit doctor`'s rows and how each check runs: every check is a function returning rows, run
 * side by side with the others, each bounded in time so that nothing it waits for (a registry that
 * accepts a connection and says nothing, an ssh engine that never answers) holds the report up.
 */
import type { Shell, ExecResult } from "../shell.ts";

/** ok: present and working; missing: a run would fail without it; warn: a run goes on, but see `fix`. */
export type CheckStatus = "ok" | "missing" | "warn";

/** One row of the report. Never holds a secret. */
export interface CheckRow {
  /** What was checked: `engine`, `binfmt arm64`, `registry 127.0.0.1:5000`, ... */
  check: string;
  status: CheckStatus;
  /** What was found: a version, a file, an address, or what failed. */
  found: string;
  /** What to do, for a row that is not ok ("" when there is nothing to do). */
  fix: string;
}

/** How long a network check waits for one answer (a connection, a reply). */
export const NETWORK_TIMEOUT_MS = 5_000;

/** A row that found what a run needs. */
export const ok = (check: string, found: string): CheckRow => ({ check, status: "ok", found, fix: "" });
/** A row whose lack would fail a run: doctor exits 1. */
export const missing = (check: string, found: string, fix: string): CheckRow => ({ check, status: "missing", found, fix });
/** A row a run goes on without, though `fix` says what to do. */
export const warn = (check: string, found: string, fix: string): CheckRow => ({ check, status: "warn", found, fix });

/** A check: the rows it found. */
export type Check = () => Promise<CheckRow[]>;

/**
 * Runs `checks` at once, each bounded by `limitMs`: a check that has not finished by then is one
 * `missing` row naming it (`name`) and the wait. A check that throws is one `missing` row with its message.
 */
export async function runChecks(checks: { name: string; run: Check }[], limitMs: number): Promise<CheckRow[]> {
  const rows = await Promise.all(checks.map(async ({ name, run }) => {
    const late = [missing(name, `no answer within ${limitMs / 1000}s`, "see why it stalls (a host that accepts connections and never answers?); doctor waits for nothing longer")];
    return orAfter(run().catch((e: unknown) => [missing(name, e instanceof Error ? e.message : String(e), "")]), limitMs, late);
  }));
  return rows.flat();
}

/** What `p` resolves to, or `late` once `ms` have passed without it. */
export async function orAfter<T, L>(p: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<L>((resolve) => {
      timer = setTimeout(() => resolve(late), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** `argv` run with `shell`, stopped after `ms`; `timedOut` says it was. A program not on PATH exits 127. */
export async function execBounded(shell: Shell, argv: string[], ms: number, options: { env?: Record<string, string>; input?: string } = {}): Promise<ExecResult & { timedOut: boolean }> {
  const signal = AbortSignal.timeout(ms);
  const r = await shell.exec(argv, { signal, ...options }).catch((e: unknown) => ({ code: -1, stdout: "", stderr: e instanceof Error ? e.message : String(e) }));
  return { ...r, timedOut: signal.aborted };
}

/** The program `argv[0]` is not on PATH (the shell's exit 127). */
export const notFound = (r: ExecResult) => r.code === 127;

/** The first line of a command's error output, for `found`. */
export const firstLine = (text: string) => text.trim().split("\n")[0]?.trim().slice(0, 300) ?? "";

/** The last line of a command's error output (where ssh and the docker CLI say why), for `found`. */
export const lastLine = (text: string) => text.trim().split("\n").filter((l) => l.trim()).pop()?.trim().slice(0, 300) ?? "";
