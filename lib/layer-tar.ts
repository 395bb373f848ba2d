/**
 * Layer tars made reproducible. The engine's BuildKit (v0.8) has no `rewrite-timestamp`: a layer
 * carries the time each file was written (the build's clock for RUN and for the directories COPY
 * makes, the checkout's for copied files), in whatever order the engine walked it. So pkgkit
 * rewrites each layer as the engine exported it:
 *   - entries sorted by name (byte order), except that a hard link follows the file it links to;
 *   - every time after the epoch (SOURCE_DATE_EPOCH) clamped to it: the mtime of each header (the
 *     entry's, its PAX and GNU long-name headers'), GNU atime/ctime, the PAX `mtime` record;
 *     PAX `atime`, `ctime` and `LIBARCHIVE.creationtime` records removed;
 *   - everything else as it was: modes, owners (uid, gid, uname, gname), link targets, xattrs,
 *     file contents, whiteouts; ending in two zero blocks.
 * Nothing is extracted: headers are read from the archive where the layer lies, and contents are
 * copied from there.
 */
import type { Hash } from "node:crypto";
import { nodeCrypto } from "./node-crypto.ts";
import { open, type FileHandle } from "node:fs/promises";
import { PkgkitError } from "./errors.ts";

const BLOCK = 512;
const ZEROS = Buffer.alloc(2 * BLOCK);
/** Contents are copied in reads of at most this size. */
const COPY_CHUNK = 1024 * 1024;
/** PAX records that only say when a file was read or its inode changed: dropped. */
const DROPPED_PAX = new Set(["atime", "ctime", "LIBARCHIVE.creationtime"]);

/** Where a layer tar lies in a file: the archive `docker save` wrote. */
export interface TarRange {
  file: string;
  offset: number;
  size: number;
}

/** A header read from the layer: one block, and the data of a PAX or GNU long-name header. */
interface Header {
  block: Buffer;
  type: string;
  data?: Buffer;
}

/** One entry: its own header, the PAX/long-name headers before it, and where its contents lie. */
interface Entry {
  name: string;
  type: string;
  linkname: string;
  headers: Header[];
  dataOffset: number;
  dataSize: number;
}

const text = (b: Buffer, start: number, len: number) => b.subarray(start, start + len).toString("utf8").replace(/\0.*$/s, "");

/** A tar number field: octal text, or GNU base-256 (high bit of the first byte set). */
function readNumber(b: Buffer, start: number, len: number): number {
  const field = b.subarray(start, start + len);
  if (field[0]! & 0x80) {
    // Negative (0xff...): a time before 1970, before any epoch.
    if (field[0]! & 0x40) return -1;
    let n = field[0]! & 0x3f;
    for (let i = 1; i < len; i++) n = n * 256 + field[i]!;
    return n;
  }
  const digits = field.toString("latin1").replace(/[\0 ].*$/s, "").trim();
  return digits ? parseInt(digits, 8) : 0;
}

/** Writes `n` as octal filling the field but its last byte, a NUL (as Go's archive/tar). */
function writeOctal(b: Buffer, start: number, len: number, n: number) {
  b.write(n.toString(8).padStart(len - 1, "0") + "\0", start, len, "latin1");
}

/** The header checksum, as ustar defines it and Go writes it: six octal digits, NUL, space. */
function setChecksum(b: Buffer) {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
}

/** PAX extended header data → its records, in order. */
export function parsePax(data: Buffer): [key: string, value: string][] {
  const records: [string, string][] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const len = parseInt(data.subarray(pos, space).toString("latin1"), 10);
    if (space < 0 || !(len > 0) || pos + len > data.length) break;
    const record = data.subarray(space + 1, pos + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) records.push([record.slice(0, eq), record.slice(eq + 1)]);
    pos += len;
  }
  return records;
}

/** Records → PAX extended header data; each record's length counts its own digits. */
export function formatPax(records: [string, string][]): Buffer {
  return Buffer.concat(
    records.map(([k, v]) => {
      const body = ` ${k}=${v}\n`;
      const bytes = Buffer.byteLength(body);
      let len = bytes + 1;
      while (String(len).length + bytes !== len) len = String(len).length + bytes;
      return Buffer.from(`${len}${body}`, "utf8");
    }),
  );
}

/** Reads every header of the layer, grouping PAX and long-name headers with the entry they describe. */
async function readEntries(fh: FileHandle, range: TarRange): Promise<{ globals: Header[]; entries: Entry[] }> {
  const globals: Header[] = [];
  const entries: Entry[] = [];
  let pending: Header[] = [];
  let pos = 0;
  const end = range.size;
  const read = async (at: number, len: number) => {
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, range.offset + at);
    if (bytesRead < len) throw new PkgkitError(`${range.file}: the layer tar at byte ${range.offset} ends inside an entry (at ${at} of ${end} bytes)`);
    return buf;
  };
  while (pos + BLOCK <= end) {
    const block = await read(pos, BLOCK);
    if (block.every((b) => b === 0)) break;
    const type = String.fromCharCode(block[156]!) || "0";
    const size = readNumber(block, 124, 12);
    const data = pos + BLOCK;
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      const header: Header = { block, type, data: await read(data, size) };
      if (type === "g") globals.push(header);
      else pending.push(header);
      pos = data + Math.ceil(size / BLOCK) * BLOCK;
      continue;
    }
    const pax = new Map(pending.filter((h) => h.type === "x").flatMap((h) => parsePax(h.data!)));
    const long = (t: string) => pending.find((h) => h.type === t)?.data!.toString("utf8").replace(/\0.*$/s, "");
    const prefix = block.subarray(257, 263).toString("latin1") === "ustar\0" ? text(block, 345, 155) : "";
    const dataSize = pax.has("size") ? Number(pax.get("size")) : ["1", "2", "3", "4", "5", "6"].includes(type) ? 0 : size;
    entries.push({
      name: pax.get("path") ?? long("L") ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100)),
      type: type === "\0" ? "0" : type,
      linkname: pax.get("linkpath") ?? long("K") ?? text(block, 157, 100),
      headers: [...pending, { block, type }],
      dataOffset: data,
      dataSize,
    });
    pending = [];
    pos = data + Math.ceil(dataSize / BLOCK) * BLOCK;
  }
  return { globals, entries };
}

/** Byte order of names, as Go's sort of strings; "./x" and "x" name the same file. */
const key = (name: string) => Buffer.from(name.replace(/^\.\//, "").replace(/\/$/, ""), "utf8");

/** Sorted by name; a hard link waits for the file it links to, when that comes later in the layer. */
function ordered(entries: Entry[]): Entry[] {
  const sorted = entries.map((e, i) => ({ e, i, k: key(e.name) })).sort((a, b) => Buffer.compare(a.k, b.k) || a.i - b.i).map((x) => x.e);
  const names = new Set(sorted.map((e) => key(e.name).toString("utf8")));
  const out: Entry[] = [];
  const emitted = new Set<string>();
  const waiting = new Map<string, Entry[]>();
  const emit = (e: Entry) => {
    out.push(e);
    const k = key(e.name).toString("utf8");
    emitted.add(k);
    const links = waiting.get(k);
    waiting.delete(k);
    for (const l of links ?? []) emit(l);
  };
  for (const e of sorted) {
    const target = key(e.linkname).toString("utf8");
    if (e.type === "1" && !emitted.has(target) && names.has(target) && target !== key(e.name).toString("utf8")) {
      waiting.set(target, [...(waiting.get(target) ?? []), e]);
    } else emit(e);
  }
  for (const links of waiting.values()) out.push(...links);
  return out;
}

/** A header block with its times clamped to `epoch`; its size set when given. */
function clampBlock(block: Buffer, epoch: number, size?: number): Buffer {
  const b = Buffer.from(block);
  const clamp = (start: number) => {
    if (readNumber(b, start, 12) > epoch) writeOctal(b, start, 12, epoch);
  };
  clamp(136);
  // GNU headers keep atime and ctime where ustar has its prefix.
  if (b.subarray(257, 265).toString("latin1") === "ustar  \0") {
    if (readNumber(b, 345, 12) !== 0) clamp(345);
    if (readNumber(b, 357, 12) !== 0) clamp(357);
  }
  if (size !== undefined) writeOctal(b, 124, 12, size);
  setChecksum(b);
  return b;
}

/** PAX records with times dropped or clamped; undefined when none is left. */
function clampPax(data: Buffer, epoch: number): Buffer | undefined {
  const records = parsePax(data)
    .filter(([k]) => !DROPPED_PAX.has(k))
    .map(([k, v]): [string, string] => (k === "mtime" && Number(v) > epoch ? [k, String(epoch)] : [k, v]));
  return records.length ? formatPax(records) : undefined;
}

const padding = (size: number) => ZEROS.subarray(0, (BLOCK - (size % BLOCK)) % BLOCK);

/** The header blocks of a PAX, global PAX or long-name header, normalised (nothing, when a PAX header is left empty). */
function normalisedHeader(h: Header, epoch: number): Buffer[] {
  if (!h.data) return [clampBlock(h.block, epoch)];
  const data = h.type === "x" || h.type === "g" ? clampPax(h.data, epoch) : h.data;
  if (!data) return [];
  return [clampBlock(h.block, epoch, data.length), data, padding(data.length)];
}

/**
 * The layer tar at `range`, normalised for `epoch` (seconds since 1970, SOURCE_DATE_EPOCH): see
 * the module comment. Yields the new tar in pieces.
 */
export async function* normalisedLayer(range: TarRange, epoch: number): AsyncGenerator<Buffer> {
  const fh = await open(range.file, "r");
  try {
    const { globals, entries } = await readEntries(fh, range);
    for (const g of globals) yield* normalisedHeader(g, epoch);
    for (const e of ordered(entries)) {
      for (const h of e.headers) yield* normalisedHeader(h, epoch);
      for (let done = 0; done < e.dataSize; ) {
        const len = Math.min(COPY_CHUNK, e.dataSize - done);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, range.offset + e.dataOffset + done);
        if (bytesRead < len) throw new PkgkitError(`${range.file}: the layer tar at byte ${range.offset} ends inside ${e.name}`);
        yield buf;
        done += len;
      }
      yield padding(e.dataSize);
    }
    yield ZEROS;
  } finally {
    await fh.close();
  }
}

/** An entry of a layer as `verify --rebuild` compares it. */
export interface TarFile {
  path: string;
  /** The tar type flag: "0" file, "1" hard link, "2" symlink, "5" directory, ... */
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  link: string;
  /** Of the contents, for regular files. */
  sha256?: string;
}

/** Every entry of a tar read from `source` (PAX and GNU long names applied), contents hashed as they stream past. */
export async function tarListing(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<TarFile[]> {
  const files: TarFile[] = [];
  let buf = Buffer.alloc(0);
  let meta: { pax: Map<string, string>; long?: string; longLink?: string } = { pax: new Map() };
  /** The entry whose data is streaming past, or a PAX/long-name header's data being collected. */
  let data: { left: number; pad: number; file?: TarFile; hash?: Hash; collect?: Buffer[]; type?: string } | undefined;
  let ended = false;
  for await (const chunk of source) {
    if (ended) continue;
    buf = buf.length ? Buffer.concat([buf, chunk]) : Buffer.from(chunk);
    for (;;) {
      if (data) {
        const take = Math.min(data.left, buf.length);
        if (data.hash) data.hash.update(buf.subarray(0, take));
        if (data.collect) data.collect.push(buf.subarray(0, take));
        data.left -= take;
        buf = buf.subarray(take);
        if (data.left > 0) break;
        if (buf.length < data.pad) break;
        buf = buf.subarray(data.pad);
        if (data.file && data.hash) data.file.sha256 = `sha256:${data.hash.digest("hex")}`;
        if (data.collect) {
          const body = Buffer.concat(data.collect);
          if (data.type === "x") for (const [k, v] of parsePax(body)) meta.pax.set(k, v);
          else if (data.type === "L") meta.long = body.toString("utf8").replace(/\0.*$/s, "");
          else if (data.type === "K") meta.longLink = body.toString("utf8").replace(/\0.*$/s, "");
        }
        data = undefined;
        continue;
      }
      if (buf.length < BLOCK) break;
      const h = buf.subarray(0, BLOCK);
      buf = buf.subarray(BLOCK);
      if (h.every((b) => b === 0)) {
        ended = true;
        break;
      }
      const type = String.fromCharCode(h[156]!) || "0";
      const size = meta.pax.has("size") && !"xgLK".includes(type) ? Number(meta.pax.get("size")) : readNumber(h, 124, 12);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if ("xgLK".includes(type)) {
        data = { left: size, pad, collect: [], type };
        continue;
      }
      const prefix = h.subarray(257, 263).toString("latin1") === "ustar\0" ? text(h, 345, 155) : "";
      const file: TarFile = {
        path: (meta.pax.get("path") ?? meta.long ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100))).replace(/^\.?\//, "").replace(/\/$/, ""),
        type: type === "\0" ? "0" : type,
        size,
        mode: readNumber(h, 100, 8),
        uid: Number(meta.pax.get("uid") ?? readNumber(h, 108, 8)),
        gid: Number(meta.pax.get("gid") ?? readNumber(h, 116, 8)),
        mtime: Math.floor(Number(meta.pax.get("mtime") ?? readNumber(h, 136, 12))),
        link: meta.pax.get("linkpath") ?? meta.longLink ?? text(h, 157, 100),
      };
      files.push(file);
      meta = { pax: new Map() };
      data = { left: size, pad, file, ...(file.type === "0" ? { hash: nodeCrypto().createHash("sha256") } : {}) };
    }
  }
  return files;
}

/** How a file differs between two listings of a layer. */
export interface FileDifference {
  path: string;
  change: "added" | "removed" | "changed";
  /** For "changed": which of type, size, mode, owner, mtime, link, content differ. */
  fields?: string[];
}

/** The files `rebuilt` adds, removes or changes against `original`, by path. */
export function compareListings(original: TarFile[], rebuilt: TarFile[]): FileDifference[] {
  const before = new Map(original.map((f) => [f.path, f]));
  const after = new Map(rebuilt.map((f) => [f.path, f]));
  const out: FileDifference[] = [];
  for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(path);
    const b = after.get(path);
    if (!a) out.push({ path, change: "added" });
    else if (!b) out.push({ path, change: "removed" });
    else {
      const fields = [
        a.type !== b.type && "type",
        a.size !== b.size && "size",
        a.mode !== b.mode && "mode",
        (a.uid !== b.uid || a.gid !== b.gid) && "owner",
        a.mtime !== b.mtime && "mtime",
        a.link !== b.link && "link",
        a.sha256 !== b.sha256 && "content",
      ].filter((f): f is string => typeof f === "string");
      if (fields.length) out.push({ path, change: "changed", fields });
    }
  }
  return out;
}
