/**
 * The one place pkgkit starts processes. Steps run through zx on Node and Bun, dax on Deno; either
 * way arguments are passed as an array and quoted by the library, never joined into a shell string.
 * pkgkit's own questions to git, asked on every start to compute tags, go through directShell: the
 * program itself, started with its argv, no shell and no library between.
 */
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import { runtime } from "./runtime.ts";

export interface ExecOptions {
  cwd?: string;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Written to stdin. */
  input?: string;
  /** Called for each complete output line, as it arrives. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /**
   * Stops the process once aborted. With a signal the process runs in a process group of its own
   * (zx), and the whole group gets SIGTERM, then SIGKILL if it is still there after a grace
   * period: `docker` runs `docker-buildx` as a child of its own. exec resolves once it has exited.
   */
  signal?: AbortSignal;
}

/** How long a stopped process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 3000;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs processes, argv as an array (never a shell string): build steps, builders and Notary go through one. */
export interface Shell {
  readonly name: "zx" | "dax" | "direct";
  /** Run argv[0] with the rest as arguments. Never throws for a non-zero exit: check `code`. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

let cached: Promise<Shell> | undefined;
/** The Shell of this runtime (zx on Node and Bun, dax on Deno), made once. */
export function defaultShell(): Promise<Shell> {
  return (cached ??= runtime === "deno" ? daxShell() : zxShell());
}

let direct: Shell | undefined;
/**
 * A Shell without a shell: argv[0] started with the rest as its arguments (node:child_process on
 * Node, Bun.spawn on Bun, Deno.Command on Deno), nothing to quote, no zx or dax loaded. What the recipes
 * resolve tags with unless given a shell: git's answers need no shell, and loading zx or dax
 * (and a bash per process) was a large part of a show-tag. A program that cannot be started
 * exits 127, as under a shell, with the reason on stderr.
 */
export function directShell(): Shell {
  return (direct ??= { name: "direct", exec: runtime === "deno" ? denoExec : runtime === "bun" ? bunExec : spawnExec });
}

async function spawnExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  options.signal?.throwIfAborted();
  const { spawn } = await import("node:child_process");
  const out = lineSplitter("stdout", options.onLine);
  const err = lineSplitter("stderr", options.onLine);
  return new Promise((done) => {
    const child = startChild(
      spawn,
      argv[0]!,
      argv.slice(1),
      { cwd: options.cwd, env: options.env ? { ...process.env, ...options.env } : process.env, stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] },
      options.signal,
    );
    let failed: string | undefined;
    child.on("error", (e: NodeJS.ErrnoException) => (failed ??= notStarted(argv[0]!, e.code ?? e.message)));
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr!.on("data", (c: Buffer) => err.push(c));
    if (options.input !== undefined) child.stdin!.end(options.input);
    child.on("close", (code, signal) => {
      const stderr = err.end();
      done({ code: failed ? 127 : (code ?? 128 + signalNumber(signal)), stdout: out.end(), stderr: failed ? stderr + failed : stderr });
    });
  });
}

declare const Bun: {
  spawn(
    cmd: string[],
    options: object,
  ): { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array>; exited: Promise<number>; signalCode: string | null };
};

/**
 * On Bun, Bun.spawn: four git queries take about 6 ms there against 17 through Bun's
 * node:child_process (bench/README.md, "startup"). A stop (`signal`) needs the child's process
 * group, which node:child_process gives: such a call goes there.
 */
async function bunExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (options.signal) return spawnExec(argv, options);
  const out = lineSplitter("stdout", options.onLine);
  const err = lineSplitter("stderr", options.onLine);
  let child;
  try {
    child = Bun.spawn([...argv], {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdin: options.input === undefined ? "ignore" : new TextEncoder().encode(options.input),
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (e) {
    return { code: 127, stdout: "", stderr: notStarted(argv[0]!, (e as NodeJS.ErrnoException).code ?? (e as Error).message) };
  }
  await Promise.all([drain(child.stdout, out), drain(child.stderr, err)]);
  const code = await child.exited;
  return { code: child.signalCode ? 128 + signalNumber(child.signalCode) : code, stdout: out.end(), stderr: err.end() };
}

declare const Deno: {
  Command: new (program: string, options: object) => { spawn(): { stdin: WritableStream<Uint8Array>; stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array>; status: Promise<{ code: number; signal: string | null }> } };
};

async function denoExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  options.signal?.throwIfAborted();
  const out = lineSplitter("stdout", options.onLine);
  const err = lineSplitter("stderr", options.onLine);
  let child;
  try {
    child = new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      cwd: options.cwd,
      env: options.env,
      stdin: options.input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    }).spawn();
  } catch (e) {
    return { code: 127, stdout: "", stderr: notStarted(argv[0]!, (e as Error).name === "NotFound" ? "ENOENT" : (e as Error).message) };
  }
  const writing =
    options.input === undefined
      ? undefined
      : (async () => {
          const w = child.stdin.getWriter();
          await w.write(new TextEncoder().encode(options.input));
          await w.close();
        })().catch(() => {}); // a child that exits before reading it all: its exit code says enough
  const [status] = await Promise.all([child.status, drain(child.stdout, out), drain(child.stderr, err), writing]);
  return { code: status.signal ? 128 + signalNumber(status.signal) : status.code, stdout: out.end(), stderr: err.end() };
}

async function drain(stream: ReadableStream<Uint8Array>, into: ReturnType<typeof lineSplitter>) {
  for await (const c of stream) into.push(c);
}

const notStarted = (program: string, reason: string) => `${program}: cannot start it (${reason === "ENOENT" ? "command not found, ENOENT" : reason})\n`;
/** A signal's number (the platform's table), 0 for none or an unknown name. */
const signalNumber = (signal: string | null) => (signal && (constants.signals as Record<string, number>)[signal]) || 0;

function lineSplitter(stream: "stdout" | "stderr", onLine?: ExecOptions["onLine"]) {
  let buf = "";
  let all = "";
  const decoder = new TextDecoder();
  return {
    push(chunk: Uint8Array | string) {
      const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
      all += text;
      if (!onLine) return;
      buf += text;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        onLine(buf.slice(0, nl).replace(/\r$/, ""), stream);
        buf = buf.slice(nl + 1);
      }
    },
    end() {
      if (onLine && buf) onLine(buf, stream);
      buf = "";
      return all;
    },
  };
}

async function zxShell(): Promise<Shell> {
  const { $ } = await import("zx/core"); // the process API alone, without zx's globals (faster start)
  const { spawn } = await import("node:child_process");
  // zx writes `input` without an error listener: startChild adds one (see there).
  const spawnQuietStdin = (signal?: AbortSignal) =>
    ((command: string, args: readonly string[], opts: SpawnOptions) => startChild(spawn, command, args, opts, signal)) as typeof spawn;
  return {
    name: "zx",
    async exec(argv, options = {}) {
      options.signal?.throwIfAborted();
      const out = lineSplitter("stdout", options.onLine);
      const err = lineSplitter("stderr", options.onLine);
      const p = $({
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        input: options.input,
        quiet: true,
        nothrow: true,
        verbose: false,
        spawn: spawnQuietStdin(options.signal),
        // Without input the child's stdin is /dev/null, as on Deno (dax's "null" below), not a pipe
        // zx leaves open and never writes to: a program reading it got no end of file, and
        // setting the pipe up cost Bun about 0.5 ms of every spawn (bench/README.md).
        ...(options.input === undefined ? { stdio: ["ignore", "pipe", "pipe"] as const } : {}),
      })`${argv}`;
      p.stdout.on("data", (c: Buffer) => out.push(c));
      p.stderr.on("data", (c: Buffer) => err.push(c));
      const result = await p;
      return { code: result.exitCode ?? 1, stdout: out.end(), stderr: err.end() };
    },
  };
}

/**
 * node:child_process's spawn, for zx and directShell alike: with a `signal`, in a process group of
 * its own, which an abort stops (stopOnAbort); its stdin's write errors ignored, since a child
 * that exits before reading all of its input (a missing program) would otherwise crash the whole
 * process with EPIPE (Node and Bun), and its exit code says enough.
 */
function startChild(spawn: typeof import("node:child_process").spawn, command: string, args: readonly string[], opts: SpawnOptions, signal?: AbortSignal): ChildProcess {
  const child = spawn(command, args, { ...opts, ...(signal ? { detached: true } : {}) });
  child.stdin?.on("error", () => {});
  if (signal) stopOnAbort(signal, child);
  return child;
}

/** On abort, SIGTERM the child's process group, then SIGKILL what is left of it. */
function stopOnAbort(signal: AbortSignal, child: { pid?: number; exitCode: number | null; signalCode: string | null; once(e: "exit", f: () => void): unknown }) {
  const group = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // The group is gone already.
    }
  };
  const stop = () => {
    group("SIGTERM");
    const t = setTimeout(() => group("SIGKILL"), KILL_GRACE_MS);
    child.once("exit", () => {
      // The leader may exit first: what is left of its group goes too.
      group("SIGKILL");
      clearTimeout(t);
    });
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop, { once: true });
  child.once("exit", () => signal.removeEventListener("abort", stop));
}

async function daxShell(): Promise<Shell> {
  const { default: $, KillController } = await import("dax-sh");
  const sink = (s: ReturnType<typeof lineSplitter>) => new WritableStream<Uint8Array>({ write: (c) => s.push(c) });
  return {
    name: "dax",
    async exec(argv, options = {}) {
      options.signal?.throwIfAborted();
      const out = lineSplitter("stdout", options.onLine);
      const err = lineSplitter("stderr", options.onLine);
      let cmd = $`${[...argv]}`.noThrow().stdout(sink(out)).stderr(sink(err));
      // dax has no process groups: the signal goes to the process itself.
      const abort = new KillController();
      const stop = () => abort.kill("SIGTERM");
      options.signal?.addEventListener("abort", stop, { once: true });
      cmd = cmd.signal(abort.signal);
      if (options.cwd) cmd = cmd.cwd(options.cwd);
      if (options.env) cmd = cmd.env(options.env);
      cmd = options.input !== undefined ? cmd.stdinText(options.input) : cmd.stdin("null");
      try {
        const result = await cmd;
        return { code: result.code, stdout: out.end(), stderr: err.end() };
      } finally {
        options.signal?.removeEventListener("abort", stop);
      }
    },
  };
}
