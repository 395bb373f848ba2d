// Loading the bin's bundle (lib/dist/bin.cjs) with a V8 code cache. Node 20 compiles each start's
// JavaScript anew (module.enableCompileCache is Node 22's): for a show-tag, compiling the bundle's
// functions costs about as much as running them. V8 can serialize what it compiled for a script and
// take it back on the next start, skipping the parse and the lazy compiles the cached run did.
//
// The cache is written once a run ends well (so it holds every function that run compiled), when there
// was none or V8 rejected it (another Node, other V8 flags, a corrupt file), into the per-user cache
// directory (lib/user-cache.cjs: refused unless ours and writable by nobody else, since V8 runs
// what it finds there), one file per bundle file, Node and command:
// `<bundle>-<build>-<node>-<command>.v8`: <bundle> is the bundle file's real path, hashed; <build>
// its inode, size, mtime and ctime (any rewrite changes the ctime), hashed; <node> the Node version
// and architecture, hashed. A file for a bundle built since, or for another Node, is never taken,
// and a new one replaces the files of the same bundle path with another <build>, so the directory
// does not grow with rebuilds; any file not rewritten for 60 days goes when another is written (the
// files of a copy of pkgkit since deleted).
//
// CommonJS, loaded by the bin before anything else.
"use strict";
const { accessSync, constants, readdirSync, readFileSync, realpathSync, statSync, unlinkSync } = require("node:fs");
const { createRequire, wrap } = require("node:module");
const { basename, dirname, join } = require("node:path");
const { Script } = require("node:vm");
const { userCacheDir, writeAtomic } = require("./user-cache.cjs");

/**
 * 16 hex digits of FNV-1a (64 bits) over the UTF-16 units of `text`: a name, not a defence (the
 * directory is ours alone, see above, and V8 checks what it takes), so node:crypto, a few
 * milliseconds to load, stays unloaded.
 * @param {string} text
 */
function hash(text) {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

/**
 * Evaluates `file`, a CommonJS module that requires nothing relative to itself but packages and
 * Node built-ins, and whose code never calls import() (esbuild's `supported: { "dynamic-import":
 * false }`: a script compiled here has no loader for it), with the code cache of `command`, as
 * `module` (its `exports` filled in, as Node's require() would); returns `module.exports`.
 * @param {string} file absolute path
 * @param {string} command what this run does (a CLI command's name): each keeps the code it ran
 * @param {{ exports: unknown, loaded?: boolean }} [module]
 */
function requireWithCodeCache(file, command, module = { exports: {}, filename: file, id: file, loaded: false }) {
  // latin1: a plain copy of the bytes, where UTF-8 would be decoded; the same text, since lib/bundle.mjs
  // builds these files in ASCII.
  const source = readFileSync(file, "latin1");
  const cached = cacheFile(file, command);
  let cachedData;
  if (cached) {
    try {
      cachedData = readFileSync(cached.path);
    } catch {}
  }
  const script = new Script(wrap(source), { filename: file, cachedData });
  // Written after a run that succeeded: one that stopped early (bad input, say) compiled less.
  if (cached && (cachedData === undefined || script.cachedDataRejected)) process.once("exit", (code) => code === 0 && save(script, cached));
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return module.exports;
}

/** Where the cache of `file` for `command` is, or undefined when there is no usable cache directory. */
function cacheFile(file, command) {
  if (process.env.PKGKIT_NO_CODE_CACHE) return undefined;
  const dir = userCacheDir("code-v1");
  if (!dir) return undefined;
  const st = statSync(file, { bigint: true });
  const bundle = hash(realpathSync(file));
  const build = hash([st.ino, st.size, st.mtimeNs, st.ctimeNs].join(":"));
  // Each Node its own file (V8 rejects another's), so that two Nodes taking turns do not replace each other's.
  const node = hash(`${process.version}:${process.arch}`).slice(0, 8);
  const name = /^[a-z][a-z-]{0,40}$/.test(command) ? command : "other";
  return { dir, bundle, build, path: join(dir, `${bundle}-${build}-${node}-${name}.v8`) };
}

/**
 * A file not rewritten for this long goes when another is written: the files of a copy of pkgkit
 * since deleted (its bundle path hashed into the name, so nothing else tells them), and, at worst,
 * the file of a command still in use, which its next run writes again.
 */
const STALE_MS = 60 * 24 * 60 * 60 * 1000;

/**
 * Writes the code V8 has for `script` now, and drops this bundle path's files of other builds and
 * any file not written for STALE_MS. Never throws: a cache is optional.
 */
function save(script, cached) {
  try {
    // Serializing costs milliseconds: not for a directory that cannot take the file.
    accessSync(cached.dir, constants.W_OK);
    writeAtomic(cached.path, script.createCachedData());
    const now = Date.now();
    for (const f of readdirSync(cached.dir)) {
      // .tmp: what a writer stopped between writing and renaming left (lib/user-cache.cjs, writeAtomic).
      if (!(f.endsWith(".v8") || f.endsWith(".tmp")) || f === basename(cached.path)) continue;
      const file = join(cached.dir, f);
      const otherBuild = f.endsWith(".v8") && f.startsWith(`${cached.bundle}-`) && !f.startsWith(`${cached.bundle}-${cached.build}-`);
      try {
        if (otherBuild || now - statSync(file).mtimeMs > STALE_MS) unlinkSync(file);
      } catch {}
    }
  } catch {}
}

module.exports = { requireWithCodeCache };
