/**
 * The SBOM predicate of an arch image, made in-process from the image's own layers (no scanner, no
 * network): SPDX 2.3 JSON or CycloneDX 1.6 JSON, byte-identical for the same image and
 * SOURCE_DATE_EPOCH. The predicate types are those cosign's `--type spdxjson` and `--type
 * cyclonedx` look for.
 */
import type { ImageBlobs } from "../image.ts";
import { cyclonedxBom } from "./cyclonedx.ts";
import { describedPackage, imageInventory, type AttestSubject } from "./inventory.ts";
import { spdxDocument } from "./spdx.ts";

export type { AttestSubject } from "./inventory.ts";

/** The SBOM formats pkgkit writes. */
export type SbomFormat = "spdx" | "cyclonedx";
/** Every SbomFormat, for checking a flag's value. */
export const SBOM_FORMATS: readonly SbomFormat[] = ["spdx", "cyclonedx"];

/** The in-toto predicate type of each format, as cosign names them (`in_toto.PredicateSPDX`, `in_toto.PredicateCycloneDX`). */
export const SBOM_PREDICATE_TYPES = {
  spdx: "https://spdx.dev/Document",
  cyclonedx: "https://cyclonedx.org/bom",
} as const satisfies Record<SbomFormat, string>;

/** Settings of the document that do not come from the image. */
export interface SbomOptions {
  /** Seconds since the epoch for the creation time (SOURCE_DATE_EPOCH); default 0, so the document depends on the image alone. */
  sourceDateEpoch?: number;
}

/**
 * The SBOM of an image from its own layers (`ImageBlobs` from lib/image.ts: layers are gzip tar
 * files or bytes, bottom first): every regular file of the final filesystem with SHA-1 and
 * SHA-256, the apk and dpkg packages with the files they own, and the pkgkit package (source dir,
 * tag hash, git remote and commit) as the described package.
 *
 * @example
 * const { predicateType, predicate } = await sbomPredicate(image, subject, "spdx");
 */
export async function sbomPredicate(
  image: ImageBlobs,
  subject: AttestSubject,
  format: SbomFormat,
  options: SbomOptions = {},
): Promise<{ predicateType: string; predicate: unknown }> {
  const inventory = await imageInventory(image, `${subject.name}@${subject.digest}`);
  const described = describedPackage(subject);
  const created = new Date((options.sourceDateEpoch ?? 0) * 1000);
  return format === "spdx"
    ? { predicateType: SBOM_PREDICATE_TYPES.spdx, predicate: spdxDocument(inventory, described, created) }
    : { predicateType: SBOM_PREDICATE_TYPES.cyclonedx, predicate: cyclonedxBom(inventory, described, created) };
}
