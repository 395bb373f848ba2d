// pkgkit's per-user cache directory (`$XDG_CACHE_HOME/pkgkit`, else `~/.cache/pkgkit`), which holds
// code the bin runs: compiled config files (lib/config-cache.ts) and V8 code caches of the bundle
// (lib/code-cache.cjs). Whoever can write there could run code as us, so a directory is used only
// while it, and every directory above it, belongs to us (or root, above it) and is writable by
// nobody else. Files are written atomically (a temp file renamed into place), so concurrent
// processes never read half a file.
//
// CommonJS, so that the bin loads it before any bundle (lib/code-cache.cjs) and the config cache
// (an ES module in the bundle) imports it too: one copy of these checks.
"use strict";
const { closeSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, unlinkSync, writeSync } = require("node:fs");
const { homedir } = require("node:os");
const { dirname, isAbsolute, join } = require("node:path");

/**
 * The cache directory `pkgkit/<name>`, created 0700 where missing; undefined when it, or a
 * directory above it, belongs to another user (root aside) or is writable by others (group or
 * world; a sticky directory owned by root, such as /tmp, aside).
 * @param {string} name
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string | undefined}
 */
function userCacheDir(name, env = process.env) {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache");
  const dir = join(base, "pkgkit", name);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return undefined;
  }
  return safeDirectory(dir) ? dir : undefined;
}

/**
 * `dir` and every directory above it: ours or root's, and writable by nobody else.
 * @param {string} dir
 * @returns {boolean}
 */
function safeDirectory(dir) {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  let path;
  try {
    path = realpathSync(dir);
  } catch {
    return false;
  }
  for (let d = path, own = true; ; d = dirname(d), own = false) {
    const st = lstatSync(d);
    if (!st.isDirectory()) return false;
    if (own ? st.uid !== uid : st.uid !== uid && st.uid !== 0) return false;
    const sticky = (st.mode & 0o1000) !== 0;
    if ((st.mode & 0o022) !== 0 && (own || !(sticky && st.uid === 0))) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * Writes `data` to `path` atomically: a temp file beside it (0600), renamed into place.
 * @param {string} path
 * @param {string | Uint8Array} data
 */
function writeAtomic(path, data) {
  const temp = `${path}.${process.pid}.${require("node:crypto").randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {}
    throw err;
  }
}

module.exports = { userCacheDir, safeDirectory, writeAtomic };
