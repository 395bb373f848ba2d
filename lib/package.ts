/**
 * resolvePackages(): a PackageSpec plus git plus command-line overrides become a Package, with
 * its content tag and names. Pure apart from the batched, read-only git queries.
 *
 * The tag, as LinuxKit's pkglib computes it:
 *   hash = tree hash of the package directory at HEAD  (`git ls-tree HEAD -- <dir>`)
 *   with extra sources: hash = sha1(hash + tree(src1) + tree(src2) ...)   (hex)
 *   if the directory or an extra source has uncommitted or untracked, non-ignored changes:
 *     hash += "-dirty-" + first 7 hex of sha256(changed paths and their current content)
 *   --hash <h> replaces all of the above.
 *   tag = the tag template with {{.Hash}} replaced by hash (default "{{.Hash}}").
 * Precedence for other settings: command line > environment (PKGKIT_ORG) > file > default.
 */
import { createHash } from "node:crypto";
import { isAbsolute, join, resolve } from "node:path";
import { InputError } from "./errors.ts";
import { changedContentDigest, gitStates, type DirState } from "./git.ts";
import { checkOrg, MAX_NAME_LENGTH, tagRe } from "./ref.ts";
import { DEFAULT_ORG, HASH_PLACEHOLDER, type Arch, type PackageSpec } from "./spec.ts";
import type { PackageDefinition } from "./define.ts";
import type { Shell } from "./shell.ts";

/** Overrides that apply to every package of a run (command line, environment, code). */
export interface ResolveOptions {
  org?: string;
  /** Use this instead of the computed content hash. */
  hash?: string;
  /** Build only these arches (each must be one the package declares). */
  arches?: Arch[];
  network?: boolean;
  disableCache?: boolean;
  disableContentTrust?: boolean;
}

export interface Package {
  /** The package file (pkg.config.ts or build.yml). */
  file: string;
  /** The package directory, absolute. */
  dir: string;
  spec: PackageSpec;
  org: string;
  image: string;
  /** `org/image` */
  repository: string;
  /** The content hash, before the tag template. */
  hash: string;
  /** The tag: template applied to `hash`. */
  tag: string;
  dirty: boolean;
  /** HEAD commit, when in git. */
  commit?: string;
  arches: Arch[];
  network: boolean;
  cache: boolean;
  trust: boolean;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  buildArgs: Record<string, string>;
  /** Final image labels, the OCI source/revision ones included. */
  labels: Record<string, string>;
  /** Extra build-context sources, `src` absolute. */
  extraSources: { src: string; dst: string }[];
}

/** `org/image:<tag>`: the multi-arch index. */
export const indexRef = (p: Package) => `${p.repository}:${p.tag}`;
/** `org/image:<tag>-<arch>`: one architecture. */
export const archRef = (p: Package, arch: Arch) => `${p.repository}:${p.tag}-${arch}`;

export async function resolvePackages(
  shell: Shell,
  defs: PackageDefinition[],
  options: ResolveOptions = {},
): Promise<Package[]> {
  if (options.org !== undefined && checkOrg(options.org))
    throw new InputError(`--org ${JSON.stringify(options.org)}: ${checkOrg(options.org)}`);
  if (options.hash !== undefined && !tagRe.test(options.hash))
    throw new InputError(`--hash ${JSON.stringify(options.hash)}: expected a tag: letters, digits, "_", "." and "-", at most 128 characters`);

  const sourceDirs = (d: PackageDefinition) => [d.dir, ...d.spec.extraSources.map((s) => resolve(d.dir, s.src))];
  // With --hash, git only supplies labels; a package outside git is still fine.
  const states = await gitStates(shell, defs.flatMap(sourceDirs)).catch((err) => {
    if (options.hash !== undefined && err instanceof InputError) return new Map<string, DirState>();
    throw err;
  });

  return Promise.all(
    defs.map(async (def) => {
      const { spec } = def;
      if (spec.depends)
        throw new InputError(`${def.file}: field "depends": LinuxKit's depends.docker-images is checked but not supported by pkgkit's builds yet; remove it, or save the images into the package directory yourself`);
      const own = states.get(def.dir);
      const extras = spec.extraSources.map((s) => ({ ...s, src: resolve(def.dir, s.src) }));
      const dirty = [def.dir, ...extras.map((e) => e.src)].some((d) => (states.get(d)?.changed.length ?? 0) > 0);
      const hash = options.hash ?? (await contentHash(def, own, extras, states));
      const tag = spec.tag.replaceAll(HASH_PLACEHOLDER, hash);
      const org = options.org ?? spec.org ?? DEFAULT_ORG;
      const repository = `${org}/${spec.image}`;
      const arches = selectArches(def, options.arches);
      if (!tagRe.test(`${tag}-${arches.reduce((a, b) => (a.length > b.length ? a : b))}`))
        throw new InputError(`${def.file}: field "tag": the tag "${tag}" is not a valid image tag (letters, digits, "_", "." and "-", at most 128 characters with the -<arch> suffix)`);
      if (repository.length > MAX_NAME_LENGTH)
        throw new InputError(`${def.file}: the repository name "${repository}" is longer than ${MAX_NAME_LENGTH} characters`);

      const source = spec.gitrepo ?? own?.remote;
      const labels: Record<string, string> = {
        ...(source ? { "org.opencontainers.image.source": source } : {}),
        ...(own?.commit ? { "org.opencontainers.image.revision": own.commit } : {}),
        ...(spec.config ? { "org.mobyproject.config": JSON.stringify(spec.config) } : {}),
        ...spec.labels,
      };
      return {
        file: def.file,
        dir: def.dir,
        spec,
        org,
        image: spec.image,
        repository,
        hash,
        tag,
        dirty: options.hash === undefined && dirty,
        commit: own?.commit,
        arches,
        network: options.network ?? spec.network,
        cache: !(options.disableCache ?? spec.disableCache),
        trust: !(options.disableContentTrust ?? spec.disableContentTrust),
        dockerfile: isAbsolute(spec.dockerfile) ? spec.dockerfile : join(def.dir, spec.dockerfile),
        buildArgs: { ...spec.buildArgs },
        labels,
        extraSources: extras,
      } satisfies Package;
    }),
  );
}

async function contentHash(
  def: PackageDefinition,
  own: DirState | undefined,
  extras: { src: string }[],
  states: Map<string, DirState>,
): Promise<string> {
  const tree = (dir: string) => {
    const s = states.get(dir);
    if (!s?.tree)
      throw new InputError(
        `${dir}: not committed to git, so it has no tree hash; \`git add\` and commit it${dir === def.dir ? "" : ` (an extra source of ${def.file})`}, or pass --hash <tag>`,
      );
    return s.tree;
  };
  let hash = tree(def.dir);
  if (extras.length > 0) hash = createHash("sha1").update(hash + extras.map((e) => tree(e.src)).join("")).digest("hex");
  const dirtyStates = [own, ...extras.map((e) => states.get(e.src))].filter((s): s is DirState => !!s && s.changed.length > 0);
  if (dirtyStates.length > 0) {
    const digest = await changedContentDigest(dirtyStates);
    hash += `-dirty-${digest.slice(0, 7)}`;
  }
  return hash;
}

function selectArches(def: PackageDefinition, wanted: Arch[] | undefined): Arch[] {
  if (!wanted) return def.spec.arches;
  const unknown = wanted.filter((a) => !def.spec.arches.includes(a));
  if (unknown.length > 0)
    throw new InputError(`--arches ${unknown.join(",")}: ${def.file} builds only for ${def.spec.arches.join(", ")}`);
  return wanted;
}
