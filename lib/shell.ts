/**
 * The one place pkgkit starts processes. zx on Node and Bun, dax on Deno; either way arguments
 * are passed as an array and quoted by the library, never joined into a shell string.
 */
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
  readonly name: "zx" | "dax";
  /** Run argv[0] with the rest as arguments. Never throws for a non-zero exit: check `code`. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

let cached: Promise<Shell> | undefined;
/** The Shell of this runtime (zx on Node and Bun, dax on Deno), made once. */
export function defaultShell(): Promise<Shell> {
  return (cached ??= runtime === "deno" ? daxShell() : zxShell());
}

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
  // zx writes `input` without an error listener: a child that exits before reading all of it (a
  // missing program) crashed the whole process with EPIPE (Node and Bun). Its exit code says enough.
  const spawnQuietStdin = (signal?: AbortSignal) => ((command: string, args: readonly string[], opts: object) => {
    const child = spawn(command, args, { ...opts, ...(signal ? { detached: true } : {}) });
    child.stdin?.on("error", () => {});
    if (signal) stopOnAbort(signal, child);
    return child;
  }) as typeof spawn;
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
