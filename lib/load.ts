/** Find and load the package file in a directory: pkg.config.ts, else LinuxKit's build.yml. */
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { InputError, isPkgkitError, SpecError } from "./errors.ts";
import { isPackageDefinition, type PackageDefinition } from "./define.ts";
import { canonical, importModule } from "./runtime.ts";
import { UNDEFINED_IMPORT_HINT } from "./spec.ts";
import type { ConfigLoader } from "./config-cache.ts";

export const CONFIG_FILE = "pkg.config.ts";
export const BUILD_YML = "build.yml";

// Synchronous on purpose: thousands of tiny stats queue behind libuv's few threads when async.
const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

/** The package file in `dir`, preferring pkg.config.ts over build.yml. */
export async function findPackageFile(dir: string): Promise<string> {
  const abs = canonical(resolve(dir));
  if (statSync(abs, { throwIfNoEntry: false })?.isDirectory() !== true)
    throw new InputError(`${dir}: not a directory; expected a package directory holding ${CONFIG_FILE} or ${BUILD_YML}`);
  for (const name of [CONFIG_FILE, BUILD_YML]) if (isFile(join(abs, name))) return join(abs, name);
  throw new InputError(`${dir}: no ${CONFIG_FILE} or ${BUILD_YML} found; create one (see \`pkgkit --help\`)`);
}

/**
 * The package in `dir`: its pkg.config.ts, else its build.yml; with `buildYml` (LinuxKit's
 * --build-yml), that file, relative to `dir`, read as a build.yml for the package in `dir`.
 */
export async function loadPackage(dir: string, buildYml?: string): Promise<PackageDefinition> {
  if (buildYml !== undefined) {
    const abs = canonical(resolve(dir));
    const file = resolve(abs, buildYml);
    if (!isFile(file)) throw new InputError(`${join(dir, buildYml)}: not found; --build-yml ${JSON.stringify(buildYml)} names a file relative to each package directory`);
    return (await import("./buildyml.ts")).loadBuildYml(file, abs);
  }
  const file = await findPackageFile(dir);
  // yaml is loaded only when a build.yml is.
  if (file.endsWith(BUILD_YML)) return (await import("./buildyml.ts")).loadBuildYml(file);
  const exported = await importDefault(file);
  if (!isPackageDefinition(exported))
    throw new SpecError(file, [{ field: "", message: "expected `export default definePackage({ ... })`" }]);
  return exported;
}

/** The default export of a TypeScript config file (pkg.config.ts, pkgkit.config.ts). */
export async function importDefault(file: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    // The bundled bin on Node first offers to load it compiled from its cache, without tsx
    // (config-cache.ts); undefined where it cannot be.
    const loader = (globalThis as Record<symbol, ConfigLoader | undefined>)[Symbol.for("pkgkit.configLoader")];
    const compiled = loader && !loader.typeScriptChosen() ? await (await import("./config-cache.ts")).compiledConfig(file, loader) : undefined;
    // The bundled bin registers TypeScript support only when it is needed: here.
    if (!compiled) await (globalThis as Record<symbol, (() => Promise<void>) | undefined>)[Symbol.for("pkgkit.loadTypeScript")]?.();
    mod = (await unlessStalled(importModule(compiled?.url ?? pathToFileURL(file).href), file).catch((err: unknown) => {
      throw compiled ? asWritten(err, compiled.written) : err;
    })) as { default?: unknown };
  } catch (err) {
    const cycle = usedBeforeDefined(err) ? importCycle(file) : undefined;
    if (cycle)
      throw new InputError(
        "dependency cycle: these package files import each other, so one is used before it is defined:\n" +
          `  ${cycle.join("\n  → ")}\n` +
          "A package cannot depend on itself, directly or through others; remove one of these imports.",
      );
    // Errors from the config's own copy of pkgkit (e.g. a SpecError from definePackage) pass as they are.
    if (isPkgkitError(err)) throw err;
    throw new InputError(`${file}: failed to load: ${thrown(err)}`);
  }
  // A config file outside an ESM package ("type": "module") is compiled to CommonJS by tsx:
  // its default export then sits one level down.
  const d = mod.default as { kind?: unknown; default?: unknown } | undefined;
  return d !== null && typeof d === "object" && d.kind === undefined && "default" in d ? d.default : d;
}

/**
 * A link error of a compiled config (a missing export) names the module it imports by the URL
 * its import was compiled to: put back the specifier written in the source, as tsx's reads.
 */
function asWritten(err: unknown, written: Map<string, string>): unknown {
  if (!(err instanceof SyntaxError)) return err;
  let message = err.message;
  for (const [url, specifier] of written) message = message.replaceAll(`'${url}'`, `'${specifier}'`);
  if (message !== err.message) err.message = message;
  return err;
}

/** What a config file threw, on one line: an Error's message (a missing module names itself), else the value. */
function thrown(err: unknown): string {
  if (err instanceof Error || (typeof err === "object" && err !== null && typeof (err as Error).message === "string")) {
    // Deno puts the importing file on a second line, in colour.
    const message = (err as Error).message.replace(/\x1b\[[0-9;]*m/g, "").replace(/\s*\n\s*/g, " ").trim();
    return message || `it threw ${(err as Error).name || "an error"} without a message`;
  }
  let value: string;
  try {
    value = typeof err === "string" ? JSON.stringify(err) : typeof err === "object" && err !== null ? (JSON.stringify(err) ?? String(err)) : String(err);
  } catch {
    value = Object.prototype.toString.call(err);
  }
  return `it threw ${value.length > 200 ? `${value.slice(0, 197)}...` : value} (not an Error)`;
}

/** Loads that nothing can settle any more fail, all at once, when the event loop runs empty. */
const loading = new Set<() => void>();
const failStalled = () => [...loading].forEach((fail) => fail());

/**
 * `load`, or an InputError naming `file` once the event loop has nothing left to do while it is
 * still pending: a top-level await that never settles. (Node would exit 13 without a word, Bun
 * would spin; Deno reports it itself, naming the file and line, before this can.)
 */
function unlessStalled<T>(load: Promise<T>, file: string): Promise<T> {
  let fail!: () => void;
  const stalled = new Promise<never>((_, reject) => {
    fail = () => reject(new InputError(`${file}: never finished loading: a top-level await in it, or in a file it imports, waits for something that never happens`));
  });
  if (loading.size === 0) process.on("beforeExit", failStalled);
  loading.add(fail);
  return Promise.race([load, stalled]).finally(() => {
    loading.delete(fail);
    if (loading.size === 0) process.off("beforeExit", failStalled);
  });
}

/**
 * The symptoms of package files importing each other: an import read before its module ran,
 * either as a ReferenceError (Deno, Bun: "Cannot access 'x' before initialization") or, where the
 * module was compiled to `var`s (tsx), as an undefined build-arg value definePackage rejects;
 * and Node's internal assertion when CommonJS-compiled files in such a cycle load concurrently.
 */
function usedBeforeDefined(err: unknown): boolean {
  if (err instanceof ReferenceError) return /before initiali[sz]ation|uninitiali[sz]ed/i.test(err.message);
  if ((err as { code?: unknown } | undefined)?.code === "ERR_INTERNAL_ASSERTION") return true;
  return err instanceof Error && err.name === "SpecError" && (err as SpecError).problems.some((p) => p.message.includes(UNDEFINED_IMPORT_HINT));
}

/**
 * The first cycle of relative imports reachable from `file`, as a list of files whose last entry
 * is its first; read from the sources, since the module system only reports the symptom.
 * Listed from the first file by name, so every member reports the same cycle.
 */
export function importCycle(file: string): string[] | undefined {
  const importsOf = (f: string): string[] => {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch {
      return [];
    }
    const specifiers = [...text.matchAll(/(?:^|[\s;}])(?:import|export)\s(?!type\s)[^'"]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)]
      .map((m) => m[1] ?? m[2]!)
      .filter((s) => s.startsWith("./") || s.startsWith("../"));
    return specifiers.map((s) => canonical(resolve(dirname(f), s))).filter(isFile);
  };
  const stack: string[] = [];
  const done = new Set<string>();
  const visit = (f: string): string[] | undefined => {
    const at = stack.indexOf(f);
    if (at >= 0) {
      const ring = stack.slice(at);
      const first = ring.reduce((best, g, i) => (g < ring[best]! ? i : best), 0);
      const ordered = [...ring.slice(first), ...ring.slice(0, first)];
      return [...ordered, ordered[0]!];
    }
    if (done.has(f)) return undefined;
    stack.push(f);
    for (const next of importsOf(f)) {
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    done.add(f);
    return undefined;
  };
  return visit(canonical(file));
}

/**
 * The package definitions in `dirs` (each directory's pkg.config.ts, else its build.yml, or the
 * `buildYml` file in each, see loadPackage), in the
 * order given. Every directory is loaded before anything is thrown: the problems of all of them
 * come in one error (SpecError or InputError), each once.
 */
export async function loadPackages(dirs: string[], options: { buildYml?: string } = {}): Promise<PackageDefinition[]> {
  const results = await Promise.allSettled(dirs.map((d) => loadPackage(d, options.buildYml)));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1) throw new InputError([...new Set(failed.map((e) => e.message))].join("\n"));
  return results.map((r) => (r as PromiseFulfilledResult<PackageDefinition>).value);
}
