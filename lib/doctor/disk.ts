/** Doctor check: free space where a run writes (its scratch directory, the engine's data root). */
import { statfsSync } from "node:fs";
import { ok, warn, type CheckRow } from "./check.ts";

/** Below this, builds and exported images may fill the disk. */
export const LOW_DISK_BYTES = 5 * 1024 ** 3;

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/** Free space at `path` for `what`; a warning under `low` bytes. */
export function diskRow(what: string, path: string, low = LOW_DISK_BYTES): CheckRow {
  const check = `disk ${what}`;
  let free: number;
  try {
    const s = statfsSync(path);
    free = s.bavail * s.bsize;
  } catch (e) {
    return warn(check, `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `make ${path} exist, or point TMPDIR elsewhere`);
  }
  if (free < low) return warn(check, `${gib(free)} free in ${path}`, `free some space (docker system prune, old images), or point ${what === "scratch" ? "TMPDIR" : "the engine's data-root"} at a larger disk; under ${gib(low)} large builds may fail`);
  return ok(check, `${gib(free)} free in ${path}`);
}
