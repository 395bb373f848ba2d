/**
 * One gzip compressor that writes the same bytes for the same input on Node, Deno and Bun.
 * node:zlib cannot: each runtime links its own zlib (Node's Chromium zlib, Deno's and Bun's
 * others), and the same layer gzipped by each differs in its deflate bytes at every level. fflate is
 * plain JavaScript, so its output is a function of its input, its options and the chunks it is
 * handed; the input is handed over in fixed-size chunks, so how the source stream happened to
 * split it does not matter either.
 */
import { Transform } from "node:stream";
import { Gzip } from "fflate";

/** Deflate level of every layer pkgkit compresses (gzip's default). */
export const GZIP_LEVEL = 6;
/** fflate's memory level, fixed: left to fflate it depends on the size of the last chunk. */
const MEM_LEVEL = 8;
/** Input is compressed in pieces of exactly this size (the last one shorter). */
const PIECE = 64 * 1024;

/**
 * A Transform that gzips what goes through it, deterministically: level 6, header with mtime 0,
 * no file name, OS byte 3 (Unix).
 */
export function deterministicGzip(): Transform {
  let out: ((chunk: Uint8Array) => void) | undefined;
  const gzip = new Gzip({ level: GZIP_LEVEL, mem: MEM_LEVEL, mtime: 0 }, (data) => out?.(data));
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (n: number) => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = n < all.length ? [all.subarray(n)] : [];
    pendingBytes = all.length - n;
    return all.subarray(0, n);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      out = (data) => this.push(data);
      pending.push(chunk);
      pendingBytes += chunk.length;
      try {
        while (pendingBytes >= PIECE) gzip.push(take(PIECE), false);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done) {
      out = (data) => this.push(data);
      try {
        gzip.push(take(pendingBytes), true);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}
