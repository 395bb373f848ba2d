/**
 * The attestation subject of a resolved package's arch image: what the SBOM's described package
 * and the provenance's source are made from. In the package layer, so that both the run layer
 * (attesting after a push) and recipes (`pkgkit sbom`) can make it.
 */
import { existsSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { Arch } from "../names.ts";
import type { Package } from "../package.ts";
import type { AttestSubject } from "./sbom.ts";

/** The git work tree `dir` is in (the nearest parent with `.git`, a directory or a worktree's file), or undefined. */
function gitTop(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, ".git"))) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The subject of `pkg`'s `arch` image with manifest `digest`: the package directory relative to
 * its git work tree (`.` outside git), the tag's hash, the git source (the package's `gitrepo` or
 * the origin remote) and HEAD, left out when the package is dirty (its files are not HEAD's).
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
