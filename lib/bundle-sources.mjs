// What a bundle was built from: lib/bundle.mjs records it beside lib/dist/cli.mjs, and the bin
// runs the bundle only while the sources on disk give the same digest (not their mtimes, which
// a checkout, a copy or a restored file can set to anything).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The record lib/bundle.mjs writes: the bundle's source files (paths relative to the package root) and their digest. */
export const SOURCES_RECORD = new URL("./dist/cli.sources.json", import.meta.url);

/**
 * sha256 over each file's path and bytes, in the order given; undefined when one cannot be read
 * (a source deleted or renamed since).
 * @param {URL} root the package root the paths are relative to
 * @param {string[]} files
 */
export function sourcesDigest(root, files) {
  const hash = createHash("sha256");
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
