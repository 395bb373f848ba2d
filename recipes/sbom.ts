/**
 * The SBOM of a package's arch image at its current tag: the image is read from the engine that
 * builds that arch when the engine has it (exported with `docker save`, as push exports it), else
 * from the registry; the document is made from the image's own layers (lib/attest/sbom.ts).
 */
import { join } from "node:path";
import { InputError, PkgkitError } from "../lib/errors.ts";
import { imageBlobsFromArchive, type ImageBlobs, type ManifestFormat } from "../lib/image.ts";
import { archRef, type Package } from "../lib/package.ts";
import { registryTag, withArch, type Arch } from "../lib/names.ts";
import type { Builder } from "../lib/builder.ts";
import { INDEX_TYPES, type Blob, type Registry } from "../lib/registry/types.ts";
import { createScratch } from "../lib/scratch.ts";
import { sbomPredicate, type SbomFormat } from "../lib/attest/sbom.ts";
import { attestSubject } from "../lib/attest/package-subject.ts";

/** The arch image from the registry, layers in memory; undefined when the registry has no such tag. */
async function imageFromRegistry(registry: Registry, repository: string, tag: string): Promise<ImageBlobs | undefined> {
  const manifest = await registry.getManifest(repository, tag);
  if (!manifest) return undefined;
  const where = `${repository}:${tag}`;
  if (INDEX_TYPES.includes(manifest.mediaType) || !manifest.json.config || !manifest.json.layers)
    throw new PkgkitError(`${where}@${manifest.digest}: a ${manifest.mediaType}, expected an image manifest (an arch image's tag ends in -<arch>)`);
  const fetch = async (d: { digest: string; size: number }): Promise<Blob> => ({ digest: d.digest, size: d.size, data: await registry.getBlob(repository, d.digest) });
  for (const l of manifest.json.layers)
    if (!/(tar|tar\+gzip|tar\.gzip)$/.test(l.mediaType))
      throw new PkgkitError(`${where}: layer ${l.digest} is ${l.mediaType}; pkgkit reads tar and gzip layers`);
  const config = await fetch(manifest.json.config);
  const json = JSON.parse(new TextDecoder().decode(config.data as Uint8Array)) as { os?: string; architecture?: string; variant?: string };
  return {
    config,
    layers: await Promise.all(manifest.json.layers.map(fetch)),
    platform: { os: json.os ?? "linux", architecture: json.architecture ?? "", ...(json.variant ? { variant: json.variant } : {}) },
    manifest: { mediaType: manifest.mediaType, bytes: manifest.bytes, digest: manifest.digest, size: manifest.size },
  };
}

/** Where `packageSbom` read the image from. */
export type SbomImageSource = "engine" | "registry";

/** What `packageSbom` needs: the builder of the arch (its engine is looked at first) and the registry client. */
export interface PackageSbomOptions {
  builder: Builder;
  registry: Registry;
  format: SbomFormat;
  /** The manifest the engine's image is given, as push's `format` (default docker): it names the digest the document is about. */
  manifestFormat?: ManifestFormat;
  /** Where a note goes when the engine does not answer and the registry is read instead. */
  log?: (line: string) => void;
}

/**
 * The SBOM of `pkg`'s `arch` image at its current tag, and where the image came from. The engine's
 * image is exported as push exports it (`manifestFormat`), so its digest is the one push gives it.
 */
export async function packageSbom(pkg: Package, arch: Arch, options: PackageSbomOptions): Promise<{ document: unknown; predicateType: string; ref: string; digest: string; from: SbomImageSource }> {
  const ref = archRef(pkg, arch);
  const sbomOf = async (image: ImageBlobs, from: SbomImageSource) => {
    if (image.platform.architecture !== arch)
      throw new PkgkitError(`${ref} in the ${from === "engine" ? "engine" : "registry"} is a ${image.platform.os}/${image.platform.architecture} image, expected linux/${arch}; rebuild it with --force`);
    const { predicateType, predicate } = await sbomPredicate(image, attestSubject(pkg, arch, image.manifest.digest), options.format, { sourceDateEpoch: pkg.sourceDateEpoch });
    return { document: predicate, predicateType, ref, digest: image.manifest.digest, from };
  };
  // An engine that cannot be reached is no reason to refuse: the registry's image is the one attested.
  const inEngine = await options.builder.inspect([ref]).then(
    (found) => found.has(ref),
    (err: Error) => void options.log?.(`note: ${ref}: the engine did not answer (${err.message}); reading the registry`),
  );
  if (inEngine) {
    const scratch = await createScratch();
    try {
      const dir = await scratch.tempDir("sbom-");
      const archive = join(dir, "image.tar");
      await options.builder.save(ref, archive);
      return await sbomOf(await imageBlobsFromArchive(archive, dir, options.manifestFormat ?? "docker", pkg.sourceDateEpoch), "engine");
    } finally {
      await scratch.remove();
    }
  }
  const image = await imageFromRegistry(options.registry, pkg.repository, registryTag(withArch(pkg.ref, arch)));
  if (!image) throw new InputError(`${ref}: ${inEngine === false ? "neither the engine nor the registry has it" : "the registry does not have it, and the engine did not answer"}; build it (pkgkit build) or push it first`);
  return sbomOf(image, "registry");
}
