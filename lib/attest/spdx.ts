/**
 * An image's SBOM as an SPDX 2.3 JSON document. The same inventory gives the same bytes: every list
 * is sorted, identifiers come from paths and package URLs, the namespace from the image digest and
 * the creation time from SOURCE_DATE_EPOCH.
 */
import { nodeCrypto } from "../node-crypto.ts";
import { PKGKIT_VERSION } from "../version.ts";
import type { DescribedPackage, ImageInventory, InventoryPackage } from "./inventory.ts";

interface SpdxChecksum { algorithm: "SHA1" | "SHA256"; checksumValue: string }
interface SpdxExternalRef { referenceCategory: "PACKAGE-MANAGER" | "PERSISTENT-ID"; referenceType: string; referenceLocator: string }

/** An SPDX 2.3 package, with the fields pkgkit writes. */
export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: "NOASSERTION";
  licenseDeclared: string;
  licenseComments?: string;
  sourceInfo?: string;
  checksums?: SpdxChecksum[];
  primaryPackagePurpose?: "CONTAINER";
  externalRefs: SpdxExternalRef[];
}

/** An SPDX 2.3 file, with the fields pkgkit writes. */
export interface SpdxFile {
  fileName: string;
  SPDXID: string;
  checksums: SpdxChecksum[];
  licenseConcluded: "NOASSERTION";
}

/** An SPDX 2.3 relationship, with the types pkgkit writes. */
export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: "DESCRIBES" | "CONTAINS";
  relatedSpdxElement: string;
}

/** The SPDX 2.3 JSON document pkgkit writes for an image. */
export interface SpdxDocument {
  spdxVersion: "SPDX-2.3";
  dataLicense: "CC0-1.0";
  SPDXID: "SPDXRef-DOCUMENT";
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  packages: SpdxPackage[];
  files: SpdxFile[];
  relationships: SpdxRelationship[];
}

const shortHash = (text: string) => nodeCrypto().createHash("sha256").update(text).digest("hex").slice(0, 8);
/** `SPDXRef-<kind>-<readable part>-<8 hex of the key>`: readable, and unique because the key is (a path, a purl). */
const spdxId = (kind: string, readable: string, key: string) => `SPDXRef-${kind}-${readable.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/^-|-$/g, "")}-${shortHash(key)}`;

/** An SPDX license expression as apk writes them (`MIT`, `GPL-2.0-only OR MIT`); anything else is kept as a comment. */
export const LICENSE_EXPRESSION = /^\(?[A-Za-z0-9.+-]+\)?(?: (?:AND|OR|WITH) \(?[A-Za-z0-9.+-]+\)?)*$/;

/** SPDX's timestamp form, `YYYY-MM-DDThh:mm:ssZ`. */
export const spdxTimestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

/** The document namespace: a URI unique to the image (its digest), so the same image gives the same document. */
export const spdxNamespace = (described: DescribedPackage) =>
  `https://pkgkit.dev/spdx/${encodeURIComponent(described.name)}/${described.arch}/${described.digest.replace(/^sha256:/, "")}`;

function describedSpdxPackage(d: DescribedPackage): SpdxPackage {
  const refs: SpdxExternalRef[] = [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: d.purl }];
  // A git tree or commit id is a gitoid, one of SPDX 2.3's persistent identifiers (Annex F).
  if (/^[0-9a-f]{40}$/.test(d.tree)) refs.push({ referenceCategory: "PERSISTENT-ID", referenceType: "gitoid", referenceLocator: `gitoid:tree:sha1:${d.tree}` });
  if (d.commit && /^[0-9a-f]{40}$/.test(d.commit)) refs.push({ referenceCategory: "PERSISTENT-ID", referenceType: "gitoid", referenceLocator: `gitoid:commit:sha1:${d.commit}` });
  return {
    name: d.name, SPDXID: "SPDXRef-Package-image", versionInfo: d.version, downloadLocation: d.downloadLocation ?? "NOASSERTION",
    filesAnalyzed: false, licenseConcluded: "NOASSERTION", licenseDeclared: "NOASSERTION",
    sourceInfo: `pkgkit package ${d.dir}, tag hash ${d.tree}${d.commit ? `, commit ${d.commit}` : ""}`,
    checksums: [{ algorithm: "SHA256", checksumValue: d.digest.replace(/^sha256:/, "") }],
    primaryPackagePurpose: "CONTAINER", externalRefs: refs,
  };
}

function osSpdxPackage(p: InventoryPackage, id: string): SpdxPackage {
  const expression = p.license && LICENSE_EXPRESSION.test(p.license);
  return {
    name: p.name, SPDXID: id, versionInfo: p.version, downloadLocation: "NOASSERTION", filesAnalyzed: false, licenseConcluded: "NOASSERTION",
    licenseDeclared: expression ? p.license! : "NOASSERTION",
    ...(p.license && !expression ? { licenseComments: `${p.manager} database license: ${p.license}` } : {}),
    sourceInfo: p.manager === "apk" ? `from the apk database /lib/apk/db/installed${p.apkChecksum ? `, package checksum C:${p.apkChecksum}` : ""}` : "from the dpkg database /var/lib/dpkg",
    externalRefs: [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: p.purl }],
  };
}

/** The SPDX 2.3 document of an image: the described package contains the OS packages and every file; each package contains its files. */
export function spdxDocument(inventory: ImageInventory, described: DescribedPackage, created: Date): SpdxDocument {
  const image = describedSpdxPackage(described);
  const fileIds = new Map(inventory.files.map((f) => [f.path, spdxId("File", f.path, f.path)]));
  const files: SpdxFile[] = inventory.files.map((f) => ({
    fileName: f.path, SPDXID: fileIds.get(f.path)!,
    checksums: [{ algorithm: "SHA1", checksumValue: f.sha1 }, { algorithm: "SHA256", checksumValue: f.sha256 }],
    licenseConcluded: "NOASSERTION",
  }));
  const packages = inventory.packages.map((p) => osSpdxPackage(p, spdxId("Package", `${p.manager}-${p.name}`, p.purl)));
  const contains = (from: string, to: string): SpdxRelationship => ({ spdxElementId: from, relationshipType: "CONTAINS", relatedSpdxElement: to });
  const relationships: SpdxRelationship[] = [
    ...packages.map((p) => contains(image.SPDXID, p.SPDXID)),
    ...files.map((f) => contains(image.SPDXID, f.SPDXID)),
    ...inventory.packages.flatMap((p, i) => p.ownedFiles.map((f) => contains(packages[i]!.SPDXID, fileIds.get(f)!))),
  ];
  return {
    spdxVersion: "SPDX-2.3", dataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
    name: `${described.name}@${described.digest}`,
    documentNamespace: spdxNamespace(described),
    creationInfo: { created: spdxTimestamp(created), creators: [`Tool: pkgkit-${PKGKIT_VERSION}`] },
    packages: [image, ...packages],
    files,
    relationships: [{ spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: image.SPDXID }, ...relationships],
  };
}
