// What a bundle was built from: lib/bundle.mjs records it beside lib/dist/cli.mjs, and the bin
// runs the bundle only while the sources on disk give the same digest (not their mtimes, which
// a checkout, a copy or a restored file can set to anything). Reading and hashing the hundred-odd
// sources costs several milliseconds of every start, so the record also keeps each file's inode,
// size, mtime and ctime as they were when it was hashed: while all of them are the same, the file
// is the one hashed (any write, rename over it or copy changes the ctime, which no tool sets back),
// and nothing is read. Otherwise (another checkout, an installed copy, an edit) the digest decides.
//
// CommonJS, so that both the bin (an ES module) and the CommonJS entry (lib/index.node.cjs, which
// `require("pkgkit")` reaches) can load it synchronously; one module instance serves both.
"use strict";
const { readFileSync, realpathSync, statSync } = require("node:fs");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

/** The record lib/bundle.mjs writes: the bundle's source files (paths relative to the package root) and their digest. */
const SOURCES_RECORD = new URL("./dist/cli.sources.json", pathToFileURL(__filename));

/**
 * sha256 over each file's path and bytes, in the order given; undefined when one cannot be read
 * (a source deleted or renamed since).
 * @param {URL} root the package root the paths are relative to
 * @param {string[]} files
 */
function sourcesDigest(root, files) {
  // Required here, not with the module: while the stats match, no start loads node:crypto (about
  // 15 ms on Bun, 3 on Node).
  const hash = require("node:crypto").createHash("sha256");
  for (const file of files) {
    let bytes;
    try {
      bytes = readFileSync(new URL(file, root));
    } catch {
      return undefined;
    }
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest("hex");
}

/**
 * Each file's inode, size, mtime and ctime (nanoseconds), as one string; undefined when one
 * cannot be stat'ed.
 * @param {URL} root
 * @param {string[]} files
 */
function sourcesStats(root, files) {
  const stats = [];
  for (const file of files) {
    const s = statSync(new URL(file, root), { bigint: true, throwIfNoEntry: false });
    if (!s) return undefined;
    stats.push(`${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
  }
  return stats;
}

/**
 * The record of a bundle's sources (what lib/bundle.mjs writes): the files, their digest, and their
 * stats when they were read for it, if nothing changed while they were (see sourcesStats).
 * @param {URL} root
 * @param {string[]} files
 */
function sourcesRecord(root, files) {
  const before = sourcesStats(root, files);
  const sha256 = sourcesDigest(root, files);
  const after = sourcesStats(root, files);
  const same = before && after && before.every((s, i) => s === after[i]);
  return { files, sha256, ...(same ? { stats: after } : {}) };
}

/**
 * Whether the sources on disk are those `record` was made from: the same stats (nothing read), or
 * else the same digest.
 * @param {URL} root
 * @param {unknown} record
 */
function sourcesUnchanged(root, record) {
  const r = /** @type {{ files?: unknown, sha256?: unknown, stats?: unknown }} */ (record ?? {});
  if (!Array.isArray(r.files) || typeof r.sha256 !== "string") return false;
  if (Array.isArray(r.stats) && r.stats.length === r.files.length) {
    const now = sourcesStats(root, r.files);
    if (now && now.every((s, i) => s === r.stats[i])) return true;
  }
  return sourcesDigest(root, r.files) === r.sha256;
}

/**
 * The record of the bundle in lib/dist/ (its sources and their digest, the bundle's identity) if
 * the bundle may run: not when PKGKIT_NO_BUNDLE is set, nor without a record, nor when the sources
 * on disk are not those it was built from (sourcesUnchanged). The verdict is kept for the process
 * (in a global, for every copy of this module), so the modules that ask after the bin
 * (lib/index.node.cjs, lib/index.node.mjs, lib/cli/entry.ts) read no file again.
 * @returns {{ files: string[], sha256: string } | undefined}
 */
function freshRecord() {
  if (process.env.PKGKIT_NO_BUNDLE) return undefined;
  const verdicts = /** @type {Record<string, { record?: { files: string[], sha256: string } }>} */ ((globalThis[Symbol.for("pkgkit.bundleIsFresh")] ??= {}));
  return (verdicts[SOURCES_RECORD.href] ??= { record: recordIfUnchanged() }).record;
}

/** Whether the bundle in lib/dist/ may run (see freshRecord). */
function bundleIsFresh() {
  return freshRecord() !== undefined;
}

function recordIfUnchanged() {
  let record;
  try {
    record = JSON.parse(readFileSync(SOURCES_RECORD, "utf8"));
  } catch {
    return undefined;
  }
  return sourcesUnchanged(new URL("../../", SOURCES_RECORD), record) ? record : undefined; // the package root
}

/**
 * Whether this process is this package's bin (lib/bin.cjs or lib/bin.mjs, by whatever link it was
 * started), which runs the bin's build (lib/dist/bin.cjs): an entry module then picks that build's
 * public entry (lib/dist/bin-index.mjs), whose modules the CLI shares, rather than another build.
 * @returns {boolean}
 */
function binIsMain() {
  if (!process.argv[1]) return false;
  try {
    const main = realpathSync(process.argv[1]);
    return main === realpathSync(join(__dirname, "bin.cjs")) || main === realpathSync(join(__dirname, "bin.mjs"));
  } catch {
    return false;
  }
}

exports.SOURCES_RECORD = SOURCES_RECORD;
exports.sourcesDigest = sourcesDigest;
exports.sourcesStats = sourcesStats;
exports.sourcesRecord = sourcesRecord;
exports.sourcesUnchanged = sourcesUnchanged;
exports.freshRecord = freshRecord;
exports.bundleIsFresh = bundleIsFresh;
exports.binIsMain = binIsMain;
