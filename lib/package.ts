/**
 * resolvePackages(): a PackageSpec plus git plus command-line overrides become a Package, with
 * its content tag and names. Pure apart from the batched, read-only git queries (and loading the
 * package files LinuxKit's "@lkt:" build-arg values name; see graph.ts).
 *
 * The tag. First the hash as LinuxKit's pkglib computes it:
 *   H = tree hash of the package directory at HEAD  (`git ls-tree HEAD -- <dir>`)
 *   with extra sources: H = sha1(H + tree(src1) + tree(src2) ...)   (hex)
 *   dirty when a tracked file of the directory differs from HEAD or an untracked, not ignored
 *       file is in it (or with --force-dirty); then D = LinuxKit's contentHash of the directory
 *       (lib/git.ts: sha256 over the contents of its tracked and untracked files, in
 *       `git ls-files` order). LinuxKit does not look at extra sources for this; pkgkit does: a
 *       change in one makes the package dirty too, and D = sha256(D + each extra source's
 *       contentHash), hex
 *   (--hash-path <parent>: the tree and the dirtiness are the parent's, D still the directory's;
 *   --hash-commit <c>: trees at c, never dirty unless c is HEAD, as in LinuxKit)
 * A package with no dependency (no build arg whose value is another package): the hash is H,
 * plus "-dirty-" + first 7 hex of D when dirty. That is LinuxKit's tag, whatever its build args:
 * their literal values live in pkg.config.ts or build.yml, inside the tree already.
 * A package with dependencies, computed after them (dependencies first):
 *   hash = sha1(H + "\n" + L)  (hex), where L is every build arg as a "NAME=value" line, sorted
 *       by NAME, joined by "\n", a dependency's value being its reference as of HEAD:
 *       org/image:<its tag without any -dirty- suffix>
 *   dirty when the package itself or any dependency is:
 *     hash += "-dirty-" + first 7 hex of sha256(D (or "") + "\n" + L'), where L' is L with the
 *     dependencies' actual, possibly dirty references
 *   So a change in a package gives new tags to it and to everything depending on it, directly
 *   or not, and to nothing else; and the part before "-dirty-" names the committed state.
 * --hash <h> (or --dev: "dev") replaces all of the above, for every package (dependencies included).
 * tag = the tag template (--tag, else the package's `tag`, default "{{.Hash}}") with {{.Hash}}
 * replaced by hash (lib/tagtemplate.ts).
 * Precedence for other settings (org, arches, network, cache, content trust): see lib/options.ts.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { InputError } from "./errors.ts";
import { nodeCrypto } from "./node-crypto.ts";
import { contentHash, DEFAULT_HASH_COMMIT, gitStates, type DirState } from "./git.ts";
import { formatRef, imageRef, MAX_NAME_LENGTH, MAX_TAG_LENGTH, tagRe, withArch, type ImageRef } from "./names.ts";
import { contextPath, PINNED_IMAGE, type Arch, type PackageSpec } from "./spec.ts";
import { hashUses, parseTagTemplate, renderTag, type TagTemplate } from "./tagtemplate.ts";
import {
  checkHash, checkOrgSetting, declaredArches, resolveArches, resolveAttest, resolveDisableCache, resolveDisableContentTrust, resolveSourceDateEpoch, resolveNetwork, resolveOrg,
  type FileValue, type ResolveOptions, type Setting,
} from "./options.ts";
import { buildGraph, dependenciesOf, type GraphNode } from "./graph.ts";
import type { PackageDefinition } from "./define.ts";
import type { Shell } from "./shell.ts";
import { checkPackages, contextSources } from "./contain.ts";
import { PKGKIT_VERSION } from "./version.ts";

export type { ResolveOptions, WorkspaceDefaults } from "./options.ts";

/** A build arg whose value is another package. */
export interface Dependency {
  /** The build arg, e.g. BASE (for "@lkt:pkgs:", the expanded name). */
  arg: string;
  /** The dependency's `id`. */
  id: string;
  dir: string;
  /** `org/image:<tag>`: the value the build arg gets. */
  ref: string;
}

/**
 * A resolved package: its definition with the overrides and workspace defaults applied, its
 * content tag from git, and its image names. Plain data; `plan()` takes a list of them.
 */
export interface Package {
  /** Stable key: the package directory, or `<dir>#<image>` when one file declares several packages in play. */
  id: string;
  /** The package file (pkg.config.ts or build.yml). */
  file: string;
  /** The package directory, absolute. */
  dir: string;
  spec: PackageSpec;
  org: string;
  image: string;
  /** `org/image` */
  repository: string;
  /** The index `org/image:<tag>` as one ImageRef (org, image, repository and tag as above); an arch's image is `withArch(ref, arch)`. */
  ref: ImageRef;
  /** The content hash, before the tag template. */
  hash: string;
  /** The tag: template applied to `hash`. */
  tag: string;
  dirty: boolean;
  /** Why it is dirty: its own changes, or a dirty dependency. Empty when clean. */
  dirtyReasons: string[];
  /** HEAD commit, when in git. */
  commit?: string;
  arches: Arch[];
  network: boolean;
  cache: boolean;
  trust: boolean;
  /** Its push attaches SBOM and provenance attestations when it signs (see resolveAttest). */
  attest: boolean;
  /** SOURCE_DATE_EPOCH: the image's times after it are clamped to it (lib/options.ts resolveSourceDateEpoch). */
  sourceDateEpoch: number;
  /** The signer of the workspace the package is in (pkgkit.config.ts `signer`), when it names one. */
  workspaceSigner?: "notary" | "sigstore";
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Every build arg with its final value (dependencies as their `org/image:<tag>`). */
  buildArgs: Record<string, string>;
  /** The build args whose value is another package, in declaration order. */
  dependencies: Dependency[];
  /**
   * LinuxKit's build args about the build, passed unless `buildArgs` sets the same name: PKG_HASH
   * (`hash`), PKG_IMAGE (`org/image`), SOURCE (the `gitrepo` field, when set), REVISION (HEAD,
   * when clean), GOPKGVERSION (HEAD as a Go pseudo-version; see DirState.goPkgVersion).
   */
  buildInfo: Record<string, string>;
  /** Final image labels, the OCI source/revision ones included. */
  labels: Record<string, string>;
  /** Extra build-context sources, `src` absolute, `dst` relative to the context (checked: see lib/contain.ts). */
  extraSources: { src: string; dst: string }[];
  /** `depends.dockerImages`, the `fromFile` read: saved into the build context before each build. */
  dockerImages?: DockerImages;
}

/**
 * Images a package's build context holds, as LinuxKit's `depends.docker-images`: taken from the
 * local engine, else pulled, and saved (in pkgkit's copy of the context, never in the package
 * directory) into the archive `target`, or each into `<targetDir>/<name>@<digest>.tar` after
 * `targetDir` is emptied. Paths are relative to the context.
 */
export interface DockerImages {
  refs: string[];
  target?: string;
  targetDir?: string;
}

/** `org/image:<tag>`: the multi-arch index. */
export const indexRef = (p: Package) => formatRef(p.ref);
/** `org/image:<tag>-<arch>`: one architecture. */
export const archRef = (p: Package, arch: Arch) => formatRef(withArch(p.ref, arch));

/**
 * Resolve definitions into packages: tags from one batched git query, names, settings (`options`
 * over the package file over the workspace). Returns the packages asked for, in the order given;
 * the packages they depend on are resolved too (each `Dependency` names one). Throws InputError
 * for a bad override, a dependency cycle or a name or tag that is not valid.
 */
export async function resolvePackages(shell: Shell, defs: PackageDefinition[], options: ResolveOptions = {}): Promise<Package[]> {
  return (await resolveGraph(shell, defs, options)).roots;
}

export interface ResolvedGraph {
  /** Every package involved, dependencies included: dependencies before dependents. */
  packages: Package[];
  /** The packages asked for, in the order given. */
  roots: Package[];
}

/**
 * Resolve `defs` and every package they depend on: load the graph (cycles are errors), query git
 * once for all directories, then compute the tags in dependency order (pure hashing).
 */
export async function resolveGraph(shell: Shell, defs: PackageDefinition[], options: ResolveOptions = {}): Promise<ResolvedGraph> {
  const orgSource = options.orgSource ?? "--org";
  const runOrg: Setting<string> | undefined =
    options.org === undefined ? undefined : { value: options.org, from: options.orgSource === undefined ? "flag" : "env", name: orgSource };
  if (runOrg) checkOrgSetting(runOrg);
  if (options.hash !== undefined) checkHash(options.hash);

  const ws = options.workspace;
  const inWorkspace = (d: PackageDefinition) => ws !== undefined && (d.dir === ws.dir || d.dir.startsWith(ws.dir.endsWith(sep) ? ws.dir : ws.dir + sep));
  // What the package file sets (the other fields hold defaults) and what its workspace sets.
  const fileValue = <K extends "arches" | "network" | "disableCache" | "disableContentTrust" | "attest">(d: PackageDefinition, key: K): FileValue<PackageSpec[K]> =>
    ({ file: d.file, value: d.fields.includes(key) ? d.spec[key] : undefined });
  const workspaceValue = <T>(d: PackageDefinition, value: T | undefined): FileValue<T> | undefined => (inWorkspace(d) ? { file: ws!.file ?? ws!.dir, value } : undefined);
  const orgOf = (d: PackageDefinition, run?: Setting<string>) => resolveOrg(run, { file: d.file, value: d.spec.org }, workspaceValue(d, ws?.org)).value;
  const graph = await buildGraph(defs, { orgOf: (d) => orgOf(d) });
  if (options.checkPaths) checkPackages(graph.nodes.map((n) => n.def), "sources");

  const hashDir = (d: PackageDefinition) => hashDirOf(d, options.hashPath);
  const sourceDirs = (d: PackageDefinition) => [d.dir, hashDir(d), ...d.spec.extraSources.map((s) => resolve(d.dir, s.src))];
  // With --hash, git only supplies labels; a package outside git is still fine.
  const states = await gitStates(shell, graph.nodes.flatMap((n) => sourceDirs(n.def)), options.hashCommit ?? DEFAULT_HASH_COMMIT, { tagsOnly: options.tagsOnly === true }).catch((err) => {
    if (options.hash !== undefined && err instanceof InputError) return new Map<string, DirState>();
    throw err;
  });
  // LinuxKit's hash of each package on its own; reading the changed files is the only I/O left.
  const own = options.hash === undefined ? await Promise.all(graph.nodes.map((n) => ownHash(n.def, states, hashDir(n.def), options.forceDirty === true))) : [];
  const runTemplate = options.tag === undefined ? undefined : tagTemplateOf(options.tag, "--tag");
  const templateOf = (d: PackageDefinition) => runTemplate ?? tagTemplateOf(d.spec.tag, `${d.file}: field "tag"`);

  const asked = new Set(graph.roots);
  const resolved = new Map<GraphNode, Package>();
  // Each package's hash as of HEAD (no -dirty- suffix): what dependents fold in.
  const heads = new Map<GraphNode, string>();
  const refAtHead = (n: GraphNode) => formatRef({ ...resolved.get(n)!.ref, tag: renderTag(templateOf(n.def), heads.get(n)!) });
  const refNow = (n: GraphNode) => indexRef(resolved.get(n)!);
  graph.nodes.forEach((node, i) => {
    const { def } = node;
    // `--dockerfile` stands for the package's own, and is checked as its own is (lib/contain.ts).
    const spec = options.dockerfile === undefined ? def.spec : { ...def.spec, dockerfile: options.dockerfile };
    const org = orgOf(def, runOrg);
    const repository = `${org}/${spec.image}`;
    const deps = dependenciesOf(node).map((a) => ({ arg: a.name, pkg: resolved.get(a.dependency)! }));
    const argLines = (ref: (n: GraphNode) => string) =>
      node.args
        .map((a) => ({ name: a.name, value: "value" in a ? a.value : ref(a.dependency) }))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((a) => `${a.name}=${a.value}`)
        .join("\n");

    let hash: string;
    let headHash: string;
    const dirtyReasons: string[] = [];
    if (options.hash !== undefined) hash = headHash = options.hash;
    else {
      const { head, changes } = own[i]!;
      if (changes) dirtyReasons.push(changes.paths.length ? `uncommitted changes in ${changes.paths.join(", ")}` : "--force-dirty");
      for (const d of deps) if (d.pkg.dirty) dirtyReasons.push(`build arg ${d.arg} is ${indexRef(d.pkg)}, which is dirty`);
      if (deps.length === 0) {
        headHash = head;
        hash = changes ? `${head}-dirty-${changes.digest.slice(0, 7)}` : head;
      } else {
        headHash = sha1(`${head}\n${argLines(refAtHead)}`);
        const delta = dirtyReasons.length > 0 ? sha256(`${changes?.digest ?? ""}\n${argLines(refNow)}`) : undefined;
        hash = delta ? `${headHash}-dirty-${delta.slice(0, 7)}` : headHash;
      }
    }

    const template = templateOf(def);
    const tag = renderTag(template, hash);
    const declared = declaredArches(fileValue(def, "arches"), workspaceValue(def, ws?.arches));
    const arches = resolveArches(options.arches, declared, { file: def.file, asked: asked.has(node) }, options.skipArches).value;
    const longest = arches.length ? `${tag}-${arches.reduce((a, b) => (a.length > b.length ? a : b))}` : tag;
    if (!tagRe.test(longest)) {
      // Too long only because of --hash (the template holds a short hash): the flag is to blame.
      if (options.hash !== undefined && hashUses(template) > 0 && tagRe.test(longest.replace(tag, renderTag(template, "0")))) {
        const uses = hashUses(template);
        const room = Math.floor((MAX_TAG_LENGTH - (longest.length - uses * options.hash.length)) / uses);
        throw new InputError(
          `--hash ${JSON.stringify(options.hash)}: too long for ${def.file}: its tag would be ${longest}, ${longest.length} characters; ` +
            `a tag has at most ${MAX_TAG_LENGTH}, so use a hash of at most ${room} characters`,
        );
      }
      throw new InputError(`${runTemplate ? `--tag ${JSON.stringify(options.tag)}` : `${def.file}: field "tag"`}: the tag "${tag}" is not a valid image tag (letters, digits, "_", "." and "-", at most ${MAX_TAG_LENGTH} characters with the -<arch> suffix)`);
    }
    if (repository.length > MAX_NAME_LENGTH)
      throw new InputError(
        options.org !== undefined
          ? `${orgSource} ${JSON.stringify(options.org)}: too long for ${def.file}: the repository name ${repository} would have ${repository.length} characters, and one has at most ${MAX_NAME_LENGTH}`
          : `${def.file}: the repository name "${repository}" is longer than ${MAX_NAME_LENGTH} characters`,
      );
    // Checked above with messages that name the flag or field to blame; imageRef checks again.
    const ref = imageRef(org, spec.image, tag);

    const gitState = states.get(def.dir);
    const source = spec.gitrepo ?? gitState?.remote;
    const labels: Record<string, string> = {
      ...(source ? { "org.opencontainers.image.source": source } : {}),
      ...(gitState?.commit ? { "org.opencontainers.image.revision": gitState.commit } : {}),
      ...(spec.config ? { "org.mobyproject.config": JSON.stringify(spec.config) } : {}),
      // LinuxKit records the tool that built the image: here pkgkit (no build stamps its commit).
      "org.mobyproject.linuxkit.version": `pkgkit v${PKGKIT_VERSION}`,
      "org.mobyproject.linuxkit.revision": "unknown",
      ...spec.labels,
    };
    const dirty = dirtyReasons.length > 0;
    const buildInfo: Record<string, string> = {
      PKG_HASH: hash,
      PKG_IMAGE: repository,
      ...(spec.gitrepo ? { SOURCE: spec.gitrepo } : {}),
      ...(gitState?.commit && !dirty ? { REVISION: gitState.commit } : {}),
      ...(gitState?.goPkgVersion ? { GOPKGVERSION: gitState.goPkgVersion } : {}),
    };
    const pkg = {
      id: node.id,
      file: def.file,
      dir: def.dir,
      spec,
      org,
      image: spec.image,
      repository,
      ref,
      hash,
      tag,
      dirty,
      dirtyReasons,
      commit: gitState?.commit,
      arches,
      network: resolveNetwork(options.network, fileValue(def, "network")).value,
      cache: !resolveDisableCache(options.disableCache, fileValue(def, "disableCache")).value,
      trust: !resolveDisableContentTrust(options.disableContentTrust, fileValue(def, "disableContentTrust")).value,
      attest: resolveAttest(fileValue(def, "attest"), workspaceValue(def, ws?.attest)).value,
      sourceDateEpoch: resolveSourceDateEpoch(options.sourceDateEpoch, { file: def.file, value: def.spec.sourceDateEpoch }, workspaceValue(def, ws?.sourceDateEpoch)).value,
      ...(inWorkspace(def) && ws?.signer ? { workspaceSigner: ws.signer } : {}),
      dockerfile: isAbsolute(spec.dockerfile) ? spec.dockerfile : join(def.dir, spec.dockerfile),
      buildArgs: { ...Object.fromEntries(node.args.map((a) => [a.name, "value" in a ? a.value : refNow(a.dependency)])), ...overridden(def, deps, options.buildArgs) },
      dependencies: deps.map((d) => ({ arg: d.arg, id: d.pkg.id, dir: d.pkg.dir, ref: indexRef(d.pkg) })),
      buildInfo,
      labels,
      extraSources: contextSources(def.dir, spec).slice(1),
      ...(spec.depends ? { dockerImages: dockerImagesOf(def) } : {}),
    } satisfies Package;
    resolved.set(node, pkg);
    heads.set(node, headHash);
  });
  const out = (n: GraphNode) => resolved.get(n)!;
  return { packages: graph.nodes.map(out), roots: graph.roots.map(out) };
}

/** `--build-arg-file` args over a package's own; one that names a dependency's build arg is refused (its value is the dependency's tag). */
function overridden(def: PackageDefinition, deps: { arg: string }[], args: Record<string, string> | undefined): Record<string, string> {
  const dep = deps.find((d) => args && Object.hasOwn(args, d.arg));
  if (dep) throw new InputError(`--build-arg-file sets ${dep.arg}, which ${def.file} gives another package's tag; pkgkit sets it from that package (rename the arg in the file)`);
  return args ?? {};
}

/** `depends.dockerImages` with its `fromFile` read (LinuxKit's form: one image a line; empty lines and `#` comments skipped), each checked to be pinned by digest. */
function dockerImagesOf(def: PackageDefinition): DockerImages {
  const { list, fromFile, target, targetDir } = def.spec.depends!.dockerImages;
  if (targetDir !== undefined && contextPath(targetDir) === ".")
    throw new InputError(`${def.file}: field "depends.dockerImages.targetDir": ${JSON.stringify(targetDir)} is the package directory itself, which would be emptied; expected a directory inside it, e.g. "images"`);
  if (target !== undefined && contextPath(target) === ".")
    throw new InputError(`${def.file}: field "depends.dockerImages.target": ${JSON.stringify(target)} is the package directory itself; expected a file inside it, e.g. "images.tar"`);
  let refs = list ?? [];
  if (fromFile !== undefined) {
    const field = `${def.file}: field "depends.dockerImages.fromFile"`;
    let text: string;
    try {
      text = readFileSync(resolve(def.dir, fromFile), "utf8");
    } catch (e) {
      throw new InputError(`${field}: cannot read ${JSON.stringify(fromFile)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a file in the package directory listing one image a line`);
    }
    refs = text.split("\n").flatMap((line, i) => {
      if (line.length === 0 || line.startsWith("#")) return [];
      if (!PINNED_IMAGE.re.test(line)) throw new InputError(`${field}: ${fromFile} line ${i + 1}: ${JSON.stringify(line)} has no digest; expected ${PINNED_IMAGE.form}`);
      return [line];
    });
  }
  return { refs, ...(target !== undefined ? { target } : {}), ...(targetDir !== undefined ? { targetDir } : {}) };
}

const sha1 = (s: string) => nodeCrypto().createHash("sha1").update(s).digest("hex");
const sha256 = (s: string) => nodeCrypto().createHash("sha256").update(s).digest("hex");

/** The directory whose tree names a package: the package's, or with --hash-path the parent given (checked). */
function hashDirOf(def: PackageDefinition, hashPath: string | undefined): string {
  if (hashPath === undefined) return def.dir;
  const r = relative(hashPath, def.dir);
  if (r.startsWith("..") || isAbsolute(r))
    throw new InputError(`--hash-path ${JSON.stringify(hashPath)}: not a parent of the package directory ${def.dir}; expected the package directory or a directory above it`);
  return hashPath;
}

/** A tag template, parsed; `source` names the flag or field for the error. */
function tagTemplateOf(template: string, source: string): TagTemplate {
  const parsed = parseTagTemplate(template);
  if (typeof parsed === "string") throw new InputError(`${source} ${JSON.stringify(template)}: ${parsed}`);
  return parsed;
}

/**
 * LinuxKit's hash of one package: the tree of `hashDir` (with extra sources), and when it is
 * dirty (or `forceDirty`), the contentHash of the package directory, with those of dirty extra sources folded in.
 */
async function ownHash(
  def: PackageDefinition,
  states: Map<string, DirState>,
  hashDir: string,
  forceDirty: boolean,
): Promise<{ head: string; changes?: { digest: string; paths: string[] } }> {
  const tree = (dir: string) => {
    const s = states.get(dir);
    if (!s?.tree)
      throw new InputError(
        `${dir}: not committed to git, so it has no tree hash; \`git add\` and commit it${dir === def.dir ? "" : dir === hashDir ? " (the --hash-path of " + def.file + ")" : ` (an extra source of ${def.file})`}, or pass --hash <tag>`,
      );
    return s.tree;
  };
  const extras = def.spec.extraSources.map((s) => resolve(def.dir, s.src));
  let head = tree(hashDir);
  if (extras.length > 0) head = sha1(head + extras.map(tree).join(""));
  const changedIn = (dir: string) => (states.get(dir)?.changed.length ?? 0) > 0;
  const dirtyExtras = extras.filter(changedIn);
  if (!forceDirty && !changedIn(hashDir) && dirtyExtras.length === 0) return { head };
  const paths = [hashDir, ...dirtyExtras].filter(changedIn).map((d) => relative(states.get(d)!.top, d) || ".");
  let digest = await contentHash(states.get(def.dir)!, def.dir);
  if (dirtyExtras.length > 0) digest = sha256(digest + (await Promise.all(dirtyExtras.map((d) => contentHash(states.get(d)!, d)))).join(""));
  return { head, changes: { digest, paths } };
}

/** The resolved graph as plain data (`pkgkit graph --json`): edges point from a package to what it depends on. */
export interface GraphJson {
  nodes: { id: string; ref: string; dir: string; file: string; tag: string; dirty: boolean; dirtyReasons: string[]; selected: boolean }[];
  edges: { from: string; to: string; arg: string }[];
}

export function graphJson(g: ResolvedGraph): GraphJson {
  const selected = new Set(g.roots);
  return {
    nodes: g.packages.map((p) => ({ id: p.id, ref: indexRef(p), dir: p.dir, file: p.file, tag: p.tag, dirty: p.dirty, dirtyReasons: p.dirtyReasons, selected: selected.has(p) })),
    edges: g.packages.flatMap((p) => p.dependencies.map((d) => ({ from: p.id, to: d.id, arg: d.arg }))),
  };
}

/**
 * The resolved graph for people: each package (dependencies first) with its directory, then one
 * line per dependency: `BUILD_ARG → org/image:tag`. Packages only reached as dependencies are marked.
 */
export function formatGraph(g: ResolvedGraph, cwd: string): string {
  const selected = new Set(g.roots);
  return g.packages
    .map((p) => {
      const where = relative(cwd, p.dir) || ".";
      const head = `${indexRef(p)}  ${where}${selected.has(p) ? "" : "  (dependency, not selected)"}`;
      const dirty = p.dirtyReasons.map((r) => `    dirty: ${r}`);
      return [head, ...p.dependencies.map((d) => `    ${d.arg} → ${d.ref}`), ...dirty].join("\n");
    })
    .join("\n");
}
