/**
 * Benchmark: what reproducible layer compression costs. A: lib/gzip.ts (fflate, level 6, the same
 * bytes on every runtime), B: node:zlib createGzip (level 6, the runtime's own zlib, which pkgkit
 * used before), each gzipping the same 50 MB layer-like stream (the files of node_modules, text
 * and binaries) in this process, interleaved after one warm-up each. Prints medians, A/B and the
 * sizes; no target (the cost is paid once per pushed layer).
 *
 *   npx tsx bench/layer-gzip.ts [--mb 50] [--rounds 5]
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { deterministicGzip } from "../lib/gzip.ts";
import { median, parseFlags, secs, table } from "./common.ts";

const ROOT = join(import.meta.dirname, "..");
const flags = parseFlags(process.argv.slice(2), { mb: "string", rounds: "string" }, "usage: npx tsx bench/layer-gzip.ts [--mb 50] [--rounds 5]");
const mb = Number(flags.mb ?? 50);
const bytes = mb * 1024 * 1024;
const rounds = Number(flags.rounds ?? 5);

/** Files of node_modules, concatenated until `bytes`: what a layer of an image holds. */
function layerLike(): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (size >= bytes) return;
      const path = join(dir, name);
      const s = statSync(path, { throwIfNoEntry: false });
      if (s?.isDirectory()) walk(path);
      else if (s?.isFile()) {
        const b = readFileSync(path);
        parts.push(b);
        size += b.length;
      }
    }
  };
  walk(join(ROOT, "node_modules"));
  return Buffer.concat(parts).subarray(0, bytes);
}

const data = layerLike();
/** One run: the data in 64 KiB chunks (as a file stream reads) through `gzip`; its time and output size. */
async function gzipOnce(gzip: () => Transform) {
  const chunks = function* () {
    for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
  };
  let out = 0;
  const start = performance.now();
  await pipeline(Readable.from(chunks()), gzip(), new Writable({ write: (c: Buffer, _e, done) => ((out += c.length), done()) }));
  return { ms: performance.now() - start, size: out };
}

const contenders = [
  { name: "A", gzip: deterministicGzip },
  { name: "B", gzip: () => createGzip({ level: 6 }) },
];
const times = new Map(contenders.map((c) => [c.name, [] as number[]]));
const sizes = new Map<string, number>();
for (const c of contenders) sizes.set(c.name, (await gzipOnce(c.gzip)).size);
for (let r = 0; r < rounds; r++)
  for (const c of contenders) {
    const { ms } = await gzipOnce(c.gzip);
    times.get(c.name)!.push(ms);
  }
const a = median(times.get("A")!);
const b = median(times.get("B")!);
console.log(`gzip of ${mb} MB (${data.length} bytes) of node_modules' files, medians of ${rounds} interleaved rounds after one warm-up each\n`);
console.log(table([
  ["", "A: lib/gzip.ts (fflate 6)", "B: node:zlib 6", "A/B"],
  ["median", secs(a), secs(b), (a / b).toFixed(2)],
  ["size (bytes)", String(sizes.get("A")), String(sizes.get("B")), (sizes.get("A")! / sizes.get("B")!).toFixed(3)],
]));
