/** The few places where Node, Deno and Bun differ. */
import process from "node:process";
import { fileURLToPath } from "node:url";
import { realpathSync } from "node:fs";

declare const Deno: { mainModule: string; args: string[]; exit(code: number): never } | undefined;
declare const Bun: { main: string; version: string } | undefined;

export const runtime: "deno" | "bun" | "node" =
  typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";

/** Command-line arguments after the script. */
export function scriptArgs(): string[] {
  return runtime === "deno" ? [...Deno!.args] : process.argv.slice(2);
}

/** Absolute path of the entry script, or undefined (REPL, eval). */
export function mainFile(): string | undefined {
  const main = runtime === "deno" ? Deno!.mainModule : runtime === "bun" ? Bun!.main : process.argv[1];
  if (!main) return undefined;
  return canonical(main.startsWith("file:") ? fileURLToPath(main) : main);
}

export function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The file that called the function which calls `callerFile()`, read from the stack.
 * Works with V8 (Node, Deno) and JavaScriptCore (Bun) stack formats.
 */
export function callerFile(self: string): string | undefined {
  const selfPath = self.startsWith("file:") ? fileURLToPath(self) : self;
  for (const line of (new Error().stack ?? "").split("\n").slice(1)) {
    // "at fn (LOCATION)" or "at LOCATION"; LOCATION is "<file URL or path>:line[:col]" and a
    // path may contain spaces.
    const frame = line.trim().replace(/^at\s+(?:async\s+)?/, "");
    const location = frame.endsWith(")") ? frame.slice(frame.lastIndexOf("(") + 1, -1) : frame;
    const m = /^(file:\/\/.+?|\/.+?):\d+(?::\d+)?$/.exec(location);
    if (!m) continue;
    const file = m[1]!.startsWith("file:") ? fileURLToPath(m[1]!) : m[1]!;
    if (file !== selfPath && !file.endsWith("/lib/runtime.ts")) return canonical(file);
  }
  return undefined;
}
