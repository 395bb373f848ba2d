// Reproducible layers (lib/layer-tar.ts, lib/gzip.ts, lib/image.ts normalisedConfig), under Node,
// Deno and Bun: tars are written here by hand, header by header, so each case the engine may
// export (unsorted entries, hard links before their files, PAX and GNU long names, PAX times,
// GNU atime/ctime, whiteouts) is exact; the result is read back by a parser of this file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gunzipSync } from "node:zlib";
import { compareListings, formatPax, normalisedLayer, parsePax, tarListing } from "../../lib/layer-tar.ts";
import { deterministicGzip } from "../../lib/gzip.ts";
import { normalisedConfig } from "../../lib/image.ts";

const TMP = mkdtempSync(join(tmpdir(), "pkgkit-layer-tar-"));
const LATE = 1_796_192_178; // a build's clock
const EPOCH = 1_700_000_000;

interface Fields {
  type?: string;
  size?: number;
  mtime?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  linkname?: string;
  gnu?: { atime: number; ctime: number };
}

const octal = (b: Buffer, at: number, len: number, n: number) => b.write(n.toString(8).padStart(len - 1, "0") + "\0", at, len, "latin1");

/** One header block, ustar (or GNU with `gnu`), checksum included. */
function header(name: string, f: Fields = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, "utf8");
  octal(b, 100, 8, f.mode ?? 0o644);
  octal(b, 108, 8, f.uid ?? 0);
  octal(b, 116, 8, f.gid ?? 0);
  octal(b, 124, 12, f.size ?? 0);
  octal(b, 136, 12, f.mtime ?? LATE);
  b.write(f.type ?? "0", 156, 1, "latin1");
  b.write(f.linkname ?? "", 157, 100, "utf8");
  if (f.gnu) {
    b.write("ustar  \0", 257, 8, "latin1");
    octal(b, 345, 12, f.gnu.atime);
    octal(b, 357, 12, f.gnu.ctime);
  } else b.write("ustar\x0000", 257, 8, "latin1");
  b.write(f.uname ?? "root", 265, 32, "utf8");
  b.write(f.gname ?? "root", 297, 32, "utf8");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return b;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
/** A regular file (or `type`) with its content. */
const file = (name: string, content = "", f: Fields = {}) => {
  const data = Buffer.from(content);
  return Buffer.concat([header(name, { ...f, size: data.length }), data, pad(data.length)]);
};
const pax = (records: [string, string][], type = "x") => {
  const data = formatPax(records);
  return Buffer.concat([header("PaxHeaders/x", { type, size: data.length }), data, pad(data.length)]);
};
const gnuLong = (name: string, type = "L") => {
  const data = Buffer.from(`${name}\0`);
  return Buffer.concat([header("././@LongLink", { type, size: data.length, mtime: 0 }), data, pad(data.length)]);
};
const tar = (...parts: Buffer[]) => Buffer.concat([...parts, Buffer.alloc(1024)]);

interface Read {
  name: string;
  type: string;
  mtime: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  linkname: string;
  content: string;
  pax: [string, string][];
  gnu?: [number, number];
  checksumOk: boolean;
}

/** Every entry of a tar, with its headers' fields (PAX and GNU long names applied). */
function readTar(bytes: Buffer): Read[] {
  const out: Read[] = [];
  let pos = 0;
  let paxRecords: [string, string][] = [];
  let long: string | undefined;
  const str = (b: Buffer, at: number, len: number) => b.subarray(at, at + len).toString("utf8").replace(/\0.*$/s, "");
  const num = (b: Buffer, at: number, len: number) => parseInt(str(b, at, len).trim() || "0", 8);
  while (pos + 512 <= bytes.length) {
    const h = bytes.subarray(pos, pos + 512);
    if (h.every((x) => x === 0)) break;
    const type = String.fromCharCode(h[156]!);
    const size = num(h, 124, 12);
    const data = bytes.subarray(pos + 512, pos + 512 + size);
    const stored = num(h, 148, 8);
    const copy = Buffer.from(h);
    copy.fill(0x20, 148, 156);
    const sum = copy.reduce((a, x) => a + x, 0);
    pos += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      paxRecords = parsePax(data);
      assert.is(sum, stored, "the PAX header's checksum");
      assert.ok(num(h, 136, 12) <= EPOCH, "the PAX header's own mtime is clamped");
      continue;
    }
    if (type === "L") {
      long = str(data, 0, data.length);
      continue;
    }
    const gnu = h.subarray(257, 265).toString("latin1") === "ustar  \0";
    const path = new Map(paxRecords).get("path");
    out.push({
      name: path ?? long ?? str(h, 0, 100),
      type,
      mtime: num(h, 136, 12),
      mode: num(h, 100, 8),
      uid: num(h, 108, 8),
      gid: num(h, 116, 8),
      uname: str(h, 265, 32),
      gname: str(h, 297, 32),
      linkname: str(h, 157, 100),
      content: data.toString("utf8"),
      pax: paxRecords,
      ...(gnu ? { gnu: [num(h, 345, 12), num(h, 357, 12)] as [number, number] } : {}),
      checksumOk: sum === stored,
    });
    paxRecords = [];
    long = undefined;
  }
  return out;
}

/** Normalise `layer`, lying at an offset inside a larger file as in a `docker save` archive. */
async function normalise(layer: Buffer, epoch = EPOCH): Promise<Buffer> {
  const junk = Buffer.alloc(1536, 7);
  const path = join(TMP, `archive-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(path, Buffer.concat([junk, layer, junk]));
  const chunks: Buffer[] = [];
  for await (const c of normalisedLayer({ file: path, offset: junk.length, size: layer.length }, epoch)) chunks.push(c);
  return Buffer.concat(chunks);
}

const LONG = `usr/share/${"very-long-directory-name/".repeat(6)}file.txt`;
/** One layer as an engine might export it: out of order, with every kind of header. */
const entries = {
  etc: file("etc/", "", { type: "5", mode: 0o755 }),
  hosts: file("etc/hosts", "127.0.0.1 localhost\n", { mtime: LATE, uid: 1000, gid: 1001, uname: "app", gname: "staff" }),
  hardlink: file("bin/sh", "", { type: "1", linkname: "bin/busybox", size: 0 }),
  busybox: file("bin/busybox", "ELF", { mode: 0o755 }),
  bin: file("bin/", "", { type: "5", mode: 0o755 }),
  old: file("etc/old", "kept", { mtime: 1_000 }),
  whiteout: file("etc/.wh.removed", ""),
  opaque: file("var/.wh..wh..opq", ""),
  symlink: file("etc/localtime", "", { type: "2", linkname: "/usr/share/zoneinfo/UTC" }),
  paxed: Buffer.concat([pax([["atime", "1796192100.5"], ["ctime", "1796192100.5"], ["mtime", "1796192178.123456789"], ["SCHILY.xattr.user.k", "v"]]), file("etc/xattr", "x")]),
  paxOnlyTimes: Buffer.concat([pax([["atime", "1796192100"], ["LIBARCHIVE.creationtime", "1796192100"]]), file("etc/plain", "p")]),
  longGnu: Buffer.concat([gnuLong(LONG), file(LONG.slice(0, 99), "long")]),
  longPax: Buffer.concat([pax([["path", `${LONG}.pax`]]), file("placeholder", "long pax")]),
  gnuTimes: file("etc/gnu", "g", { gnu: { atime: LATE, ctime: LATE } }),
};

test("entries come out sorted by name; a hard link waits for its file; contents and owners unchanged", async () => {
  const e = entries;
  const out = readTar(await normalise(tar(e.etc, e.hosts, e.hardlink, e.busybox, e.bin, e.old, e.whiteout, e.opaque, e.symlink, e.longGnu, e.longPax)));
  assert.equal(out.map((x) => x.name), [
    "bin/", "bin/busybox", "bin/sh", "etc/", "etc/.wh.removed", "etc/hosts", "etc/localtime", "etc/old", LONG, `${LONG}.pax`, "var/.wh..wh..opq",
  ]);
  const byName = new Map(out.map((x) => [x.name, x]));
  assert.equal(
    (({ uid, gid, uname, gname, mode, content }) => ({ uid, gid, uname, gname, mode, content }))(byName.get("etc/hosts")!),
    { uid: 1000, gid: 1001, uname: "app", gname: "staff", mode: 0o644, content: "127.0.0.1 localhost\n" },
  );
  assert.equal([byName.get("bin/sh")!.type, byName.get("bin/sh")!.linkname], ["1", "bin/busybox"]);
  assert.equal([byName.get("etc/localtime")!.type, byName.get("etc/localtime")!.linkname], ["2", "/usr/share/zoneinfo/UTC"]);
  assert.is(byName.get(LONG)!.content, "long");
  assert.is(byName.get(`${LONG}.pax`)!.content, "long pax");
  assert.ok(out.every((x) => x.checksumOk), "every header's checksum is right");
});

test("a hard link to a file later in the name order comes right after that file", async () => {
  const out = readTar(await normalise(tar(file("a/link", "", { type: "1", linkname: "z/target" }), file("m/other", "m"), file("z/target", "t"))));
  assert.equal(out.map((x) => x.name), ["m/other", "z/target", "a/link"]);
});

test("times after the epoch are clamped, earlier ones kept; PAX atime/ctime/creationtime dropped, PAX mtime clamped, other records kept", async () => {
  const e = entries;
  const out = readTar(await normalise(tar(e.hosts, e.old, e.paxed, e.paxOnlyTimes, e.gnuTimes)));
  const byName = new Map(out.map((x) => [x.name, x]));
  assert.is(byName.get("etc/hosts")!.mtime, EPOCH);
  assert.is(byName.get("etc/old")!.mtime, 1_000, "a time before the epoch stays");
  assert.equal(byName.get("etc/xattr")!.pax, [["mtime", String(EPOCH)], ["SCHILY.xattr.user.k", "v"]]);
  assert.equal(byName.get("etc/plain")!.pax, [], "a PAX header left empty is dropped");
  assert.equal(byName.get("etc/gnu")!.gnu, [EPOCH, EPOCH], "GNU atime and ctime clamped");
  assert.ok(out.every((x) => x.checksumOk));
});

test("the same files in any order, at any time after the epoch, give the same bytes; the tar ends in two zero blocks", async () => {
  const e = entries;
  const a = await normalise(tar(e.etc, e.hosts, e.hardlink, e.busybox, e.bin, e.paxed, e.longGnu, e.whiteout));
  const b = await normalise(tar(
    e.whiteout, e.longGnu, file("bin/busybox", "ELF", { mode: 0o755, mtime: LATE + 99 }), e.bin,
    Buffer.concat([pax([["mtime", "1796199999.5"], ["SCHILY.xattr.user.k", "v"], ["atime", "1"]]), file("etc/xattr", "x", { mtime: LATE + 5 })]),
    e.hardlink, file("etc/hosts", "127.0.0.1 localhost\n", { mtime: LATE + 1, uid: 1000, gid: 1001, uname: "app", gname: "staff" }), e.etc,
  ));
  assert.is(createHash("sha256").update(a).digest("hex"), createHash("sha256").update(b).digest("hex"));
  assert.ok(a.subarray(-1024).every((x) => x === 0));
  assert.is(a.length % 512, 0);
});

test("epoch 0 clamps every time to 1970-01-01", async () => {
  const out = readTar(await normalise(tar(entries.hosts, entries.old), 0));
  assert.equal(out.map((x) => x.mtime), [0, 0]);
});

test("deterministic gzip: the same bytes on every runtime and however the input is split; mtime 0, no name, OS Unix", async () => {
  // 3 MiB and a bit (so the last piece is short) of varied, compressible bytes.
  const input = Buffer.alloc(3 * 1024 * 1024 + 12345);
  let x = 1;
  for (let i = 0; i < input.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    input[i] = (x >>> 24) % 40 + 48;
  }
  const gzipped = async (piece: number) => {
    const parts: Buffer[] = [];
    const pieces = function* () {
      for (let i = 0; i < input.length; i += piece) yield input.subarray(i, i + piece);
    };
    await pipeline(Readable.from(pieces()), deterministicGzip(), new Writable({ write: (c: Buffer, _e, done) => (parts.push(c), done()) }));
    return Buffer.concat(parts);
  };
  const a = await gzipped(1000);
  const b = await gzipped(1 << 20);
  assert.ok(a.equals(b), "the same bytes however the input is split");
  assert.ok(gunzipSync(a).equals(input));
  assert.equal([...a.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  // Fixed: the same on Node, Deno and Bun (this suite runs under each). Changes only with fflate's output.
  assert.is(createHash("sha256").update(a).digest("hex"), "cdbd48e3724446f49deefa94b98c780b77b40165c87f616c785d79f655a14871");
});

test("config: created and history times after the epoch clamped, diff_ids replaced, the rest as it was; written as Go writes JSON", () => {
  const config = {
    architecture: "amd64",
    config: { Labels: { "a<b": "x&y" }, Cmd: ["/bin/sh"] },
    created: "2026-12-02T06:16:18.420278086Z",
    history: [{ created: "2026-12-02T06:16:18Z", created_by: "COPY x /" }, { created: "1969-12-31T00:00:00Z", created_by: "old" }, { created_by: "no time" }],
    os: "linux",
    rootfs: { type: "layers", diff_ids: ["sha256:old"] },
  };
  const out = new TextDecoder().decode(normalisedConfig(new TextEncoder().encode(JSON.stringify(config)), ["sha256:new"], EPOCH));
  assert.is(
    out,
    '{"architecture":"amd64","config":{"Labels":{"a\\u003cb":"x\\u0026y"},"Cmd":["/bin/sh"]},"created":"2023-11-14T22:13:20Z",' +
      '"history":[{"created":"2023-11-14T22:13:20Z","created_by":"COPY x /"},{"created":"1969-12-31T00:00:00Z","created_by":"old"},{"created_by":"no time"}],' +
      '"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:new"]}}',
  );
});

test("listings for verify --rebuild: PAX and GNU long names, content hashes; differences by path and field", async () => {
  const e = entries;
  const listing = async (b: Buffer, piece: number) => tarListing((function* () {
    for (let i = 0; i < b.length; i += piece) yield b.subarray(i, i + piece);
  })());
  const before = await listing(tar(e.bin, e.busybox, e.hosts, e.longGnu, e.longPax, e.symlink, e.old), 100);
  assert.equal(before.map((f) => f.path), ["bin", "bin/busybox", "etc/hosts", LONG, `${LONG}.pax`, "etc/localtime", "etc/old"]);
  assert.equal((({ type, size, mode, uid, gid, mtime, sha256 }) => ({ type, size, mode, uid, gid, mtime, sha256 }))(before[2]!), {
    type: "0", size: 20, mode: 0o644, uid: 1000, gid: 1001, mtime: LATE, sha256: `sha256:${createHash("sha256").update("127.0.0.1 localhost\n").digest("hex")}`,
  });
  const after = await listing(tar(e.bin, file("bin/busybox", "ELF!", { mode: 0o700 }), e.hosts, e.longGnu, e.symlink, file("etc/old", "kept", { mtime: 2_000 }), file("new", "n")), 4096);
  assert.equal(compareListings(before, after), [
    { path: "bin/busybox", change: "changed", fields: ["size", "mode", "content"] },
    { path: "etc/old", change: "changed", fields: ["mtime"] },
    { path: "new", change: "added" },
    { path: `${LONG}.pax`, change: "removed" },
  ]);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
