/**
 * Loading a user's pkg.config.ts on Node without registering tsx: the bin's fast path (issue 13).
 *
 * Registering tsx (and the bin's own module hook, lib/esm-hooks.mjs) costs more than the rest of a
 * `show-tag`. Instead, the config file and every file it imports relatively (the import graph of
 * the config files) are compiled one by one with esbuild, the way tsx would compile them (its
 * transform options, the same tsconfig.json), into ES modules in a per-user cache directory, and
 * the compiled root is imported. On a cache hit neither esbuild nor tsx is loaded.
 *
 * Only a graph tsx would load in exactly the same way is compiled (`eligible`): every file a .ts
 * or .mts outside node_modules, and every import in it one of
 * - a relative path to a .ts/.mts file that exists (or `.js` standing for an existing `.ts`, as tsx maps it),
 * - `pkgkit`, resolving (as Node resolves it from that file) to the checkout the bin runs from, which the bin
 *   gives the public entry of its own build for (lib/dist/bin-index.mjs, see lib/esm-hooks.mjs),
 * - a Node builtin (`node:*` or a bare builtin name),
 * and no free `require`, `module`, `exports`, `__dirname`, `__filename`, no dynamic `import()`, and
 * no `import.meta` but `.url`, `.dirname` and `.filename` (compiled to the original file's values).
 * Anything else (another package, `pkgkit/<subpath>`, whose modules are TypeScript, tsconfig
 * `paths` or `baseUrl` that could redirect an import, a tsconfig with `extends`, JSON, a .tsx file,
 * a missing file) and the whole graph goes through tsx as before. A false "ineligible" only
 * costs time; a false "eligible" would change behaviour, so every doubt counts as ineligible.
 *
 * The cache (`$XDG_CACHE_HOME/pkgkit/config-v1`, else `~/.cache/pkgkit/config-v1`) is code the
 * bin runs: it is created 0700 and refused (tsx then loads the graph) when it, or a directory
 * above it, is owned by another user or writable by others. Its files are content-addressed and
 * written atomically (a temp file renamed into place), so concurrent processes never read half a
 * file and a name never holds two contents:
 * - `<own key>.json`, what esbuild made of one source file (its compiled code and import list, or
 *   why it is ineligible), keyed by everything that output depends on: the format version, the
 *   esbuild and Node versions (the transform's target), the bundle's digest, the file's path and
 *   bytes, the tsconfig.json used (path and contents);
 * - `<module key>.mjs`, that code with its imports pointing at the compiled files of their
 *   targets. Its key covers its own key and those of everything it imports, transitively; files
 *   importing each other (a cycle) share one key over all of them (strongly connected components).
 */
import { nodeCrypto } from "./node-crypto.ts";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { importModule } from "./runtime.ts";
import { userCacheDir, writeAtomic } from "./user-cache.cjs";

/** What the bin (lib/bin-node.cjs) offers when it runs a fresh bundle on Node. */
export interface ConfigLoader {
  /** The bundle's digest (lib/dist/cli.sources.json): its identity. */
  bundleDigest: string;
  /** URL of the bundle's public entry (lib/dist/bin-index.mjs), which `pkgkit` stands for. */
  index: string;
  /**
   * URL of the bundle's lib/define-entry.ts (lib/dist/bin-define.mjs), which `pkgkit` stands for in an
   * `import { definePackage, defineWorkspace } from "pkgkit"` naming nothing else.
   */
  define: string;
  /** The checkout (package root) the bin runs from. */
  root: string;
  /**
   * Take compiled modules (source URL → compiled URL) for this process; false once tsx is
   * registered in it, after which every config loads through tsx (see lib/bin-node.cjs).
   */
  claim(modules: [string, string][]): boolean;
  /** True once tsx is registered in this process. */
  typeScriptChosen(): boolean;
}

/** What lib/define-entry.ts exports: an import of these alone from `pkgkit` loads that entry. */
const LIGHT_ENTRY_NAMES = new Set(["definePackage", "defineWorkspace"]);

/** Bumped whenever what is written to the cache changes. */
const FORMAT = "pkgkit-config-cache 1";
const SENTINEL = "__pkgkit_free_";
/** Free identifiers (and `import.meta` beyond .url/.dirname/.filename) that make a file ineligible. */
const FREE = ["require", "module", "exports", "__dirname", "__filename", "import.meta"];

/** Compiled file path → the source file it was compiled from; read by callerFile (lib/runtime.ts). */
const COMPILED = Symbol.for("pkgkit.compiledConfigs");
const compiledSources = ((globalThis as Record<symbol, Map<string, string> | undefined>)[COMPILED] ??= new Map());

/** Source path → compiled module URL, for this process: one source file is one module instance. */
const given = new Map<string, string>();

interface Analysis {
  /** Why the file cannot be compiled here; absent when it can. */
  ineligible?: string;
  /** esbuild's output, its imports as written. */
  code?: string;
  imports?: string[];
}

type Target = { kind: "keep" } | { kind: "url"; url: string } | { kind: "file"; path: string };

interface Node {
  path: string;
  ownKey: string;
  analysis: Analysis;
  targets: Target[];
  /** Set for a file given a module earlier in this process. */
  url?: string;
}

/** The tsconfig.json that applies to a file: `raw` for the transform (if it covers the file), `paths` and `baseUrl` for its imports. */
interface Tsconfig {
  id: string;
  dir: string;
  raw?: Record<string, unknown>;
  paths?: Record<string, unknown>;
  baseUrl?: unknown;
}

class Ineligible extends Error {}

const sha256 = (...parts: (string | Uint8Array)[]) => {
  const h = nodeCrypto().createHash("sha256");
  for (const p of parts) h.update(`${p.length}:`).update(p).update("\0");
  return h.digest("hex");
};

/** A config file compiled: the URL to import, and what each import of its graph was written as. */
export interface Compiled {
  url: string;
  /**
   * Each URL an import of the graph was rewritten to (a compiled file, the bundle's entry) → the
   * specifier written in the source, one per URL: Node names a module by its specifier in a link
   * error ("The requested module './x.ts' does not provide an export named 'y'"), and the
   * message must read as it does through tsx.
   */
  written: Map<string, string>;
}

/**
 * The compiled `file` (a pkg.config.ts or pkgkit.config.ts) to import instead of it, its graph
 * compiled into the cache where needed; undefined when the graph is ineligible, the cache
 * unusable or tsx already registered: then load it through tsx.
 */
export async function compiledConfig(file: string, loader: ConfigLoader): Promise<Compiled | undefined> {
  try {
    const dir = cacheDir();
    if (!dir) return undefined;
    const esbuild = esbuildLocation(loader.root);
    if (!esbuild) return undefined;
    const root = realpathSync(file);
    const nodes = new Map<string, Node>();
    const pending = [root];
    while (pending.length) {
      const path = pending.pop()!;
      if (nodes.has(path)) continue;
      const url = given.get(path);
      if (url) {
        nodes.set(path, { path, ownKey: "", analysis: {}, targets: [], url });
        continue;
      }
      const node = await analyse(path, dir, esbuild, loader);
      nodes.set(path, node);
      for (const t of node.targets) if (t.kind === "file") pending.push(t.path);
    }
    const modules = place(nodes, dir, loader);
    if (loader.typeScriptChosen()) return undefined;
    const fresh = [...modules].filter(([path]) => !given.has(path));
    // A module imported under two specifiers in the files linked now: a link error naming it
    // could not be told as tsx tells it. Rare (files in directories of different depths importing
    // one helper), and left to tsx.
    const written = new Map<string, string>();
    for (const [path] of fresh) {
      const node = nodes.get(path)!;
      node.targets.forEach((t, i) => {
        if (t.kind === "keep") return;
        const url = t.kind === "url" ? t.url : modules.get(t.path)!;
        const specifier = node.analysis.imports![i]!;
        if ((written.get(url) ?? specifier) !== specifier) throw new Ineligible(`${url}: imported as ${written.get(url)} and as ${specifier}`);
        written.set(url, specifier);
      });
    }
    for (const [path, url] of fresh) {
      const target = fileURLToPath(url);
      if (!isFile(target)) writeAtomic(target, link(nodes.get(path)!, modules));
    }
    // Claimed synchronously before the import: from here on tsx (if another load registers it)
    // resolves these sources to these modules (lib/esm-hooks.mjs).
    if (!loader.claim(fresh.map(([path, url]) => [pathToFileURL(path).href, url]))) return undefined;
    for (const [path, url] of fresh) {
      given.set(path, url);
      compiledSources.set(fileURLToPath(url), path);
    }
    // As tsx does: stack traces name the .ts files and lines (inline source maps).
    process.setSourceMapsEnabled(true);
    return { url: modules.get(root)!, written };
  } catch {
    // Ineligible, or anything unforeseen (an unreadable file, a full disk): tsx loads it, as before.
    return undefined;
  }
}

/** One source file: its own key, esbuild's analysis (cached), where its imports go. */
async function analyse(path: string, dir: string, esbuild: { path: string; version: string }, loader: ConfigLoader): Promise<Node> {
  if (!/\.m?ts$/.test(path) || path.split(sep).includes("node_modules")) throw new Ineligible(`${path}: not a .ts/.mts file outside node_modules`);
  const bytes = readFileSync(path);
  const tsconfig = tsconfigFor(path);
  const ownKey = sha256(FORMAT, esbuild.version, process.versions.node, loader.bundleDigest, path, bytes, tsconfig.id);
  const record = join(dir, `${ownKey}.json`);
  let analysis: Analysis | undefined;
  try {
    analysis = JSON.parse(readFileSync(record, "utf8")) as Analysis;
  } catch {
    analysis = await compile(path, bytes.toString("utf8"), tsconfig.raw, esbuild.path);
    writeAtomic(record, JSON.stringify(analysis));
  }
  if (analysis.ineligible !== undefined) throw new Ineligible(analysis.ineligible);
  const lines = analysis.code!.split("\n");
  const found = importLines(analysis.code!);
  const targets = analysis.imports!.map((s, i): Target => {
    const t = target(s, path, tsconfig, loader);
    // Only definePackage and/or defineWorkspace, on one line as esbuild prints a short clause
    // (type-only names are gone by now): the light entry. Anything else gets the whole API.
    const m = t.kind === "url" && t.url === loader.index ? /^import \{ ([\w$, ]+) \} from "pkgkit";$/.exec(lines[found[i]!.line]!) : null;
    return m && m[1]!.split(", ").every((n) => LIGHT_ENTRY_NAMES.has(n)) ? { kind: "url", url: loader.define } : t;
  });
  return { path, ownKey, analysis, targets };
}

/** Where import `s` of `from` goes, as tsx (with the bin's hook) would take it; throws Ineligible otherwise. */
function target(s: string, from: string, tsconfig: Tsconfig, loader: ConfigLoader): Target {
  const no = (why: string) => new Ineligible(`${from}: import ${JSON.stringify(s)}: ${why}`);
  if (s.startsWith("./") || s.startsWith("../")) {
    if (/[?#%\\]/.test(s)) throw no("not a plain relative path");
    const written = resolve(dirname(from), s);
    // tsx tries a .js import as .ts first.
    const candidate = written.endsWith(".js") ? `${written.slice(0, -3)}.ts` : written;
    if (!/\.m?ts$/.test(candidate) || !isFile(candidate)) throw no("not an existing .ts or .mts file");
    return { kind: "file", path: realpathSync(candidate) };
  }
  // tsconfig paths (and baseUrl) would apply to any bare specifier: only an exact `pkgkit` entry
  // naming this checkout's entry is followed the same way here.
  if (tsconfig.baseUrl !== undefined) throw no("the tsconfig.json sets baseUrl");
  const patterns = Object.keys(tsconfig.paths ?? {}).filter((p) => {
    const star = p.indexOf("*");
    return star < 0 ? p === s : s.startsWith(p.slice(0, star)) && s.endsWith(p.slice(star + 1)) && s.length >= p.length - 1;
  });
  if (s === "pkgkit") {
    const entry = canonicalPath(join(loader.root, "lib", "index.ts"));
    if (patterns.length > 0) {
      if (patterns.length > 1 || patterns[0] !== s) throw no("tsconfig paths map it");
      const targets = tsconfig.paths![s];
      const first = Array.isArray(targets) ? (targets[0] as unknown) : undefined;
      if (typeof first !== "string" || !isFile(resolve(tsconfig.dir, first)) || canonicalPath(resolve(tsconfig.dir, first)) !== entry) throw no("tsconfig paths map it elsewhere");
    } else if (packageDir(from) !== canonicalPath(loader.root)) throw no("it resolves to another copy of pkgkit, or none");
    return { kind: "url", url: loader.index };
  }
  if (patterns.length > 0) throw no("tsconfig paths map it");
  if (isBuiltin(s)) return { kind: "keep" };
  throw no("only relative .ts imports, pkgkit and Node builtins are compiled without tsx");
}

/** The directory of the `pkgkit` package Node's ES module resolution finds from `file` (self-reference, then node_modules), real path. */
function packageDir(file: string): string | undefined {
  // Self-reference: the nearest package.json, if it is pkgkit's with "exports".
  for (let d = dirname(file); ; d = dirname(d)) {
    const pj = join(d, "package.json");
    if (isFile(pj)) {
      try {
        const json = JSON.parse(readFileSync(pj, "utf8")) as { name?: unknown; exports?: unknown };
        if (json.name === "pkgkit" && json.exports !== undefined) return canonicalPath(d);
      } catch {
        return undefined;
      }
      break;
    }
    if (dirname(d) === d || d.endsWith(`${sep}node_modules`)) break;
  }
  for (let d = dirname(file); ; d = dirname(d)) {
    if (!d.endsWith(`${sep}node_modules`)) {
      const candidate = join(d, "node_modules", "pkgkit");
      if (statSync(candidate, { throwIfNoEntry: false })?.isDirectory()) return canonicalPath(candidate);
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The tsconfig.json tsx applies to `file`: tsx reads the one found from the working directory and
 * applies it to the files it includes. Here it must also be the one esbuild would find for the
 * file (the nearest above it), plain JSON without `extends`, and its include/exclude simple
 * enough to tell for sure whether it covers the file; otherwise Ineligible.
 */
function tsconfigFor(file: string): Tsconfig {
  if (process.env.TSX_TSCONFIG_PATH) throw new Ineligible("TSX_TSCONFIG_PATH is set");
  const fromCwd = findUp(process.cwd(), "tsconfig.json");
  const near = findUp(dirname(file), "tsconfig.json");
  if (fromCwd !== near) throw new Ineligible(`${file}: tsx would use ${fromCwd ?? "no tsconfig.json"}, esbuild ${near ?? "none"}`);
  if (!near) return { id: "none", dir: dirname(file) };
  const text = readFileSync(near, "utf8");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Ineligible(`${near}: not plain JSON`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json) || json.extends !== undefined) throw new Ineligible(`${near}: not an object, or extends another`);
  const dir = dirname(near);
  const covers = coveredBy(json, dir, file);
  const options = (json.compilerOptions ?? {}) as { paths?: unknown; baseUrl?: unknown };
  if (options.paths !== undefined && (options.paths === null || typeof options.paths !== "object")) throw new Ineligible(`${near}: paths is not an object`);
  return {
    id: sha256(near, text, String(covers)),
    dir,
    ...(covers ? { raw: json } : {}),
    ...(options.paths ? { paths: options.paths as Record<string, unknown> } : {}),
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
  };
}

/** Whether a tsconfig's files/include/exclude cover `file`, for the simple forms only (no wildcards but `**` + `/*`). */
function coveredBy(json: Record<string, unknown>, base: string, file: string): boolean {
  const rel = relative(base, file);
  if (rel.startsWith("..") || isAbsolute(rel)) return false;
  const list = (v: unknown, name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((p) => typeof p !== "string")) throw new Ineligible(`tsconfig ${name}: not a list of strings`);
    return v as string[];
  };
  const under = (pattern: string) => {
    const p = pattern.replace(/^\.\//, "").replace(/\/$/, "");
    if (p === "**/*" || p === "**" || p === "." || p === "") return true;
    if (/[*?{}[\]]/.test(p)) throw new Ineligible(`tsconfig pattern ${JSON.stringify(pattern)}: not a plain path`);
    const abs = resolve(base, p);
    return file === abs || file.startsWith(abs + sep);
  };
  const files = list(json.files, "files");
  const include = list(json.include, "include") ?? (files ? [] : ["**/*"]);
  const exclude = list(json.exclude, "exclude") ?? [];
  if (files?.some((f) => resolve(base, f) === file)) return true;
  if (!include.some(under)) return false;
  if (exclude.some(under)) return false;
  if (rel.split(sep).some((part) => ["node_modules", "bower_components", "jspm_packages"].includes(part))) return false;
  const outDir = (json.compilerOptions as { outDir?: unknown } | undefined)?.outDir;
  if (typeof outDir === "string" && under(outDir)) return false;
  return true;
}

/** esbuild's transform of one file, as tsx's (its options, the same tsconfig), and the imports it keeps. */
async function compile(path: string, source: string, tsconfig: Record<string, unknown> | undefined, esbuildPath: string): Promise<Analysis> {
  const esbuild = (await importModule(pathToFileURL(esbuildPath).href)) as unknown as typeof import("esbuild");
  const url = pathToFileURL(path).href;
  if (source.includes(SENTINEL)) return { ineligible: `${path}: contains ${SENTINEL}` };
  let code: string;
  try {
    const result = await esbuild.transform(source, {
      // tsx's options for an ES module (but minifyWhitespace, see link()).
      loader: "ts",
      format: "esm",
      target: `node${process.versions.node}`,
      keepNames: true,
      sourcemap: "inline",
      sourcesContent: false,
      sourcefile: path,
      ...(tsconfig ? { tsconfigRaw: tsconfig as never } : {}),
      define: {
        "import.meta.url": JSON.stringify(url),
        "import.meta.dirname": JSON.stringify(dirname(path)),
        "import.meta.filename": JSON.stringify(path),
        ...Object.fromEntries(FREE.map((name) => [name, `${SENTINEL}${name.replace(".", "_")}`])),
      },
      logLevel: "silent",
    });
    code = result.code;
  } catch (err) {
    // A syntax error: tsx reports it.
    return { ineligible: `${path}: ${(err as Error).message.split("\n")[0]}` };
  }
  // Each free name was replaced by its sentinel: none may be left.
  if (code.includes(SENTINEL)) return { ineligible: `${path}: uses require, module, exports, __dirname, __filename or import.meta beyond .url, .dirname, .filename` };
  // The imports esbuild sees in what will run, in order (its metafile), from a scan (its output unused).
  let imports: string[];
  let other: string | undefined;
  try {
    const { metafile } = await esbuild.build({
      stdin: { contents: code, loader: "js", sourcefile: path },
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      logLevel: "silent",
      metafile: true,
      plugins: [
        {
          name: "imports",
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
              if (args.kind !== "import-statement" || Object.keys(args.with).length > 0) other ??= `${args.kind} of ${JSON.stringify(args.path)}`;
              return { path: args.path, external: true };
            });
          },
        },
      ],
    });
    const inputs = Object.values(metafile.inputs);
    if (inputs.length !== 1) return { ineligible: `${path}: esbuild's scan read ${inputs.length} inputs` };
    imports = inputs[0]!.imports.map((i) => i.path);
  } catch (err) {
    return { ineligible: `${path}: ${(err as Error).message.split("\n")[0]}` };
  }
  if (other) return { ineligible: `${path}: ${other}` };
  // Every import must be found where link() rewrites it, and nothing else there.
  const found = importLines(code);
  if (found.length !== imports.length || found.some((f, i) => f.specifier !== imports[i]))
    return { ineligible: `${path}: its imports could not be located in the compiled code` };
  return { code, imports };
}

/**
 * The import and export-from statements of esbuild's (unminified) output: each on lines of its
 * own, starting at column 0, ending in `from "<specifier>";` (or `import "<specifier>";`). A
 * specifier is a JSON string of plain characters.
 */
function importLines(code: string): { line: number; specifier: string; start: number; end: number }[] {
  const out: { line: number; specifier: string; start: number; end: number }[] = [];
  const specifier = String.raw`"([^"\\\x00-\x1f\x7f-\uffff]*)";$`;
  const single = new RegExp(String.raw`^(?:(?:import|export)\b.*?\bfrom |import )` + specifier);
  const closing = new RegExp(String.raw`^\} from ` + specifier);
  // Inside a clause printed over several lines (`import {`, indented names, `} from "x";`).
  let inClause = false;
  code.split("\n").forEach((text, line) => {
    const push = (m: RegExpExecArray) => out.push({ line, specifier: m[1]!, start: text.length - m[1]!.length - 3, end: text.length - 2 });
    if (/^(?:import|export)\b.*\{$/.test(text)) inClause = true;
    else if (text.startsWith("}")) {
      const m = closing.exec(text);
      if (m && inClause) push(m);
      inClause = false;
    } else if (!inClause) {
      const m = single.exec(text);
      if (m) push(m);
    }
  });
  return out;
}

/** The compiled module of `node`: its code with each import pointing at its target's module. */
function link(node: Node, modules: Map<string, string>): string {
  const lines = node.analysis.code!.split("\n");
  const found = importLines(node.analysis.code!);
  found.forEach((f, i) => {
    const t = node.targets[i]!;
    if (t.kind === "keep") return;
    const url = t.kind === "url" ? t.url : modules.get(t.path)!;
    // Same length or not, only this line's columns after the specifier move: the source map stays right.
    lines[f.line] = `${lines[f.line]!.slice(0, f.start)}${JSON.stringify(url)}${lines[f.line]!.slice(f.end + 1)}`;
  });
  return lines.join("\n");
}

/**
 * The module URL of each file: keys over strongly connected components (files importing each
 * other), each covering its members' own keys and the keys of the components it imports.
 */
function place(nodes: Map<string, Node>, dir: string, loader: ConfigLoader): Map<string, string> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const modules = new Map<string, string>();
  let counter = 0;
  const edges = (n: Node) => n.targets.flatMap((t) => (t.kind === "file" ? [t.path] : []));
  const strong = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(nodes.get(v)!)) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const members: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        members.push(w);
      } while (w !== v);
      members.sort();
      const parts: string[] = [FORMAT, loader.index];
      for (const m of members) {
        const n = nodes.get(m)!;
        if (n.url) parts.push(m, n.url);
        else {
          parts.push(m, n.ownKey);
          for (const t of n.targets) parts.push(t.kind === "file" ? (members.includes(t.path) ? `member ${t.path}` : `module ${modules.get(t.path)}`) : t.kind === "url" ? `url ${t.url}` : "keep");
        }
      }
      const key = sha256(...parts);
      for (const m of members) {
        const n = nodes.get(m)!;
        modules.set(m, n.url ?? pathToFileURL(join(dir, `${sha256(key, m)}.mjs`)).href);
      }
    }
  };
  for (const v of nodes.keys()) if (!index.has(v)) strong(v);
  return modules;
}

/** esbuild as tsx loads it (tsx's own dependency), and its version; undefined if not found. */
function esbuildLocation(root: string): { path: string; version: string } | undefined {
  try {
    const fromRoot = createRequire(join(root, "package.json"));
    const tsx = fromRoot.resolve("tsx/package.json");
    const path = createRequire(tsx).resolve("esbuild");
    const pj = join(dirname(path), "..", "package.json");
    const { name, version } = JSON.parse(readFileSync(pj, "utf8")) as { name?: string; version?: string };
    if (name !== "esbuild" || typeof version !== "string") return undefined;
    return { path, version };
  } catch {
    return undefined;
  }
}

/** The cache directory (see lib/user-cache.cjs): undefined when it is refused. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return userCacheDir("config-v1", env);
}

function findUp(from: string, name: string): string | undefined {
  for (let d = resolve(from); ; d = dirname(d)) {
    if (isFile(join(d, name))) return join(d, name);
    if (dirname(d) === d) return undefined;
  }
}

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

function canonicalPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
