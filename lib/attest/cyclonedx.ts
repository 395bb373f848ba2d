/**
 * An image's SBOM as a CycloneDX 1.6 JSON document. Containment is nesting: the image is
 * `metadata.component`; its packages are the top-level components, each holding the files it
 * owns; files no package owns are top-level too. Deterministic like the SPDX document: the serial
 * number is a name-based UUID of the image digest, the timestamp SOURCE_DATE_EPOCH's.
 */
import { nodeCrypto } from "../node-crypto.ts";
import { PKGKIT_VERSION } from "../version.ts";
import type { DescribedPackage, ImageFile, ImageInventory, InventoryPackage } from "./inventory.ts";
import { LICENSE_EXPRESSION, spdxNamespace, spdxTimestamp } from "./spdx.ts";

interface CdxHash { alg: "SHA-1" | "SHA-256"; content: string }
interface CdxProperty { name: string; value: string }

/** A CycloneDX 1.6 component, with the fields pkgkit writes. */
export interface CdxComponent {
  type: "container" | "library" | "file";
  "bom-ref": string;
  name: string;
  version?: string;
  purl?: string;
  hashes?: CdxHash[];
  licenses?: ({ expression: string } | { license: { name: string } })[];
  externalReferences?: { type: "vcs"; url: string }[];
  properties?: CdxProperty[];
  components?: CdxComponent[];
}

/** The CycloneDX 1.6 JSON document pkgkit writes for an image. */
export interface CdxBom {
  bomFormat: "CycloneDX";
  specVersion: "1.6";
  serialNumber: string;
  version: 1;
  metadata: { timestamp: string; tools: { components: { type: "application"; name: string; version: string }[] }; component: CdxComponent };
  components: CdxComponent[];
}

/** RFC 4122 name-based UUID (version 5, SHA-1) of `name` in the URL namespace. */
function uuidV5Url(name: string): string {
  const namespace = Uint8Array.from("6ba7b8119dad11d180b400c04fd430c8".match(/../g)!, (b) => parseInt(b, 16));
  const h = nodeCrypto().createHash("sha1").update(namespace).update(name).digest("hex").slice(0, 32);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const x = `${h.slice(0, 12)}5${h.slice(13, 16)}${variant}${h.slice(17)}`;
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const fileComponent = (f: ImageFile): CdxComponent => ({
  type: "file", "bom-ref": `file:${f.path}`, name: f.path,
  hashes: [{ alg: "SHA-1", content: f.sha1 }, { alg: "SHA-256", content: f.sha256 }],
});

function packageComponent(p: InventoryPackage, owned: ImageFile[]): CdxComponent {
  return {
    type: "library", "bom-ref": p.purl, name: p.name, version: p.version, purl: p.purl,
    ...(p.license ? { licenses: [LICENSE_EXPRESSION.test(p.license) ? { expression: p.license } : { license: { name: p.license } }] } : {}),
    properties: [{ name: "pkgkit:package-manager", value: p.manager }, ...(p.apkChecksum ? [{ name: "pkgkit:apk:checksum", value: p.apkChecksum }] : [])],
    ...(owned.length ? { components: owned.map(fileComponent) } : {}),
  };
}

/** The CycloneDX 1.6 BOM of an image. A file two packages list is nested under the first of them only (a bom-ref is unique). */
export function cyclonedxBom(inventory: ImageInventory, described: DescribedPackage, created: Date): CdxBom {
  const byPath = new Map(inventory.files.map((f) => [f.path, f]));
  const placed = new Set<string>();
  const packages = inventory.packages.map((p) => {
    const owned = p.ownedFiles.filter((f) => !placed.has(f)).map((f) => byPath.get(f)!);
    owned.forEach((f) => placed.add(f.path));
    return packageComponent(p, owned);
  });
  const image: CdxComponent = {
    type: "container", "bom-ref": described.purl, name: described.name, version: described.version, purl: described.purl,
    hashes: [{ alg: "SHA-256", content: described.digest.replace(/^sha256:/, "") }],
    ...(described.downloadLocation ? { externalReferences: [{ type: "vcs" as const, url: described.downloadLocation }] } : {}),
    properties: [
      { name: "pkgkit:source:dir", value: described.dir },
      { name: "pkgkit:source:tree", value: described.tree },
      ...(described.commit ? [{ name: "pkgkit:source:commit", value: described.commit }] : []),
      { name: "pkgkit:arch", value: described.arch },
    ],
  };
  return {
    bomFormat: "CycloneDX", specVersion: "1.6", serialNumber: `urn:uuid:${uuidV5Url(spdxNamespace(described))}`, version: 1,
    metadata: { timestamp: spdxTimestamp(created), tools: { components: [{ type: "application", name: "pkgkit", version: PKGKIT_VERSION }] }, component: image },
    components: [...packages, ...inventory.files.filter((f) => !placed.has(f.path)).map(fileComponent)],
  };
}
