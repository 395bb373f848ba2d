// The SBOM of an image from its own layers: a fixture image made here from tar bytes (an apk
// database, a dpkg status file with a .list, whiteouts and an opaque directory across layers, a
// symlink, hard links, a pax long name) must list exactly the files and packages of the final
// filesystem, with checksums of the bytes written, in a document that is the same bytes every time.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { z } from "zod";
import type { ImageBlobs } from "../../lib/image.ts";
import { sbomPredicate, type AttestSubject } from "../../lib/attest/sbom.ts";
import type { SpdxDocument } from "../../lib/attest/spdx.ts";
import type { CdxBom, CdxComponent } from "../../lib/attest/cyclonedx.ts";
import { provenancePredicate } from "../../lib/attest/provenance.ts";
import { PKGKIT_VERSION } from "../../lib/version.ts";
import { describedPackage } from "../../lib/attest/inventory.ts";
import { attestSubject } from "../../lib/attest/package-subject.ts";
import type { Package } from "../../lib/package.ts";

// ---- a tiny ustar writer (pax header for names over 100 bytes)
type Entry = { name: string; type?: "0" | "1" | "2" | "5"; data?: string; link?: string };
const enc = new TextEncoder();
function header(name: string, type: string, size: number, link = ""): Uint8Array {
  const h = new Uint8Array(512);
  const put = (s: string, at: number, len: number) => h.set(enc.encode(s).subarray(0, len), at);
  const oct = (n: number, at: number, len: number) => put(`${n.toString(8).padStart(len - 1, "0")}\0`, at, len);
  put(name, 0, 100);
  oct(type === "5" ? 0o755 : 0o644, 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(0, 136, 12);
  put("        ", 148, 8);
  put(type, 156, 1);
  put(link, 157, 100);
  put("ustar\u000000", 257, 8);
  const sum = h.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  return h;
}
const padded = (b: Uint8Array) => {
  const out = new Uint8Array(Math.ceil(b.length / 512) * 512);
  out.set(b);
  return out;
};
function tar(entries: Entry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = enc.encode(e.data ?? "");
    let name = e.name;
    if (enc.encode(name).length > 100) {
      const record = (len: number) => `${len} path=${e.name}\n`;
      let len = record(0).length;
      while (record(len).length !== len) len = record(len).length;
      const pax = enc.encode(record(len));
      parts.push(header("PaxHeader", "x", pax.length), padded(pax));
      name = name.slice(0, 99);
    }
    parts.push(header(name, e.type ?? "0", e.type === undefined || e.type === "0" ? data.length : 0, e.link ?? ""), padded(e.type === undefined || e.type === "0" ? data : new Uint8Array()));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

// ---- the fixture image
const APK_DB = `C:Q1abc=
P:busybox
V:1.36.1-r29
A:x86_64
o:busybox
L:GPL-2.0-only
F:bin
R:busybox
F:etc
R:securetty

P:musl-utils
V:1.2.5-r0
A:x86_64
o:musl
L:MIT BSD GPL2+
F:usr/bin
R:getent
R:ldd
`;
const DPKG_STATUS = `Package: hello
Status: install ok installed
Architecture: amd64
Version: 1:2.10-3
Description: example package
 more description

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0
`;
const LONG = `/srv/${"d".repeat(60)}/${"f".repeat(60)}.txt`;
const layer1: Entry[] = [
  { name: "bin/", type: "5" },
  { name: "bin/busybox", data: "busybox binary v1" },
  { name: "bin/sh", type: "2", link: "busybox" },
  { name: "etc/", type: "5" },
  { name: "etc/securetty", data: "console\n" },
  { name: "lib/apk/db/installed", data: APK_DB },
  { name: "usr/bin/getent", data: "getent" },
  { name: "usr/bin/ldd", data: "ldd" },
  { name: "usr/bin/hello", data: "hello world binary" },
  { name: "usr/bin/hello-link", type: "1", link: "usr/bin/hello" },
  { name: "usr/share/doc/hello/copyright", data: "GPL" },
  { name: "var/lib/dpkg/status", data: DPKG_STATUS },
  { name: "var/lib/dpkg/info/hello.list", data: "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/share/doc/hello/copyright\n" },
  { name: "var/cache/x", data: "cached" },
  { name: "opt/old/a.txt", data: "a" },
  { name: "opt/old/b.txt", data: "b" },
  { name: "tmp/gone.txt", data: "gone" },
  { name: "srv/thing/inner", data: "under a directory a file replaces" },
];
const layer2: Entry[] = [
  { name: "usr/bin/.wh.ldd" },
  { name: "opt/old/.wh..wh..opq" },
  { name: "opt/old/c.txt", data: "c" },
  { name: "tmp/.wh.gone.txt" },
  { name: "var/.wh.cache" },
  { name: "etc/securetty", data: "console\ntty1\n" },
  { name: LONG.slice(1), data: "long" },
  { name: "bin/busybox-hard", type: "1", link: "bin/busybox" },
  { name: "srv/thing", data: "now a file" },
];
/** The regular files of the final filesystem, with the bytes the layers gave them. */
const EXPECTED_FILES: Record<string, string> = {
  "/bin/busybox": "busybox binary v1",
  "/bin/busybox-hard": "busybox binary v1",
  "/etc/securetty": "console\ntty1\n",
  "/lib/apk/db/installed": APK_DB,
  "/opt/old/c.txt": "c",
  [LONG]: "long",
  "/srv/thing": "now a file",
  "/usr/bin/getent": "getent",
  "/usr/bin/hello": "hello world binary",
  "/usr/bin/hello-link": "hello world binary",
  "/usr/share/doc/hello/copyright": "GPL",
  "/var/lib/dpkg/info/hello.list": "/.\n/usr\n/usr/bin\n/usr/bin/hello\n/usr/share/doc/hello/copyright\n",
  "/var/lib/dpkg/status": DPKG_STATUS,
};
const hex = (alg: string, s: string) => createHash(alg).update(s).digest("hex");

const dir = mkdtempSync(join(tmpdir(), "pkgkit-sbom-"));
const gz = gzipSync(tar(layer1));
const raw = tar(layer2);
writeFileSync(join(dir, "layer-1.tar"), raw);
const blob = (b: Uint8Array) => ({ digest: `sha256:${createHash("sha256").update(b).digest("hex")}`, size: b.length });
const image: ImageBlobs = {
  config: { ...blob(enc.encode("{}")), data: enc.encode("{}") },
  // Layer 0 is gzip bytes in memory, layer 1 an uncompressed tar on disk: both forms ImageBlobs carries.
  layers: [{ ...blob(gz), data: gz }, { ...blob(raw), data: { path: join(dir, "layer-1.tar") } }],
  platform: { os: "linux", architecture: "amd64" },
  manifest: { mediaType: "application/vnd.oci.image.manifest.v1+json", bytes: new Uint8Array(), digest: `sha256:${"ab".repeat(32)}`, size: 0 },
};
const TREE = "0123456789abcdef0123456789abcdef01234567";
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
const subject: AttestSubject = {
  name: "localhost:5000/org/image", digest: `sha256:${"ab".repeat(32)}`, arch: "amd64",
  source: { dir: "pkg/image", tree: TREE, gitrepo: "https://user:secret@example.com/org/repo.git", commit: COMMIT },
};

// ---- the SPDX 2.3 fields pkgkit emits, checked strictly (an unknown or misspelt field fails)
const spdxId = z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/);
const checksum = z.strictObject({ algorithm: z.enum(["SHA1", "SHA256"]), checksumValue: z.string().regex(/^[0-9a-f]+$/) });
const SpdxSchema = z.strictObject({
  spdxVersion: z.literal("SPDX-2.3"),
  dataLicense: z.literal("CC0-1.0"),
  SPDXID: z.literal("SPDXRef-DOCUMENT"),
  name: z.string().min(1),
  documentNamespace: z.url(),
  creationInfo: z.strictObject({ created: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), creators: z.array(z.string().regex(/^(Tool|Organization|Person): .+/)).min(1) }),
  packages: z.array(z.strictObject({
    name: z.string().min(1), SPDXID: spdxId, versionInfo: z.string().min(1),
    downloadLocation: z.union([z.literal("NOASSERTION"), z.string().regex(/^git\+(https?|ssh|git):\/\/\S+$/)]),
    filesAnalyzed: z.literal(false), licenseConcluded: z.literal("NOASSERTION"), licenseDeclared: z.string().min(1),
    licenseComments: z.string().optional(), sourceInfo: z.string().optional(),
    checksums: z.array(checksum).optional(), primaryPackagePurpose: z.literal("CONTAINER").optional(),
    externalRefs: z.array(z.strictObject({
      referenceCategory: z.enum(["PACKAGE-MANAGER", "PERSISTENT-ID"]), referenceType: z.enum(["purl", "gitoid"]),
      referenceLocator: z.string().regex(/^(pkg:[a-z]+\/\S+|gitoid:(tree|commit):sha1:[0-9a-f]{40})$/),
    })),
  })),
  files: z.array(z.strictObject({
    fileName: z.string().startsWith("/"), SPDXID: spdxId, licenseConcluded: z.literal("NOASSERTION"),
    // SPDX 2.3 (8.4): every file has a SHA1 checksum.
    checksums: z.array(checksum).refine((cs) => cs.some((c) => c.algorithm === "SHA1" && c.checksumValue.length === 40), "a SHA1 checksum"),
  })),
  relationships: z.array(z.strictObject({ spdxElementId: spdxId, relationshipType: z.enum(["DESCRIBES", "CONTAINS"]), relatedSpdxElement: spdxId })),
});

// ---- the CycloneDX 1.6 fields pkgkit emits, checked strictly as well
const hash = z.strictObject({ alg: z.enum(["SHA-1", "SHA-256"]), content: z.string().regex(/^([a-f0-9]{40}|[a-f0-9]{64})$/) });
const property = z.strictObject({ name: z.string().min(1), value: z.string() });
const ComponentSchema: z.ZodType<CdxComponent> = z.lazy(() => z.strictObject({
  type: z.enum(["container", "library", "file"]), "bom-ref": z.string().min(1), name: z.string().min(1),
  version: z.string().optional(), purl: z.string().startsWith("pkg:").optional(), hashes: z.array(hash).optional(),
  licenses: z.array(z.union([z.strictObject({ expression: z.string() }), z.strictObject({ license: z.strictObject({ name: z.string() }) })])).length(1).optional(),
  externalReferences: z.array(z.strictObject({ type: z.literal("vcs"), url: z.string().min(1) })).optional(),
  properties: z.array(property).optional(),
  components: z.array(ComponentSchema).optional(),
}));
const CdxSchema = z.strictObject({
  bomFormat: z.literal("CycloneDX"), specVersion: z.literal("1.6"),
  serialNumber: z.string().regex(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), version: z.literal(1),
  metadata: z.strictObject({
    timestamp: z.iso.datetime(),
    tools: z.strictObject({ components: z.array(z.strictObject({ type: z.literal("application"), name: z.string(), version: z.string() })) }),
    component: ComponentSchema,
  }),
  components: z.array(ComponentSchema),
});

const spdx = (await sbomPredicate(image, subject, "spdx")) as { predicateType: string; predicate: SpdxDocument };

test("SPDX: the predicate type is cosign's spdxjson one and the document has the SPDX 2.3 shape, its ids unique and every relationship resolving", () => {
  assert.is(spdx.predicateType, "https://spdx.dev/Document");
  const parsed = SpdxSchema.safeParse(spdx.predicate);
  assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3)));
  const ids = ["SPDXRef-DOCUMENT", ...spdx.predicate.packages.map((p) => p.SPDXID), ...spdx.predicate.files.map((f) => f.SPDXID)];
  assert.is(new Set(ids).size, ids.length, "SPDXIDs are unique");
  const dangling = spdx.predicate.relationships.filter((r) => !ids.includes(r.spdxElementId) || !ids.includes(r.relatedSpdxElement));
  assert.equal(dangling, []);
});

test("SPDX: exactly the regular files of the final filesystem (whiteouts, opaque dir, a file replacing a directory, hard links applied; no symlink), with SHA-1 and SHA-256 of their bytes", () => {
  const listed = Object.fromEntries(spdx.predicate.files.map((f) => [f.fileName, f.checksums.map((c) => `${c.algorithm}:${c.checksumValue}`)]));
  const expected = Object.fromEntries(Object.entries(EXPECTED_FILES).sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, data]) => [p, [`SHA1:${hex("sha1", data)}`, `SHA256:${hex("sha256", data)}`]]));
  assert.equal(listed, expected);
});

test("SPDX: the installed apk and dpkg packages, with versions and purls; a deinstalled dpkg entry is not one", () => {
  const pkgs = spdx.predicate.packages.slice(1).map((p) => [p.name, p.versionInfo, p.externalRefs[0]!.referenceLocator, p.licenseDeclared]);
  assert.equal(pkgs, [
    ["busybox", "1.36.1-r29", "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64", "GPL-2.0-only"],
    ["musl-utils", "1.2.5-r0", "pkg:apk/alpine/musl-utils@1.2.5-r0?arch=x86_64&upstream=musl", "NOASSERTION"],
    ["hello", "1:2.10-3", "pkg:deb/debian/hello@1%3A2.10-3?arch=amd64", "NOASSERTION"],
  ]);
  assert.is(spdx.predicate.packages[2]!.licenseComments, "apk database license: MIT BSD GPL2+");
  assert.is(spdx.predicate.packages[1]!.sourceInfo, "from the apk database /lib/apk/db/installed, package checksum C:Q1abc=");
});

test("SPDX: the image CONTAINS every package and file; each package CONTAINS the files it installed that are still there", () => {
  const doc = spdx.predicate;
  const name = new Map<string, string>([...doc.packages.map((p) => [p.SPDXID, p.name] as const), ...doc.files.map((f) => [f.SPDXID, f.fileName] as const)]);
  const contains = (from: string) => doc.relationships.filter((r) => r.spdxElementId === from && r.relationshipType === "CONTAINS").map((r) => name.get(r.relatedSpdxElement)).sort();
  const image = doc.packages[0]!.SPDXID;
  assert.equal(doc.relationships[0], { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: image });
  assert.equal(contains(image), [...Object.keys(EXPECTED_FILES), "busybox", "hello", "musl-utils"].sort());
  const byName = (n: string) => doc.packages.find((p) => p.name === n)!.SPDXID;
  assert.equal(contains(byName("busybox")), ["/bin/busybox", "/etc/securetty"]);
  assert.equal(contains(byName("musl-utils")), ["/usr/bin/getent"], "ldd was whited out");
  assert.equal(contains(byName("hello")), ["/usr/bin/hello", "/usr/share/doc/hello/copyright"]);
});

test("SPDX: the described package is the pkgkit package: image name, tag hash, git source without credentials, tree and commit ids", () => {
  const p = spdx.predicate.packages[0]!;
  assert.is(p.name, "localhost:5000/org/image");
  assert.is(p.versionInfo, TREE);
  assert.is(p.downloadLocation, `git+https://example.com/org/repo.git@${COMMIT}#pkg/image`);
  assert.not.match(JSON.stringify(spdx.predicate), "secret");
  assert.equal(p.externalRefs.map((r) => r.referenceLocator), [
    `pkg:oci/image@sha256%3A${"ab".repeat(32)}?arch=amd64&repository_url=localhost%3A5000/org/image`,
    `gitoid:tree:sha1:${TREE}`, `gitoid:commit:sha1:${COMMIT}`,
  ]);
  assert.equal(p.checksums, [{ algorithm: "SHA256", checksumValue: "ab".repeat(32) }]);
});

test("SPDX: the same image gives the same bytes; the namespace follows the digest, the creation time SOURCE_DATE_EPOCH (default 1970)", async () => {
  const again = await sbomPredicate(image, subject, "spdx");
  assert.is(JSON.stringify(again), JSON.stringify(spdx));
  assert.is(spdx.predicate.creationInfo.created, "1970-01-01T00:00:00Z");
  const dated = (await sbomPredicate(image, subject, "spdx", { sourceDateEpoch: 1700000000 })).predicate as SpdxDocument;
  assert.is(dated.creationInfo.created, "2023-11-14T22:13:20Z");
  const other = (await sbomPredicate(image, { ...subject, digest: `sha256:${"cd".repeat(32)}` }, "spdx")).predicate as SpdxDocument;
  assert.is.not(other.documentNamespace, spdx.predicate.documentNamespace);
  assert.ok(spdx.predicate.documentNamespace.endsWith("ab".repeat(32)));
});

// The same document on Node, Deno and Bun (this suite runs under each): pinned by its digest, with
// pkgkit's version left out so a release does not move it. Change it when the format changes on purpose.
const SPDX_DIGEST = "sha256:b7787f3ebfb19d51fd1cf3d37dbcf3f5ed8b7b7a26bd260371a6b96088f8048a";
const CYCLONEDX_DIGEST = "sha256:8224e26a49c840d660cca31d51af9157815688700cdcb0341a50f6d5f18cd464";

test("the documents are the same bytes under every runtime (pinned digests)", async () => {
  const digestOf = (doc: unknown) => `sha256:${hex("sha256", JSON.stringify(doc).replaceAll(`pkgkit-${PKGKIT_VERSION}`, "pkgkit-VERSION").replaceAll(`"version":"${PKGKIT_VERSION}"`, '"version":"VERSION"'))}`;
  assert.is(digestOf(spdx.predicate), SPDX_DIGEST);
  assert.is(digestOf((await sbomPredicate(image, subject, "cyclonedx")).predicate), CYCLONEDX_DIGEST);
});

test("layers read where the engine exported them (uncompressed, at offsets in one archive file): the same bytes, and the pushed gzip blobs not read", async () => {
  // As in a `docker save` archive: each layer tar after some other bytes, in one file.
  const tars = [tar(layer1), tar(layer2)];
  const archive = join(dir, "image.tar");
  const lead = new Uint8Array(1536).fill(7);
  writeFileSync(archive, Buffer.concat([lead, tars[0]!, lead, tars[1]!, lead]));
  const exportedLayers = [
    { file: archive, offset: lead.length, size: tars[0]!.length },
    { file: archive, offset: 2 * lead.length + tars[0]!.length, size: tars[1]!.length },
  ];
  const notGzip = new Uint8Array([0x1f, 0x8b, 1, 2, 3]);
  const exported = { ...image, layers: image.layers.map((l) => ({ ...l, data: notGzip })), exportedLayers };
  assert.is(JSON.stringify(await sbomPredicate(exported, subject, "spdx")), JSON.stringify(spdx));
  const truncated = { ...exported, exportedLayers: [exportedLayers[0]!, { ...exportedLayers[1]!, size: exportedLayers[1]!.size + 4096 }] };
  try {
    await sbomPredicate(truncated, subject, "spdx");
    assert.unreachable("a layer past the end of the archive was read");
  } catch (err) {
    assert.match((err as Error).message, `${archive} ends inside the layer at offset ${exportedLayers[1]!.offset}`);
  }
});

test("os-release names the distribution of the purls; listed paths follow symlinked directories (merged /usr); an unreadable layer is an error naming the image and layer", async () => {
  const osLayer = gzipSync(tar([
    { name: "etc/os-release", type: "2", link: "../usr/lib/os-release" },
    { name: "usr/lib/os-release", data: 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\n' },
    { name: "var/lib/dpkg/status", data: "Package: bash\nStatus: install ok installed\nArchitecture: arm64\nVersion: 5.2.21-2ubuntu4\n" },
    // Merged /usr: dpkg lists /bin/bash, the file is /usr/bin/bash; /bin/rbash is a symlink bash lists too.
    { name: "bin", type: "2", link: "usr/bin" },
    { name: "usr/bin/bash", data: "bash" },
    { name: "usr/bin/rbash", type: "2", link: "bash" },
    { name: "var/lib/dpkg/info/bash.list", data: "/bin\n/bin/bash\n/bin/rbash\n" },
  ]));
  const ubuntu = { ...image, layers: [{ ...blob(osLayer), data: osLayer }] };
  const doc = (await sbomPredicate(ubuntu, subject, "spdx")).predicate as SpdxDocument;
  assert.is(doc.packages[1]!.externalRefs[0]!.referenceLocator, "pkg:deb/ubuntu/bash@5.2.21-2ubuntu4?arch=arm64&distro=ubuntu-24.04");
  const bashFiles = doc.relationships.filter((r) => r.spdxElementId === doc.packages[1]!.SPDXID).map((r) => doc.files.find((f) => f.SPDXID === r.relatedSpdxElement)?.fileName);
  assert.equal(bashFiles, ["/usr/bin/bash"]);
  const broken = new Uint8Array([0x1f, 0x8b, 1, 2, 3]);
  try {
    await sbomPredicate({ ...image, layers: [{ ...blob(broken), data: broken }] }, subject, "spdx");
    assert.unreachable("a corrupt layer was read");
  } catch (err) {
    assert.match((err as Error).message, `localhost:5000/org/image@sha256:${"ab".repeat(32)}: layer ${blob(broken).digest} is not valid gzip`);
  }
});

test("distroless's dpkg status.d: one package a file, installed without a Status field, its files from <name>.md5sums", async () => {
  const layer = gzipSync(tar([
    { name: "var/lib/dpkg/status.d/base-files", data: "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\nSource: base-files\n" },
    { name: "var/lib/dpkg/status.d/base-files.md5sums", data: "d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n" },
    { name: "var/lib/dpkg/status.d/tzdata", data: "Package: tzdata\nStatus: deinstall ok config-files\nVersion: 2024a-0\nArchitecture: all\n" },
    { name: "var/lib/dpkg/status.d/netbase", data: "Package: netbase\nVersion: 6.4\nArchitecture: all\nSource: netbase-src (1.0)\n" },
    { name: "etc/debian_version", data: "12.5\n" },
  ]));
  const doc = (await sbomPredicate({ ...image, layers: [{ ...blob(layer), data: layer }] }, subject, "spdx")).predicate as SpdxDocument;
  assert.equal(doc.packages.slice(1).map((p) => p.externalRefs[0]!.referenceLocator), [
    "pkg:deb/debian/base-files@12.4+deb12u5?arch=amd64",
    "pkg:deb/debian/netbase@6.4?arch=all&upstream=netbase-src",
  ]);
  const owner = doc.relationships.find((r) => r.relatedSpdxElement === doc.files.find((f) => f.fileName === "/etc/debian_version")!.SPDXID && r.spdxElementId !== doc.packages[0]!.SPDXID);
  assert.is(owner?.spdxElementId, doc.packages[1]!.SPDXID);
});

test("CycloneDX 1.6: the same files and packages, files nested under the package that owns them, a deterministic serial number", async () => {
  const { predicateType, predicate } = (await sbomPredicate(image, subject, "cyclonedx")) as { predicateType: string; predicate: CdxBom };
  assert.is(predicateType, "https://cyclonedx.org/bom");
  const parsed = CdxSchema.safeParse(predicate);
  assert.ok(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues.slice(0, 3)));
  assert.match(predicate.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is(JSON.stringify((await sbomPredicate(image, subject, "cyclonedx")).predicate), JSON.stringify(predicate));
  assert.is(predicate.metadata.component.name, "localhost:5000/org/image");
  assert.is(predicate.metadata.component.version, TREE);
  const all: CdxComponent[] = [];
  const walk = (cs: CdxComponent[] = []) => cs.forEach((c) => (all.push(c), walk(c.components)));
  walk(predicate.components);
  const refs = all.map((c) => c["bom-ref"]);
  assert.is(new Set(refs).size, refs.length, "bom-refs are unique");
  const files = Object.fromEntries(all.filter((c) => c.type === "file").map((c) => [c.name, c.hashes!.map((h) => `${h.alg}:${h.content}`)]));
  assert.equal(files, Object.fromEntries(Object.entries(EXPECTED_FILES).map(([p, d]) => [p, [`SHA-1:${hex("sha1", d)}`, `SHA-256:${hex("sha256", d)}`]])));
  const libs = predicate.components.filter((c) => c.type === "library");
  assert.equal(libs.map((c) => [c.purl, (c.components ?? []).map((f) => f.name)]), [
    ["pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64", ["/bin/busybox", "/etc/securetty"]],
    ["pkg:apk/alpine/musl-utils@1.2.5-r0?arch=x86_64&upstream=musl", ["/usr/bin/getent"]],
    ["pkg:deb/debian/hello@1%3A2.10-3?arch=amd64", ["/usr/bin/hello", "/usr/share/doc/hello/copyright"]],
  ]);
});

test("SLSA v1 provenance: buildType, external parameters, the git source and base images as resolved dependencies, run details", () => {
  const { predicateType, predicate } = provenancePredicate({
    subject, tag: `${TREE}-amd64`, buildArgs: { Z: "1", A: "2" }, builder: { id: "https://pkgkit.dev/builder/buildx", kind: "buildx" },
    baseImages: [{ ref: "docker.io/library/busybox:1.36", digest: `sha256:${"ef".repeat(32)}` }],
    startedOn: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), finishedOn: new Date(Date.UTC(2026, 0, 2, 3, 5, 0)), invocationId: "run-1",
  });
  assert.is(predicateType, "https://slsa.dev/provenance/v1");
  const p = predicate as { buildDefinition: Record<string, any>; runDetails: Record<string, any> };
  assert.is(p.buildDefinition.buildType, "https://pkgkit.dev/build/v1");
  assert.equal(p.buildDefinition.externalParameters, { package: "pkg/image", tag: `${TREE}-amd64`, arch: "amd64", buildArgs: { A: "2", Z: "1" }, builder: { kind: "buildx" } });
  assert.equal(Object.keys(p.buildDefinition.externalParameters.buildArgs), ["A", "Z"], "build args in a stable order");
  assert.equal(p.buildDefinition.resolvedDependencies, [
    { uri: `git+https://example.com/org/repo.git@${COMMIT}#pkg/image`, digest: { gitCommit: COMMIT, gitTree: TREE }, name: "pkg/image", annotations: { "pkgkit.dev/tag-hash": TREE } },
    { uri: "pkg:docker/docker.io/library/busybox@1.36?platform=linux/amd64", digest: { sha256: "ef".repeat(32) }, name: "docker.io/library/busybox:1.36" },
  ]);
  assert.equal(p.runDetails.metadata, { invocationId: "run-1", startedOn: "2026-01-02T03:04:05Z", finishedOn: "2026-01-02T03:05:00Z" });
  assert.is(p.runDetails.builder.id, "https://pkgkit.dev/builder/buildx");
});

test("the git source as a download location: https without credentials, ssh and scp-like remotes, a local path is none", () => {
  const at = (gitrepo?: string, dir = "pkg/x", commit?: string) => describedPackage({ ...subject, source: { dir, tree: TREE, ...(gitrepo ? { gitrepo } : {}), ...(commit ? { commit } : {}) } }).downloadLocation;
  assert.is(at("https://tok:x-oauth@github.com/o/r.git", "pkg/x", COMMIT), `git+https://github.com/o/r.git@${COMMIT}#pkg/x`);
  assert.is(at("git@github.com:o/r.git"), "git+ssh://git@github.com/o/r.git#pkg/x");
  assert.is(at("ssh://git@host:2222/o/r.git", "."), "git+ssh://git@host:2222/o/r.git");
  assert.is(at("git+https://example.com/r"), "git+https://example.com/r#pkg/x");
  assert.is(at("/home/me/repo"), undefined);
  assert.is(at("https://example.com/r", ".github/pkg"), "git+https://example.com/r#.github/pkg");
  assert.is(at(undefined), undefined);
});

test("attestSubject: the directory relative to the git work tree, the tag's hash, the remote; no commit for a dirty package", () => {
  const top = mkdtempSync(join(tmpdir(), "pkgkit-subject-"));
  mkdirSync(join(top, ".git"));
  mkdirSync(join(top, "pkg/app"), { recursive: true });
  const pkg = { dir: join(top, "pkg/app"), repository: "r.example/org/app", hash: TREE, commit: COMMIT, dirty: false, labels: { "org.opencontainers.image.source": "https://example.com/r.git" } } as unknown as Package;
  assert.equal(attestSubject(pkg, "arm64", subject.digest), {
    name: "r.example/org/app", digest: subject.digest, arch: "arm64",
    source: { dir: "pkg/app", tree: TREE, gitrepo: "https://example.com/r.git", commit: COMMIT },
  });
  assert.equal(attestSubject({ ...pkg, dirty: true } as Package, "arm64", subject.digest).source, { dir: "pkg/app", tree: TREE, gitrepo: "https://example.com/r.git" });
  assert.is(attestSubject({ ...pkg, dir: top } as Package, "arm64", subject.digest).source.dir, ".");
});

test("provenance without a git remote or commit, and base images named with a registry port and a digest", () => {
  const { predicate } = provenancePredicate({
    subject: { ...subject, arch: "arm64", source: { dir: "pkg/image", tree: "not-a-tree-id" } }, tag: "t", buildArgs: {},
    builder: { id: "b", kind: "legacy", engine: "ssh://user@arm-host" },
    baseImages: [{ ref: `localhost:5000/org/base:1.0@sha256:${"cd".repeat(32)}`, digest: `sha256:${"cd".repeat(32)}` }, { ref: "alpine", digest: `sha256:${"ef".repeat(32)}` }],
    startedOn: new Date(0), finishedOn: new Date(0),
  });
  const p = predicate as { buildDefinition: { externalParameters: { builder: unknown }; resolvedDependencies: unknown[] }; runDetails: { metadata: Record<string, string> } };
  assert.equal(p.buildDefinition.resolvedDependencies, [
    { uri: "pkgkit:package/pkg/image", name: "pkg/image", annotations: { "pkgkit.dev/tag-hash": "not-a-tree-id" } },
    { uri: "pkg:docker/localhost%3A5000/org/base@1.0?platform=linux/arm64", digest: { sha256: "cd".repeat(32) }, name: `localhost:5000/org/base:1.0@sha256:${"cd".repeat(32)}` },
    { uri: "pkg:docker/alpine@latest?platform=linux/arm64", digest: { sha256: "ef".repeat(32) }, name: "alpine" },
  ]);
  assert.equal(p.buildDefinition.externalParameters.builder, { kind: "legacy", engine: "ssh://user@arm-host" });
  assert.equal(p.runDetails.metadata, { startedOn: "1970-01-01T00:00:00Z", finishedOn: "1970-01-01T00:00:00Z" });
});

test.run();
