/**
 * plan(): packages + what already exists → the steps a command will take, as plain data.
 * It is pure: the existence look-ups happen before (see `lookupLocal`) and their answers are
 * recorded in the plan, so `plan`, `--dry-run` and `run()` all see the same decisions.
 */
import { archRef, indexRef, type Package } from "./package.ts";
import { platformKey, platformString, PLATFORMS, type Arch } from "./names.ts";
import { builderFor, type ArchBuilders, type Builder, type BuildCommand, type LocalImage } from "./builder.ts";
import type { Descriptor, Manifest } from "./registry/types.ts";
import type { ManifestFormat } from "./image.ts";
import { InputError } from "./errors.ts";
import { formatSignStep, withSignSteps, type SigningAssignments, type SignStep } from "./sign/plan.ts";
import type { SignerName } from "./sign/schema.ts";

export type Command = "build" | "push";

export interface BuildStep {
  kind: "build";
  id: string;
  package: string;
  dir: string;
  arch: Arch;
  platform: string;
  ref: string;
  builder: string;
  /**
   * The build context, the directory `command` runs in: the package directory (`dir`), or, when
   * there are extra sources, the one the package's context step assembles in run()'s scratch
   * directory. `command` names the context as "." and the Dockerfile relative to it.
   */
  context: "package" | "assembled";
  command: BuildCommand;
  reason: string;
}

export interface SkipStep {
  kind: "skip";
  id: string;
  package: string;
  /** Absent when the index is skipped. */
  arch?: Arch;
  ref: string;
  reason: string;
  /** What was found: the local image id, or the registry's manifest digest. */
  found?: string;
  /** Skipping a build of an image that will still be pushed, or skipping everything. */
  skips: "build" | "build+push" | "index";
}

/** Push `org/image:<tag>-<arch>` from the local engine to its registry. */
export interface PushStep {
  kind: "push";
  id: string;
  package: string;
  arch: Arch;
  platform: string;
  ref: string;
  repository: string;
  tag: string;
  format: ManifestFormat;
  /** The builder whose engine holds the image (it exports it). */
  builder: string;
  reason: string;
}

/** Merge this run's arches into the index `org/image:<tag>` (and point release tags at it). */
export interface IndexStep {
  kind: "index";
  id: string;
  package: string;
  ref: string;
  repository: string;
  tag: string;
  release?: string;
  /** Each arch's image: pushed by this run (digest known once pushed), or already in the registry. */
  arches: { arch: Arch; ref: string; digest?: string }[];
  reason: string;
}

/**
 * Copy the package and its extra sources into one context directory, which run() makes in its
 * scratch directory (plans name no scratch path): each `src` (absolute) to `dst`, relative to the
 * context ("." for its root).
 */
export interface ContextStep {
  kind: "context";
  id: string;
  package: string;
  sources: { src: string; dst: string }[];
  reason: string;
}

/** One step of a plan (build, skip, context, push, index or sign); `needs` names the steps that must have succeeded before it starts: its edges in the DAG. */
export type Step = (BuildStep | SkipStep | ContextStep | PushStep | IndexStep | SignStep) & { needs: string[] };
type NewStep = BuildStep | SkipStep | ContextStep | PushStep | IndexStep;

/**
 * What a command will do, as plain data: the packages, the steps (a DAG through `needs`), what the
 * decisions rest on (`observed`) and what the plan was made with (`inputs`). JSON as it is:
 * `pkgkit plan --json` writes one, `parsePlanFile` reads one back.
 */
export interface Plan {
  version: 1;
  command: Command;
  /** `commit`: HEAD when planned, which the builds record in their revision label. */
  packages: { name: string; dir: string; tag: string; dirty: boolean; arches: Arch[]; commit?: string }[];
  steps: Step[];
  /** What the decisions rest on: every look-up made while planning (see Observed). */
  observed?: Observed;
  /** The options the plan was made with, so `pkgkit apply` can plan again and compare. */
  inputs?: PlanInputs;
}

/** Each look-up made while planning, ref → what was found, null when nothing was. */
export interface Observed {
  /** Manifest digests: each `<tag>-<arch>` and release tag (HEAD), each index (GET). */
  registry: Record<string, string | null>;
  /** Image ids in the engine each arch builds in: the local one, unless it has a builder of its own. */
  local: Record<string, string | null>;
  /**
   * Push plans of packages that sign: for each image and index already in the registry,
   * `<ref>@<digest>` → the signer (its description) it is signed with, null when the package's
   * signer finds no signature. What is pushed by the plan is signed by it, and not looked up.
   */
  signatures?: Record<string, string | null>;
}

export interface PlanInputs {
  /** The builder's name (`buildx`, `legacy`), and each arch's that builds in an engine of its own (`buildx@ssh://arm-host`). */
  builder: string;
  builders?: Partial<Record<Arch, string>>;
  release?: string;
  format?: ManifestFormat;
  /** Every package, or those with these ids. */
  force: boolean | string[];
  /** Overrides the packages were resolved with, and the directory the workspace was looked up from. */
  resolved?: ResolvedWith;
  /** Push plans of packages that sign: what the run said about signing, and the pkgkit.yml read. */
  signing?: SigningInputs;
}

/** The run's signing flags (`--signer`, `--key` made absolute, `--keyless`) and the pkgkit.yml read, if any. */
export interface SigningInputs {
  signer?: SignerName;
  key?: string;
  keyless?: boolean;
  config?: string;
}

export interface ResolvedWith {
  from: string;
  org?: string;
  hash?: string;
  network?: boolean;
  disableCache?: boolean;
  disableContentTrust?: boolean;
}

/** What `plan()` decides with: the command, the builders, and the look-ups made before planning. */
export interface PlanOptions {
  command: Command;
  builder: Builder;
  /** Builders for arches that build elsewhere than `builder` (remote engines). */
  builders?: ArchBuilders;
  /** Images found by the look-up in each arch's builder's engine, keyed by ref. */
  local: Map<string, LocalImage>;
  /** Push only: what the registry has, keyed by ref (per-arch tags and release tags). Missing refs are absent. */
  remote?: Map<string, Descriptor>;
  /** Push only: the index at each package's `org/image:<tag>`, when the registry has one. */
  indexes?: Map<string, Manifest>;
  /** Push only: also point this tag at the index. */
  release?: string;
  /** Push only: manifest media types (default docker). */
  format?: ManifestFormat;
  /** Rebuild (and push) even what exists: every package, or those with these ids. */
  force?: boolean | string[];
  /** Recorded in the plan as they are. */
  observed?: Observed;
  resolved?: ResolvedWith;
  /** Push only: the packages that sign (by `org/image:<tag>`), with their signer; see lib/sign/plan.ts. */
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
  const steps: Step[] = [];
  const add = (step: NewStep, needs: string[] = []) => void steps.push({ ...step, needs });
  const push = options.command === "push";
  const byId = new Map(packages.map((p) => [p.id, p]));
  /** `<package id>/<arch>` → the id of the step that builds that image in this plan. */
  const builtBy = new Map<string, string>();
  for (const pkg of packages) {
    const name = `${pkg.repository}:${pkg.tag}`;
    const force = forced(pkg, options.force);
    const needsContext = pkg.extraSources.length > 0;
    let contextStep: string | undefined;
    const indexArches: IndexStep["arches"] = [];
    const pushSteps: string[] = [];
    for (const arch of pkg.arches) {
      const ref = archRef(pkg, arch);
      const id = `${pkg.repository}:${pkg.tag}/${arch}`;
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
      if (existing && !force) {
        add({ kind: "skip", id, package: name, arch, ref, reason: `exists in ${engine}`, found: existing.id, skips: "build" });
      } else {
        const buildArgs = { ...pkg.buildArgs };
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
          add({
            kind: "context",
            id: `${name}/context`,
            package: name,
            sources: [{ src: pkg.dir, dst: "." }, ...pkg.extraSources],
            reason: `package has ${pkg.extraSources.length} extra source(s)`,
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
            network: pkg.network,
            cache: pkg.cache,
            buildArgs,
            labels: pkg.labels,
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
          repository: pkg.repository,
          tag: ref.slice(pkg.repository.length + 1),
          format: options.format ?? "docker",
          builder: builder.name,
          reason: remote ? "--force: push although the registry has it" : "not in registry",
        }, buildStep ? [buildStep] : []);
      }
    }
    if (push) {
      const index = indexStep(pkg, name, indexArches, options);
      add(index, index.kind === "index" ? pushSteps : []);
    }
  }
  const planned: Plan = {
    version: 1,
    command: options.command,
    packages: packages.map((p) => ({ name: `${p.repository}:${p.tag}`, dir: p.dir, tag: p.tag, dirty: p.dirty, arches: p.arches, ...(p.commit ? { commit: p.commit } : {}) })),
    steps,
    ...(options.observed ? { observed: options.observed } : {}),
    inputs: {
      builder: options.builder.name,
      ...(Object.keys(options.builders ?? {}).length ? { builders: Object.fromEntries(Object.entries(options.builders!).map(([a, b]) => [a, b!.name])) } : {}),
      ...(options.release ? { release: options.release } : {}),
      ...(options.format ? { format: options.format } : {}),
      force: options.force ?? false,
      ...(options.resolved ? { resolved: options.resolved } : {}),
      ...(options.signingWith ? { signing: options.signingWith } : {}),
    },
  };
  if (!push || !options.signing?.size) return planned;
  return withSignSteps(planned, { signing: options.signing, remote: options.remote, indexes: options.indexes, signed: options.signed ?? new Set(), release: options.release });
}

/** The index step, or a skip when the registry's index already lists every arch's image. */
function indexStep(pkg: Package, name: string, arches: IndexStep["arches"], options: PlanOptions): IndexStep | SkipStep {
  const ref = indexRef(pkg);
  const index = options.indexes?.get(ref);
  const release = options.release;
  const listed = (a: IndexStep["arches"][number]) =>
    !!a.digest && !!index?.json.manifests?.some((d) => d.digest === a.digest && platformKey(d.platform) === platformKey(PLATFORMS[a.arch]));
  const releaseDone = !release || options.remote?.get(`${pkg.repository}:${release}`)?.digest === index?.digest;
  if (index && arches.every(listed) && releaseDone && !forced(pkg, options.force))
    return { kind: "skip", id: `${name}/index`, package: name, ref, reason: "index in registry lists every arch", found: index.digest, skips: "index" };
  return {
    kind: "index",
    id: `${name}/index`,
    package: name,
    ref,
    repository: pkg.repository,
    tag: pkg.tag,
    ...(release ? { release } : {}),
    arches,
    reason: index ? `merge ${arches.map((a) => a.arch).join(", ")} into the existing index (${index.json.manifests?.length ?? 0} entries)` : "no index in registry yet",
  };
}

export const forced = (pkg: Package, force: PlanOptions["force"]) => (Array.isArray(force) ? force.includes(pkg.id) : force === true);

function relativeTo(dir: string, file: string): string {
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Human-readable plan, one line per step. */
export function formatPlan(p: Plan): string {
  const count = (k: Step["kind"]) => p.steps.filter((s) => s.kind === k).length;
  const signs = p.steps.filter((s) => s.kind === "sign" && s.action === "sign").length;
  const counts = [`${count("build")} to build`, ...(p.command === "push" ? [`${count("push")} to push`, `${count("index")} index(es) to write`, ...(signs ? [`${signs} to sign`] : [])] : []), `${count("skip")} to skip`];
  const lines = [`plan: ${p.command} (${counts.join(", ")})`];
  for (const s of p.steps) {
    if (s.kind === "build") {
      lines.push(`  build  ${s.ref}  [${s.platform}, ${s.builder}]  ${s.reason}`);
      lines.push(`         $ ${[...Object.entries(s.command.env ?? {}).map(([k, v]) => `${k}=${v}`), ...s.command.argv].map(quoteForDisplay).join(" ")}   # in ${s.context === "package" ? s.dir : "its assembled context"}`);
    } else if (s.kind === "skip") lines.push(`  skip   ${s.ref}  ${s.reason}${s.found ? ` (${s.found.slice(0, 19)})` : ""}`);
    else if (s.kind === "push") lines.push(`  push   ${s.ref}  [${s.platform}, ${s.format} manifest, from ${s.builder}]  ${s.reason}`);
    else if (s.kind === "index")
      lines.push(`  index  ${s.ref}${s.release ? ` (+ ${s.repository}:${s.release})` : ""}  ${s.arches.map((a) => a.arch).join(", ")}: ${s.reason}`);
    else if (s.kind === "sign") lines.push(formatSignStep(s));
    else lines.push(`  context ${s.package}  ${s.reason}`, ...s.sources.map((c) => `         ${c.src} → ${c.dst === "." ? "./" : `./${c.dst}`}`));
  }
  const state = (where: string, seen: Record<string, string | null>) =>
    Object.entries(seen).map(([ref, found]) => `  ${where}  ${ref}  ${found ?? "not found"}`);
  const signatures = Object.entries(p.observed?.signatures ?? {}).map(([ref, by]) => `  signature  ${ref}  ${by ? `signed (${by})` : "not signed"}`);
  const observed = [...state("registry", p.observed?.registry ?? {}), ...state("engine  ", p.observed?.local ?? {}), ...signatures];
  if (observed.length) lines.push("looked up (what these decisions rest on):", ...observed);
  return lines.join("\n");
}

/** Quote for display only: plans are executed from argv arrays, never from this text. */
function quoteForDisplay(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
}
