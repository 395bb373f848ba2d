/**
 * How much pkgkit reads of a file it parses, and a reader that stops there. A file over its
 * limit is refused from its size alone, never read; so a hostile file costs at most the limit to
 * read, and parsing it stays linear (see yaml.ts). Only regular files are read.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { InputError } from "./errors.ts";

const MiB = 1024 * 1024;

/** build.yml, pkgkit.yml, LinuxKit's config.yml: a few hundred bytes in practice. */
export const MAX_CONFIG_BYTES = 1 * MiB;
/**
 * Plan files for `pkgkit apply`: a signed push plan of 1000 two-arch packages is about 8 MiB
 * (12 MiB as a `--by arch` matrix); the limit leaves room for more arches and longer names.
 */
export const MAX_PLAN_BYTES = 64 * MiB;

/** "1 MiB (1048576 bytes)" */
export const formatLimit = (limit: number) => `${limit / MiB} MiB (${limit} bytes)`;

/** The message for an input over its limit: `what` names the kind of file, e.g. "a build.yml". */
export function tooLarge(name: string, size: number | undefined, limit: number, what: string): InputError {
  return new InputError(`${name}: too large: ${size === undefined ? `more than ${limit} bytes` : `${size} bytes`}; ${what} may be at most ${formatLimit(limit)}`);
}

/**
 * The text of `file` (UTF-8), refused with an InputError when larger than `limit`. Messages
 * start with `name`: the file, or where it was named (`--key "k.pem"`).
 */
export function readTextLimited(file: string, limit: number, what: string, name = file): string {
  let fd: number;
  try {
    // Non-blocking: opening a FIFO would otherwise wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw cannotRead(name, e, what);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputError(`${name}: is a directory; expected ${what}`);
    if (!stat.isFile()) throw new InputError(`${name}: not a regular file; expected ${what}`);
    if (stat.size > limit) throw tooLarge(name, stat.size, limit, what);
    // One byte more than fstat saw: a file that grew meanwhile is refused, not read in part.
    const buf = Buffer.alloc(stat.size + 1);
    let got = 0;
    for (let n; got < buf.length && (n = readSync(fd, buf, got, buf.length - got, null)) > 0; ) got += n;
    if (got > stat.size) throw new InputError(`${name}: changed while pkgkit read it; expected ${what}`);
    return buf.subarray(0, got).toString("utf8");
  } catch (e) {
    throw e instanceof InputError ? e : cannotRead(name, e, what);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(name: string, e: unknown, what: string): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : (code ?? (e as Error).message);
  return new InputError(`${name}: ${code === "ENOENT" ? reason : `cannot read it: ${reason}`}; expected ${what}`);
}
