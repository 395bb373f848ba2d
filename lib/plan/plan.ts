/**
 * plan(): packages + what already exists → the steps a command will take, as plain data.
 * It is pure: the existence look-ups happen before (see `lookupEngines` in recipes/build.ts) and
 * their answers are recorded in the plan, so `plan`, `--dry-run` and `run()` all see the same
 * decisions.
 */
import type { DockerImages, Package } from "../package.ts";
import { formatRef, platformKey, platformString, registryTag, withArch, PLATFORMS, type ImageRef } from "../names.ts";
import { builderFor, type ArchBuilders, type Builder, type LocalImage } from "../builder.ts";
import type { Descriptor, Manifest } from "../registry/types.ts";
import type { ManifestFormat } from "../image.ts";
import { InputError } from "../errors.ts";
import type { Command, ContextStep, IndexStep, Observed, Plan, ResolvedWith, SigningInputs, SkipStep, Step } from "./schema.ts";
import { withSigning, type SigningAssignments } from "./sign.ts";

/** What `plan()` decides with: the command, the builders, and the look-ups made before planning (signatures included). */
export interface PlanOptions {
  command: Command;
  builder: Builder;
  /** Builders for arches that build elsewhere than `builder` (remote engines). */
  builders?: ArchBuilders;
  /** Images found by the look-up in each arch's builder's engine, keyed by ref; plain `org/image:<tag>` refs: in the local engine. */
  local: Map<string, LocalImage>;
  /**
   * The local engine's native arch (its machine's GOARCH). Images of that arch built there also get
   * the plain tag `org/image:<tag>`, as LinuxKit tags the build platform's image, so another
   * package's `FROM org/image:<tag>` builds without a registry. An engine of its own (`builders`)
   * given for one arch is that arch's machine: its images get the plain tag there. Absent: the
   * local engine tags nothing plain.
   */
  nativeArch?: string;
  /** Per-arch images of arches that build in an engine of their own and are missing there, found in the local engine: copied over rather than rebuilt. */
  localEngine?: Map<string, LocalImage>;
  /** Push only: what the registry has, keyed by ref (per-arch tags and release tags). Missing refs are absent. */
  remote?: Map<string, Descriptor>;
  /** Push only: the index at each package's `org/image:<tag>`, when the registry has one. */
  indexes?: Map<string, Manifest>;
  /** Push only: also point this tag at the index. */
  release?: string;
  /** Push only: manifest media types (default docker). */
  format?: ManifestFormat;
  /** Push only: false to push the per-arch images without merging them into the index (LinuxKit's `--manifest=false`). */
  manifest?: false;
  /** false: builds make no attestations (`--sbom-scanner false`). */
  attestations?: false;
  /** Rebuild (and push) even what exists: every package, or those with these ids. */
  force?: boolean | string[];
  /** Recorded in the plan as they are. */
  observed?: Observed;
  resolved?: ResolvedWith;
  /** Push only: the packages that sign (by `org/image:<tag>`), with their signer; see lib/plan/sign.ts. */
  signing?: SigningAssignments;
  /** Push only: `<ref>@<digest>` of images and indexes in the registry already signed by their package's signer. */
  signed?: Set<string>;
  /** Recorded in the plan as they are. */
  signingWith?: SigningInputs;
}

/**
 * The steps `options.command` takes for `packages`, decided from the look-ups in `options` (what
 * the engines and the registry already have). Pure: it starts nothing and asks nothing. Throws
 * InputError when a package builds an arch that one of its dependencies does not.
 *
 * Packages come dependencies first (as `resolveGraph` orders them). A build waits for the builds
 * of its dependencies for the same arch; a dependency's build arg is its per-arch reference
 * (`org/image:<tag>-<arch>`), which the engine has once that build ran, or pulls from the registry.
 * A push plan of packages that sign (`options.signing`) has their sign steps in their places
 * (lib/plan/sign.ts).
 *
 * @example
 * ```ts
 * import { archRef, defaultShell, detectBuilder, formatPlan, loadPackages, plan, resolvePackages } from "pkgkit";
 *
 * const shell = await defaultShell();
 * const builder = await detectBuilder(shell);
 * const packages = await resolvePackages(shell, await loadPackages(["pkg/app"]));
 * // The look-up plan() rests on: which per-arch images the engine has already.
 * const local = await builder.inspect(packages.flatMap((p) => p.arches.map((arch) => archRef(p, arch))));
 * console.log(formatPlan(plan(packages, { command: "build", builder, local })));
 * ```
 */
export function plan(packages: Package[], options: PlanOptions): Plan {
  /** Prepare steps that need nothing: before every package's steps. */
  const first: Step[] = [];
  const steps: Step[] = [];
  const push = options.command === "push";
  const byId = new Map(packages.map((p) => [p.id, p]));
  /** `<package id>/<arch>` → the id of the step that builds that image in this plan. */
  const builtBy = new Map<string, string>();
  for (const pkg of packages) {
    const own: Step[] = [];
    const add = (step: Unplaced<Step>, needs: string[] = []) => void own.push({ ...step, needs });
    const index = pkg.ref;
    const name = formatRef(index);
    const force = forced(pkg, options.force);
    const needsContext = pkg.extraSources.length > 0 || pkg.dockerImages !== undefined;
    let contextStep: string | undefined;
    const indexArches: IndexStep["arches"] = [];
    const pushSteps: string[] = [];
    for (const arch of pkg.arches) {
      const image = withArch(index, arch);
      const ref = formatRef(image);
      const id = `${name}/${arch}`;
      const remote = push ? options.remote?.get(ref) : undefined;
      if (remote && !force) {
        add({ kind: "skip", id, package: name, arch, ref, reason: "exists in registry", found: remote.digest, skips: "build+push" });
        indexArches.push({ arch, ref, digest: remote.digest });
        continue;
      }
      indexArches.push({ arch, ref });
      const builder = builderFor(arch, options.builder, options.builders);
      const engine = builder.engine ? `engine ${builder.engine}` : "local engine";
      const existing = options.local.get(ref);
      let buildStep: string | undefined;
      const alias = plainArch(builder, options) === arch ? name : undefined;
      const copyable = builder.engine && !force ? options.localEngine?.get(ref) : undefined;
      if (existing && !force) {
        add({ kind: "skip", id, package: name, arch, ref, reason: `exists in ${engine}`, found: existing.id, skips: "build" });
        // Only the local engine's plain tags are looked up: an engine of its own gets them when it builds.
        if (alias && !builder.engine && options.local.get(alias)?.id !== existing.id)
          add({ kind: "tag", id: `${id}/tag`, package: name, arch, ref, alias, builder: builder.name, reason: `${alias} is ${options.local.has(alias) ? "another image" : "not"} in the local engine` });
      } else if (copyable) {
        add({
          kind: "tag",
          id,
          package: name,
          arch,
          ref,
          ...(alias ? { alias } : {}),
          builder: builder.name,
          from: options.builder.name,
          reason: `exists in the local engine, not in ${engine}: copied there rather than rebuilt`,
        });
        buildStep = id;
        builtBy.set(`${pkg.id}/${arch}`, id);
      } else {
        const buildArgs: Record<string, string> = { SOURCE_DATE_EPOCH: String(pkg.sourceDateEpoch), ...pkg.buildInfo, ...pkg.buildArgs };
        const needs: string[] = [];
        for (const dep of pkg.dependencies) {
          const d = byId.get(dep.id);
          if (d && !d.arches.includes(arch))
            throw new InputError(`${pkg.file}: ${pkg.repository} builds ${arch}, but its dependency ${d.repository} (build arg ${dep.arg}, ${d.file}) has no ${arch}; its arches: ${d.arches.join(", ")}`);
          buildArgs[dep.arg] = `${dep.ref}-${arch}`;
          const producer = builtBy.get(`${dep.id}/${arch}`);
          if (producer) needs.push(producer);
        }
        if (needsContext && !contextStep) {
          contextStep = `${name}/context`;
          const images = pkg.dockerImages;
          add({
            kind: "context",
            id: `${name}/context`,
            package: name,
            sources: [{ src: pkg.dir, dst: "." }, ...pkg.extraSources],
            ...(images ? { images: imageArchives(images) } : {}),
            reason: [
              ...(pkg.extraSources.length ? [`package has ${pkg.extraSources.length} extra source(s)`] : []),
              ...(images ? [`depends.dockerImages: ${images.refs.length} image(s) saved into the context`] : []),
            ].join("; "),
          });
        }
        if (contextStep) needs.unshift(contextStep);
        add({
          kind: "build",
          id,
          package: name,
          dir: pkg.dir,
          arch,
          platform: platformString(arch),
          ref,
          builder: builder.name,
          context: needsContext ? "assembled" : "package",
          command: builder.command({
            context: ".",
            dockerfile: relativeTo(pkg.dir, pkg.dockerfile),
            arch,
            ref,
            ...(alias ? { alias } : {}),
            network: pkg.network,
            cache: pkg.cache,
            buildArgs,
            labels: pkg.labels,
            ...(options.attestations === false ? { attestations: false } : {}),
          }),
          reason: force && (remote || existing)
            ? `--force: rebuild although it exists ${remote ? "in the registry" : builder.engine ? `in ${engine}` : "locally"}`
            : push ? `not in registry, not in ${engine}` : `not in ${engine}`,
        }, needs);
        buildStep = id;
        builtBy.set(`${pkg.id}/${arch}`, id);
      }
      if (push) {
        pushSteps.push(`${id}/push`);
        add({
          kind: "push",
          id: `${id}/push`,
          package: name,
          arch,
          platform: platformString(arch),
          ref,
          repository: image.repository,
          tag: registryTag(image),
          format: options.format ?? "docker",
          builder: builder.name,
          sourceDateEpoch: pkg.sourceDateEpoch,
          reason: remote ? "--force: push although the registry has it" : "not in registry",
        }, buildStep ? [buildStep] : []);
      }
    }
    if (push && options.manifest !== false) {
      const step = indexStep(pkg, index, indexArches, options);
      add(step, step.kind === "index" ? pushSteps : []);
    }
    const signer = push ? options.signing?.get(name) : undefined;
    if (!signer) {
      steps.push(...own);
      continue;
    }
    const signed = withSigning(index, own, signer, { remote: options.remote, indexes: options.indexes, signed: options.signed ?? new Set(), release: options.release });
    if (signed.first) first.push(signed.first);
    steps.push(...signed.steps);
  }
  const tls = Object.entries(options.builders ?? {}).flatMap(([a, b]) => (b?.tls ? [[a, b.tls] as const] : []));
  return {
    version: 1,
    command: options.command,
    packages: packages.map((p) => ({
      name: formatRef(p.ref), dir: p.dir, tag: p.tag, dirty: p.dirty, arches: p.arches,
      ...(p.commit ? { commit: p.commit } : {}),
      ...(p.buildInfo?.GOPKGVERSION ? { goPkgVersion: p.buildInfo.GOPKGVERSION } : {}),
    })),
    steps: [...first, ...steps],
    ...(options.observed ? { observed: options.observed } : {}),
    inputs: {
      builder: options.builder.name,
      ...(Object.keys(options.builders ?? {}).length ? { builders: Object.fromEntries(Object.entries(options.builders!).map(([a, b]) => [a, b!.name])) } : {}),
      ...(tls.length ? { builderTls: Object.fromEntries(tls) } : {}),
      ...(options.release ? { release: options.release } : {}),
      ...(options.format ? { format: options.format } : {}),
      force: options.force ?? false,
      ...(push && options.manifest === false ? { manifest: false as const } : {}),
      ...(options.attestations === false ? { attestations: false as const } : {}),
      ...(options.resolved ? { resolved: options.resolved } : {}),
      ...(options.signingWith ? { signing: options.signingWith } : {}),
    },
  };
}

/** Where `depends.dockerImages` puts its images, as LinuxKit: one archive `target`, or `<targetDir>/<last path component>@<digest>.tar` each. */
function imageArchives(d: DockerImages): NonNullable<ContextStep["images"]> {
  if (d.targetDir === undefined) return { archives: [{ dst: d.target!, refs: d.refs }] };
  const file = (ref: string) => {
    const at = ref.lastIndexOf("@");
    const locator = ref.slice(0, at).replace(/:[^/]*$/, "");
    return `${d.targetDir}/${locator.slice(locator.lastIndexOf("/") + 1)}${ref.slice(at)}.tar`;
  };
  return { emptyDir: d.targetDir, archives: d.refs.map((ref) => ({ dst: file(ref), refs: [ref] })) };
}

/** The arch whose images get the plain tag in `builder`'s engine (see PlanOptions.nativeArch). */
function plainArch(builder: Builder, options: PlanOptions): string | undefined {
  if (!builder.engine) return options.nativeArch;
  const given = Object.entries(options.builders ?? {}).filter(([, b]) => b?.engine === builder.engine);
  return given.length === 1 ? given[0]![0] : undefined;
}

/** A step before plan() gives it its `needs`. */
type Unplaced<S> = S extends unknown ? Omit<S, "needs"> : never;

/** The index step, or a skip when the registry's index already lists every arch's image. */
function indexStep(pkg: Package, image: ImageRef, arches: IndexStep["arches"], options: PlanOptions): Unplaced<IndexStep | SkipStep> {
  const name = formatRef(image);
  const ref = name;
  const index = options.indexes?.get(ref);
  const release = options.release;
  const listed = (a: IndexStep["arches"][number]) =>
    !!a.digest && !!index?.json.manifests?.some((d) => d.digest === a.digest && platformKey(d.platform) === platformKey(PLATFORMS[a.arch]));
  const releaseDone = !release || options.remote?.get(`${image.repository}:${release}`)?.digest === index?.digest;
  if (index && arches.every(listed) && releaseDone && !forced(pkg, options.force))
    return { kind: "skip", id: `${name}/index`, package: name, ref, reason: "index in registry lists every arch", found: index.digest, skips: "index" };
  return {
    kind: "index",
    id: `${name}/index`,
    package: name,
    ref,
    repository: image.repository,
    tag: registryTag(image),
    ...(release ? { release } : {}),
    arches,
    reason: index ? `merge ${arches.map((a) => a.arch).join(", ")} into the existing index (${index.json.manifests?.length ?? 0} entries)` : "no index in registry yet",
  };
}

/** Whether `force` names `pkg`. */
export const forced = (pkg: Package, force: PlanOptions["force"]) => (Array.isArray(force) ? force.includes(pkg.id) : force === true);

function relativeTo(dir: string, file: string): string {
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}
