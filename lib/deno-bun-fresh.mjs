// Whether Deno or Bun may run the bundle in lib/dist/deno-bun/ (see lib/bundle.mjs): not when
// PKGKIT_NO_BUNDLE is set, nor without its record (lib/dist/deno-bun/sources.json), nor when the
// sources on disk are not those it was built from. As for the Node builds (lib/bundle-sources.cjs),
// the files' stats as recorded mean unchanged, and otherwise their digest decides; but Deno's
// node:fs gives mtimes to the millisecond and ctimes to the second, never the nanoseconds Node
// recorded, so there the digest decides at once (about 3 ms for the hundred-odd sources). Decided
// once a process: every entry (lib/*.deno-bun.mjs) takes the same side.
import process from "node:process";
import { readFileSync } from "node:fs";
import { sourcesDigest, sourcesUnchanged } from "./bundle-sources.cjs";

const RECORD = new URL("./dist/deno-bun/sources.json", import.meta.url);
const ROOT = new URL("../", import.meta.url);

/** @type {boolean | undefined} */
let fresh;
/** @type {{ files?: unknown, sha256?: unknown, bun?: unknown } | undefined} */
let record;

/** @returns {boolean} */
export function denoBunBundleIsFresh() {
  return (fresh ??= decide());
}

function decide() {
  if (process.env.PKGKIT_NO_BUNDLE) return false;
  try {
    record = JSON.parse(readFileSync(RECORD, "utf8"));
  } catch {
    return false;
  }
  if (typeof Deno === "undefined") return sourcesUnchanged(ROOT, record);
  return Array.isArray(record?.files) && typeof record.sha256 === "string" && sourcesDigest(ROOT, record.files) === record.sha256;
}

/** @type {Promise<{ entries: Record<string, () => Promise<object>> } | undefined> | undefined} */
let bunBuild;

/**
 * On Bun, while the bundle is fresh and this Bun is the one that built it (the record's `bun`,
 * version and revision: bytecode is that build's alone), the entry `name` of the bytecode build,
 * lib/dist/deno-bun/bun.js (lib/bundle.mjs), evaluated on first use. Otherwise undefined: the
 * ES module chunks beside it (or the sources) serve. Decided once a process, as above, so that
 * every entry comes from the same build.
 * @param {"index" | "recipes" | "registry" | "cli"} name
 * @returns {Promise<object | undefined>}
 */
export async function bunEntry(name) {
  const build = await (bunBuild ??= loadBunBuild());
  return build?.entries[name]();
}

async function loadBunBuild() {
  if (typeof Bun === "undefined" || !denoBunBundleIsFresh() || record?.bun !== `${Bun.version}+${Bun.revision}`) return undefined;
  // By an expression, as the shims name the chunks (lib/bundle.mjs).
  const at = (path) => new URL(path, import.meta.url).href;
  return import(at("./dist/deno-bun/bun.js"));
}
