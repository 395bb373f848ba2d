/**
 * The SBOM of a package's arch image at its current tag: the image is read from the engine that
 * builds that arch when the engine has it (exported with `docker save`, as push exports it), else
 * from the registry; the document is made from the image's own layers (lib/attest/sbom.ts).
 */
import { existsSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { InputError, PkgkitError } from "../lib/errors.ts";
import { imageBlobsFromArchive, type ImageBlobs } from "../lib/image.ts";
import { archRef, type Package } from "../lib/package.ts";
import { registryTag, withArch, type Arch } from "../lib/names.ts";
import type { Builder } from "../lib/builder.ts";
import { INDEX_TYPES, type Blob, type Registry } from "../lib/registry/types.ts";
import { createScratch } from "../lib/scratch.ts";
import { sbomPredicate, type AttestSubject, type SbomFormat } from "../lib/attest/sbom.ts";

/** The git work tree `dir` is in (the nearest parent with `.git`, a directory or a worktree's file), or undefined. */
function gitTop(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, ".git"))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The attestation subject of `pkg`'s `arch` image with manifest `digest`: the package directory
 * relative to its git work tree, the tag's hash, the git source (the package's `gitrepo` or the
 * origin remote) and HEAD, which is left out when the package is dirty (its files are not HEAD's).
 */
export function attestSubject(pkg: Package, arch: Arch, digest: string): AttestSubject {
  const top = gitTop(pkg.dir);
  const dir = top ? relative(top, pkg.dir).split(sep).join("/") || "." : ".";
  const gitrepo = pkg.labels["org.opencontainers.image.source"];
  return {
    name: pkg.repository, digest, arch,
    source: { dir, tree: pkg.hash, ...(gitrepo ? { gitrepo } : {}), ...(pkg.commit && !pkg.dirty ? { commit: pkg.commit } : {}) },
  };
}

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
  /** SOURCE_DATE_EPOCH, the document's creation time in seconds (default 0). */
  sourceDateEpoch?: number;
}

/**
 * The SBOM of `pkg`'s `arch` image at its current tag, and where the image came from. The engine's
 * image is exported as push exports it (Docker v2 manifest), so its digest is the one push gives it.
 */
export async function packageSbom(pkg: Package, arch: Arch, options: PackageSbomOptions): Promise<{ document: unknown; predicateType: string; ref: string; digest: string; from: SbomImageSource }> {
  const ref = archRef(pkg, arch);
  const sbomOf = async (image: ImageBlobs, from: SbomImageSource) => {
    if (image.platform.architecture !== arch)
      throw new PkgkitError(`${ref} in the ${from === "engine" ? "engine" : "registry"} is a ${image.platform.os}/${image.platform.architecture} image, expected linux/${arch}; rebuild it with --force`);
    const { predicateType, predicate } = await sbomPredicate(image, attestSubject(pkg, arch, image.manifest.digest), options.format, { sourceDateEpoch: options.sourceDateEpoch });
    return { document: predicate, predicateType, ref, digest: image.manifest.digest, from };
  };
  if ((await options.builder.inspect([ref])).has(ref)) {
    const scratch = await createScratch();
    try {
      const dir = await scratch.tempDir("sbom-");
      const archive = join(dir, "image.tar");
      await options.builder.save(ref, archive);
      return await sbomOf(await imageBlobsFromArchive(archive, dir, "docker"), "engine");
    } finally {
      await scratch.remove();
    }
  }
  const image = await imageFromRegistry(options.registry, pkg.repository, registryTag(withArch(pkg.ref, arch)));
  if (!image) throw new InputError(`${ref}: neither the engine nor the registry has it; build it (pkgkit build) or push it first`);
  return sbomOf(image, "registry");
}
