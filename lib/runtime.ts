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

// This module's own file: in the bundle, a chunk of its own, apart from the caller's (see lib/bundle.mjs).
const runtimeFile = fileURLToPath(import.meta.url);

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
    const located = m[1]!.startsWith("file:") ? fileURLToPath(m[1]!) : m[1]!;
    if (isEmbedded(located)) continue;
    // A config file the bin compiled into its cache (lib/config-cache.ts) stands for its source.
    // Its frames normally name the source already (its inline source map); those that map to
    // nothing (esbuild's helpers) name the compiled file.
    const file = compiledSources()?.get(located) ?? located;
    if (file !== selfPath && file !== runtimeFile && !file.endsWith("/lib/runtime.ts")) return canonical(file);
  }
  return undefined;
}

/** Compiled file → source file, kept by lib/config-cache.ts. */
const compiledSources = () => (globalThis as Record<symbol, Map<string, string> | undefined>)[Symbol.for("pkgkit.compiledConfigs")];

/**
 * A file compiled into a single executable (lib/sea.ts): pkgkit's own code, never a user's. Its
 * `import.meta.url` names the file it was compiled from, so only the path tells it apart.
 */
function isEmbedded(file: string): boolean {
  return file.startsWith("/$bunfs/");
}

let defaultDigestShimmed = false;
/**
 * Deno's node:crypto throws "no default digest" for `verify(null, data, key, signature)` with an
 * EC or RSA key, where Node (OpenSSL 3) uses SHA-256, the default digest of those keys.
 * @sigstore/verify checks DSSE envelopes, Rekor's signed entry timestamps and checkpoints that
 * way and turns the throw into "signature verification failed". On Deno, this makes node:crypto's
 * one-shot `verify` answer as Node does in exactly that case; elsewhere it does nothing. Call it
 * before verifying with the sigstore libraries.
 */
export async function nodeCompatibleVerify(): Promise<void> {
  if (runtime !== "deno" || defaultDigestShimmed) return;
  defaultDigestShimmed = true;
  const { default: crypto } = await import("node:crypto");
  const verify = crypto.verify;
  type Args = Parameters<typeof crypto.verify>;
  crypto.verify = ((...args: Args) => {
    const [algorithm, data, key, signature] = args;
    // The callback form, and any call naming its digest, go through unchanged.
    if (algorithm != null || args.length > 4) return verify(...args);
    try {
      return verify(algorithm, data, key, signature);
    } catch (e) {
      if ((e as Error).message !== "no default digest") throw e;
      return verify("sha256", data, key, signature);
    }
  }) as typeof crypto.verify;
}

/**
 * `import(url)` of an ES module: a config file, or a package that is one. Inside the bin's build
 * on Node (lib/dist/bin.cjs, which lib/code-cache.cjs compiles as a script) esbuild turns import()
 * into require(), which cannot load an ES module: there the bin lends its own import() (pkgkit.import).
 */
export function importModule(url: string): Promise<Record<string, unknown>> {
  const lent = (globalThis as Record<symbol, ((url: string) => Promise<Record<string, unknown>>) | undefined>)[Symbol.for("pkgkit.import")];
  return lent ? lent(url) : import(url);
}
