/**
 * What an SBOM says, whatever its format: the image's regular files with their checksums, its
 * installed packages and which files each owns, and the pkgkit package the image was built from.
 */
import { nodeCrypto } from "../node-crypto.ts";
import type { ImageBlobs } from "../image.ts";
import { osPackages, purl, type OsPackage } from "./pkgdb.ts";
import { imageRootfs, resolvePath } from "./rootfs.ts";

/** The image an attestation is about, and the pkgkit package it was built from. */
export interface AttestSubject {
  /** The repository, e.g. `localhost:5000/org/image`. */
  name: string;
  /** The arch image's manifest digest, `sha256:<64 hex>`. */
  digest: string;
  arch: string;
  source: {
    /** The package directory, relative to the git root. */
    dir: string;
    /** The hash of the pkgkit tag (LinuxKit's tree hash, dependencies folded in). */
    tree: string;
    /** Where the sources can be fetched: a git remote URL (credentials are dropped). */
    gitrepo?: string;
    commit?: string;
  };
}

/** A regular file of the image's final filesystem. */
export interface ImageFile {
  path: string;
  size: number;
  sha1: string;
  sha256: string;
}

/** A package with the regular files it owns (those of its database's list that are regular files in the image). */
export interface InventoryPackage extends OsPackage {
  ownedFiles: string[];
}

/** Files sorted by path, packages as `osPackages` orders them. */
export interface ImageInventory {
  files: ImageFile[];
  packages: InventoryPackage[];
}

/** The pkgkit package as the SBOM describes it. */
export interface DescribedPackage {
  name: string;
  /** The tag's hash. */
  version: string;
  arch: string;
  digest: string;
  dir: string;
  tree: string;
  commit?: string;
  /** `git+<url>[@commit][#dir]`, or undefined when the sources have no fetchable remote. */
  downloadLocation?: string;
  /** `pkg:oci/<name>@<digest>?arch=..&repository_url=..` */
  purl: string;
}

const hex = (algorithm: string, data: Uint8Array) => nodeCrypto().createHash(algorithm).update(data).digest("hex");
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The files and packages of an image's final filesystem (its layers applied, whiteouts honoured). */
export async function imageInventory(image: ImageBlobs, where: string): Promise<ImageInventory> {
  const fs = await imageRootfs(image.exportedLayers ?? image.layers, where);
  const files: ImageFile[] = [];
  for (const path of [...fs.keys()].sort(byString)) {
    const node = fs.get(path)!;
    if (node.type === "file") files.push({ path, size: node.data.length, sha1: hex("sha1", node.data), sha256: hex("sha256", node.data) });
  }
  // A database may list a package twice (status and status.d): one entry per package URL.
  const unique = [...new Map(osPackages(fs).map((p) => [p.purl, p])).values()];
  // Listed paths go through symlinked directories (merged /usr: dpkg lists /bin/sh, the file is /usr/bin/sh); the name itself is not followed, so a listed symlink never claims its target.
  const inImage = (path: string) => {
    const cut = path.lastIndexOf("/");
    const parent = resolvePath(fs, path.slice(0, cut) || "/");
    return `${parent === "/" ? "" : parent}${path.slice(cut)}`;
  };
  const packages = unique.map((p): InventoryPackage => ({
    ...p, ownedFiles: [...new Set(p.files.map(inImage))].filter((f) => fs.get(f)?.type === "file").sort(byString),
  }));
  return { files, packages };
}

/** `git+<url>` for a git remote URL (https, ssh, git, or scp-like `user@host:path`), without credentials; undefined for a local path. */
export function gitDownloadLocation(gitrepo: string): string | undefined {
  const url = gitrepo.replace(/^git\+/, "");
  const scp = /^([A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(url);
  if (scp && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return `git+ssh://${scp[1] ?? ""}${scp[2]}/${scp[3]!.replace(/^\//, "")}`;
  const m = /^(https?|ssh|git):\/\/(?:([^@/]*)@)?(.+)$/.exec(url);
  if (!m) return undefined;
  // A user name is part of an ssh address; in http(s) userinfo it is a credential, and a password never belongs in a document.
  const user = m[1] === "ssh" && m[2] && !m[2].includes(":") ? `${m[2]}@` : "";
  return `git+${m[1]}://${user}${m[3]}`;
}

/** The described package of an image's SBOM, from the attestation subject. */
export function describedPackage(subject: AttestSubject): DescribedPackage {
  const base = subject.source.gitrepo ? gitDownloadLocation(subject.source.gitrepo) : undefined;
  const dir = subject.source.dir === "." ? "" : subject.source.dir.replace(/^\.\//, "").replace(/\/$/, "");
  const downloadLocation = base && `${base}${subject.source.commit ? `@${subject.source.commit}` : ""}${dir ? `#${dir}` : ""}`;
  const slash = subject.name.lastIndexOf("/");
  const image = subject.name.slice(slash + 1).toLowerCase();
  return {
    name: subject.name, version: subject.source.tree, arch: subject.arch, digest: subject.digest, dir: dir || ".", tree: subject.source.tree,
    ...(subject.source.commit ? { commit: subject.source.commit } : {}),
    ...(downloadLocation ? { downloadLocation } : {}),
    purl: purl("oci", undefined, image, subject.digest, { arch: subject.arch, repository_url: subject.name }),
  };
}
