/**
 * The real `linuxkit` binary, as an outside oracle for what LinuxKit answers (`pkg show-tag`).
 * Found as PKGKIT_LINUXKIT_BIN (the binary, or its .xz), else as `../shared/reference/linuxkit/*.xz`
 * next to the repository (for a linked git worktree, next to the main work tree too).
 * A compressed binary is unpacked once into a cache directory under the OS temp directory, keyed by
 * the archive's size and mtime, so runs share it. Absent, tests skip and say why.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ROOT } from "./helpers.ts";

export type Oracle = { bin: string } | { missing: string };

let found: Oracle | undefined;

/** The linuxkit binary, ready to run, or why there is none. */
export function linuxkitOracle(): Oracle {
  found ??= locate();
  return found;
}

function locate(): Oracle {
  const given = process.env.PKGKIT_LINUXKIT_BIN;
  if (given) return existsSync(given) ? ready(resolve(given)) : { missing: `PKGKIT_LINUXKIT_BIN=${given} does not exist` };
  const roots = [ROOT, mainWorkTree()].filter((r): r is string => !!r);
  const dirs = [...new Set(roots.map((r) => resolve(r, "../shared/reference/linuxkit")))];
  for (const dir of dirs) {
    const xz = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".xz")).sort() : [];
    if (xz.length) return ready(join(dir, xz[xz.length - 1]!));
  }
  return { missing: `no linuxkit binary: set PKGKIT_LINUXKIT_BIN, or put linuxkit-<commit>.xz in ${dirs.join(" or ")}` };
}

/** The main work tree of the repository holding ROOT, when ROOT is a linked worktree. */
function mainWorkTree(): string | undefined {
  const r = spawnSync("git", ["-C", ROOT, "rev-parse", "--path-format=absolute", "--git-common-dir"], { encoding: "utf8" });
  return r.status === 0 ? dirname(r.stdout.trim()) : undefined;
}

function ready(file: string): Oracle {
  if (!file.endsWith(".xz")) return { bin: file };
  const { size, mtimeMs } = statSync(file);
  const dir = join(tmpdir(), "pkgkit-linuxkit-oracle", `${size}-${Math.floor(mtimeMs)}`);
  const bin = join(dir, "linuxkit");
  if (existsSync(bin)) return { bin };
  mkdirSync(dir, { recursive: true });
  // Unpacked beside, then renamed: a concurrent run never sees half a binary.
  const partial = `${bin}.${process.pid}`;
  const xz = spawnSync("sh", ["-c", 'xz -dc "$1" > "$2"', "sh", file, partial]);
  if (xz.error || xz.status !== 0) return { missing: `cannot unpack ${file} with xz: ${xz.error?.message ?? String(xz.stderr).trim()}` };
  chmodSync(partial, 0o755);
  renameSync(partial, bin);
  return { bin };
}
