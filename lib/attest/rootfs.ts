/**
 * An image's final filesystem from its layers: each layer is a tar (gzipped or not), applied bottom
 * first with the OCI whiteout rules (`.wh.<name>` deletes `<name>` from the layers below,
 * `.wh..wh..opq` empties its directory of what the layers below put there). Only the final view is
 * kept: a file that a later layer deleted or replaced is not in it.
 */
import { open, readFile } from "node:fs/promises";
import { PkgkitError } from "../errors.ts";
import type { TarRange } from "../layer-tar.ts";
import type { Blob } from "../registry/types.ts";

/** One path of the final filesystem. Hard links are resolved to the bytes of the file they name. */
export type FsNode =
  | { type: "file"; data: Uint8Array; mode: number }
  | { type: "symlink"; target: string }
  | { type: "dir" }
  | { type: "other" };

/** The final filesystem: absolute paths (`/bin/sh`) to what is there. */
export type Rootfs = Map<string, FsNode>;

interface TarEntry {
  path: string;
  /** ustar typeflag: "0" file, "1" hard link, "2" symlink, "5" directory, others kept as "other". */
  type: string;
  linkname: string;
  mode: number;
  data: Uint8Array;
}

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** `/a/b` for `./a/b/`, `a/b`, `/a//b`, `/a/c/../b`; "/" for the root, which `..` never climbs out of. */
function normalizePath(name: string): string {
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== "" && p !== ".") parts.push(p);
  }
  return `/${parts.join("/")}`;
}

const parentOf = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";
const baseOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/** The entries of an uncompressed tar (ustar, GNU long names and links, pax path/linkpath/size). */
const utf8 = new TextDecoder("utf-8");

function tarEntries(tar: Uint8Array, where: string): TarEntry[] {
  const text = (start: number, len: number) => {
    const field = tar.subarray(start, start + len);
    const end = field.indexOf(0);
    return utf8.decode(end < 0 ? field : field.subarray(0, end));
  };
  const octal = (start: number, len: number) => {
    // GNU base-256 sizes (high bit set) are for files of 8 GiB and more: not in an image we can hold in memory.
    if ((tar[start]! & 0x80) !== 0) throw new PkgkitError(`${where}: a tar entry at offset ${start} uses a base-256 size; expected an octal size`);
    return parseInt(text(start, len).trim() || "0", 8);
  };
  const entries: TarEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (pos + 512 <= tar.length) {
    if (tar.subarray(pos, pos + 512).every((b) => b === 0)) break;
    const type = text(pos + 156, 1) || "0";
    let size = octal(pos + 124, 12);
    if (pax.size !== undefined) size = Number(pax.size);
    const data = tar.subarray(pos + 512, pos + 512 + size);
    if (data.length < size) throw new PkgkitError(`${where}: the tar ends inside an entry at offset ${pos}; the layer is truncated`);
    const next = pos + 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = parsePax(utf8.decode(data));
    } else if (type === "g") {
      // Global pax headers carry archive comments (git's commit id); nothing here depends on them.
    } else if (type === "L") {
      longName = text(pos + 512, size);
    } else if (type === "K") {
      longLink = text(pos + 512, size);
    } else {
      const prefix = text(pos + 345, 155);
      const name = pax.path ?? longName ?? (prefix ? `${prefix}/${text(pos, 100)}` : text(pos, 100));
      const linkname = pax.linkpath ?? longLink ?? text(pos + 157, 100);
      entries.push({ path: normalizePath(name), type: type === "\0" || type === "7" ? "0" : type, linkname, mode: octal(pos + 100, 8), data });
      pax = {};
      longName = undefined;
      longLink = undefined;
    }
    pos = next;
  }
  return entries;
}

/** `"<len> key=value\n"` records of a pax extended header. */
function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/\d+ ([^=\n]+)=([^\n]*)\n/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The bytes of a layer: a blob, gunzipped when it is gzip (the magic bytes say so), or an uncompressed tar where it lies in a file. */
export async function layerTar(blob: Blob | TarRange, where: string): Promise<Uint8Array> {
  if ("file" in blob) {
    const fh = await open(blob.file, "r");
    try {
      const bytes = new Uint8Array(blob.size);
      for (let n = 0; n < blob.size; ) {
        const { bytesRead } = await fh.read(bytes, n, blob.size - n, blob.offset + n);
        if (bytesRead === 0) throw new PkgkitError(`${where}: ${blob.file} ends inside the layer at offset ${blob.offset} (${n} of ${blob.size} bytes); the archive is truncated`);
        n += bytesRead;
      }
      return bytes;
    } finally {
      await fh.close();
    }
  }
  const bytes = blob.data instanceof Uint8Array ? blob.data : await readFile(blob.data.path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // Off the event loop: a push's other steps (signing, the index merge) go on meanwhile.
      // node:zlib loads here, not with this module (lib/index.ts reaches it through run.ts).
      const [{ gunzip }, { promisify }] = await Promise.all([import("node:zlib"), import("node:util")]);
      return await promisify(gunzip)(bytes);
    } catch (err) {
      throw new PkgkitError(`${where}: layer ${blob.digest} is not valid gzip: ${(err as Error).message}`);
    }
  }
  return bytes;
}

/** Delete, in one pass, every path `hidden` names: itself (`ancestor` false) or through one of its proper ancestors. */
function prune(fs: Rootfs, hidden: (path: string, ancestor: boolean) => boolean) {
  for (const path of [...fs.keys()]) {
    if (hidden(path, false)) {
      fs.delete(path);
      continue;
    }
    for (let a = parentOf(path); ; a = parentOf(a)) {
      if (hidden(a, true)) {
        fs.delete(path);
        break;
      }
      if (a === "/") break;
    }
  }
}

/**
 * Apply one layer's entries on top of `fs`: its whiteouts first (they only hide what is below: a
 * whited-out path and what is under it, what is under an opaque directory), then its entries in
 * order; last, what is under a path that is no longer a directory goes (a file or symlink that
 * replaced a directory, listed or implied).
 */
function applyLayer(fs: Rootfs, entries: TarEntry[], where: string) {
  const gone = new Set<string>();
  const opaque = new Set<string>();
  for (const e of entries) {
    const base = baseOf(e.path);
    if (base === OPAQUE) opaque.add(parentOf(e.path));
    else if (base.startsWith(WHITEOUT)) gone.add(`${parentOf(e.path) === "/" ? "" : parentOf(e.path)}/${base.slice(WHITEOUT.length)}`);
  }
  if (gone.size || opaque.size) prune(fs, (path, ancestor) => gone.has(path) || (ancestor && opaque.has(path)));
  for (const e of entries) {
    const base = baseOf(e.path);
    if (base.startsWith(WHITEOUT) || e.path === "/") continue;
    if (e.type === "5") {
      if (fs.get(e.path)?.type !== "dir") fs.set(e.path, { type: "dir" });
    } else if (e.type === "0") {
      fs.set(e.path, { type: "file", data: e.data, mode: e.mode });
    } else if (e.type === "2") {
      fs.set(e.path, { type: "symlink", target: e.linkname });
    } else if (e.type === "1") {
      const target = fs.get(normalizePath(e.linkname));
      if (target?.type !== "file") throw new PkgkitError(`${where}: hard link ${e.path} names ${e.linkname}, which is not a regular file in this or a lower layer`);
      fs.set(e.path, target);
    } else {
      fs.set(e.path, { type: "other" });
    }
  }
  prune(fs, (path, ancestor) => ancestor && path !== "/" && (fs.get(path)?.type ?? "dir") !== "dir");
}

/**
 * The final filesystem of an image from its layers, bottom first: blobs, or uncompressed tars where
 * they lie in a file (the `docker save` archive). `where` names the image in errors.
 */
export async function imageRootfs(layers: (Blob | TarRange)[], where: string): Promise<Rootfs> {
  const fs: Rootfs = new Map();
  for (const layer of layers) {
    const named = `${where} layer ${"file" in layer ? `at offset ${layer.offset} of ${layer.file}` : layer.digest}`;
    applyLayer(fs, tarEntries(await layerTar(layer, where), named), named);
  }
  return fs;
}

/** Resolve symlinks in `path` (absolute targets against the image root, at most 40 hops), for reading package databases. */
export function resolvePath(fs: Rootfs, path: string): string {
  let hops = 0;
  const walk = (p: string): string => {
    const parts = normalizePath(p).split("/").filter(Boolean);
    let current = "";
    for (let i = 0; i < parts.length; i++) {
      const candidate = `${current}/${parts[i]}`;
      const node = fs.get(candidate);
      if (node?.type === "symlink") {
        if (++hops > 40) return candidate;
        const target = node.target.startsWith("/") ? node.target : `${current}/${node.target}`;
        current = walk(target);
        if (current === "/") current = "";
      } else current = candidate;
    }
    return current || "/";
  };
  return walk(path);
}
