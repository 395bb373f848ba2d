/**
 * The command line, for the `pkgkit` bin and for a config file run directly
 * (`npx tsx pkg.config.ts build`). Commands are composed from recipes/.
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { formatOptions, parseArgs, type OptionSpec, type ParsedOptions } from "./args.ts";
import { errorText, ExitCode, InputError, isPkgkitError } from "../errors.ts";
import { ARCHES } from "../spec.ts";
import { formatGraph, graphJson, indexRef, type Package } from "../package.ts";
import { canonicalRef } from "../names.ts";
import { DEFAULT_HASH_COMMIT } from "../git.ts";
import { formatPlan } from "../plan/format.ts";
import type { Plan, ResolvedWith } from "../plan/schema.ts";
import type { Result } from "../run.ts";
import type { Registry } from "../registry/types.ts";
import {
  REGISTRY_DEFAULTS, resolveAttestations, resolveBuildArgFiles, resolveBuildMode, resolveRelease, resolveSettings, resolveVerbosity, type Settings,
} from "../options.ts";
import { createSession } from "../session.ts";
import { findWorkspace, workspaceDefaults } from "../workspace.ts";
import { scriptArgs } from "../runtime.ts";
import { BUILD_YML, CONFIG_FILE } from "../load.ts";
import type { PackageDefinition } from "../define.ts";
import { graphOfTargets, resolveRunSet, targetsDir, type Targets } from "../../recipes/packages.ts";
import { planBuild } from "../../recipes/build.ts";
import { planPush, refuseDirty } from "../../recipes/push.ts";
import { applyPlan } from "../../recipes/apply.ts";
import { parsePlanFile, planByArch, selectPlan, type PlanMatrix } from "../apply.ts";
import { run } from "../run.ts";
import { consoleReporter, formatUnsigned, interruptReport, pushSummary, runExitCode, summarize, summaryTable, unsignedRefs } from "../../recipes/report.ts";
import { signingOptions, signingFlags, verifyCommand } from "./sign.ts";
import { sbomCommand } from "./sbom.ts";
import { doctorCommand } from "./doctor.ts";
import { checkLinuxkitFlags, linuxkitBuildFlags, linuxkitBuildOnlyFlags, linuxkitOtherFlags, linuxkitPushFlags } from "./linuxkit.ts";
import { MAX_CONFIG_BYTES, MAX_PLAN_BYTES, readTextLimited, tooLarge } from "../limits.ts";

const PLAN_FILE = "a plan written by `pkgkit plan --json`";

const common: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
};
const naming: Record<string, OptionSpec> = {
  org: { type: "string", value: "<org>", help: "override the org, e.g. wombat or 127.0.0.1:5000/demo (env: PKGKIT_ORG, then LINUXKIT_PKG_ORG)" },
  hash: { type: "string", value: "<hash>", help: "use this instead of the git tree hash" },
  tag: { type: "string", value: "<template>", help: "the tag template for every package, instead of its tag field: text with {{.Hash}}, or fixed text" },
  "build-yml": { type: "string", value: "<file>", help: "read this file in each package directory as its build.yml (LinuxKit's --build-yml)" },
  "hash-commit": { type: "string", value: "<commit>", help: "take the tree hashes at this commit (default HEAD); at any other commit nothing is dirty" },
  "hash-path": { type: "string", value: "<dir>", help: "hash this parent of the package directories instead of each directory (its tree and changes)" },
  "force-dirty": { type: "boolean", help: "treat every package as dirty: its tag ends in -dirty-<content hash>" },
  dev: { type: "boolean", help: "LinuxKit's dev tags: org $USER (unless --org, PKGKIT_ORG or LINUXKIT_PKG_ORG) and hash \"dev\" (unless --hash)" },
  json: { type: "boolean", help: "print machine-readable JSON on stdout" },
};
const building: Record<string, OptionSpec> = {
  arches: { type: "string", value: "<a,b>", help: `build only these arches (of ${ARCHES.join(", ")}; each also as linux/<arch>)` },
  network: { type: "boolean", negatedBy: ["no-network", "nonetwork"], help: "allow network during RUN (overrides the package)" },
  "disable-cache": { type: "boolean", negatedBy: ["enable-cache"], help: "build without the build cache (overrides the package)" },
  "disable-content-trust": { type: "boolean", negatedBy: ["enable-content-trust"], help: "do not sign (overrides the package)" },
  builder: { type: "string", value: "<buildx|legacy>", help: "builder to use (default: buildx if the docker CLI has it, else legacy)" },
  builders: { type: "string", value: "<arch=engine,...>", help: "build these arches in an engine of their own, a docker endpoint (unix://, tcp://, ssh://) or context, e.g. arm64=ssh://user@arm-host or linux/arm64=<context>; the others build locally (env: PKGKIT_BUILDERS, or LINUXKIT_BUILDERS merged under the flag per arch; workspace: builders). A tcp:// engine's TLS files: DOCKER_CERT_PATH, or the workspace's builders.<arch>.tls" },
  "source-date-epoch": { type: "string", value: "<seconds>", help: "SOURCE_DATE_EPOCH: image times after it are clamped to it, and builds get it as a build arg (default 0; env: SOURCE_DATE_EPOCH; package: sourceDateEpoch)" },
  force: { type: "boolean", help: "rebuild images that already exist (locally; for push also in the registry) and push them again" },
  verbose: { type: "level", short: "v", value: "<n>", help: "print build output, and notes on flags accepted without effect; LinuxKit's -v N: 0 quiet, 1 the default, 2 and 3 as -v" },
  jobs: { type: "string", short: "j", value: "<n>", help: "steps to run at once: independent packages and arches build in parallel (default: one per core)" },
};

/** How pkgkit reaches registries: every command that talks to one takes these. */
function registryFlags(): Record<string, OptionSpec> {
  return {
    "registry-ca": { type: "string", value: "<file,...>", help: "trust these CA certificates (PEM) for every registry, besides certs.d/<host:port>/ca.crt" },
    "insecure-registry": { type: "string", value: "<host,...>", help: "allow plain HTTP and unverified TLS for these registries (env: PKGKIT_INSECURE_REGISTRIES); loopback may use plain HTTP anyway" },
    "registry-timeout": { type: "string", value: "<duration>", help: `longest wait of one registry request for a connection, the answer, or the next chunk of a body, e.g. 30s (default ${REGISTRY_DEFAULTS.timeout}; env: PKGKIT_REGISTRY_TIMEOUT)` },
    "registry-total-timeout": { type: "string", value: "<duration>", help: `no retry of a registry request starts after this, e.g. 5m (default ${REGISTRY_DEFAULTS.total}; env: PKGKIT_REGISTRY_TOTAL_TIMEOUT)` },
    "registry-retries": { type: "string", value: "<n>", help: `retry a registry request that failed with 5xx, 429, a reset, refused or timed-out connection up to n times (default ${REGISTRY_DEFAULTS.retries}; env: PKGKIT_REGISTRY_RETRIES)` },
  };
}

const pushing: Record<string, OptionSpec> = {
  "allow-dirty": { type: "boolean", help: "push packages with uncommitted changes (their tags end in -dirty-<hash>)" },
  release: { type: "string", value: "<tag>", help: "also point org/image:<tag> at each index, e.g. v1.2.3" },
  oci: { type: "boolean", help: "push OCI manifests and index (default: Docker v2 media types)" },
  ...registryFlags(),
  ...signingFlags,
};
/** No directory: the workspace's packages; a quoted glob: the package directories it matches. */
const PACKAGE_ARGS = "[<dir|glob>...]";

/** How the command was spelled: `pkgkit pkg <command>` keeps LinuxKit's current defaults (see LINUXKIT_COMMANDS). */
interface Spelling {
  linuxkit: boolean;
}

interface CommandDef {
  summary: string;
  args: string;
  options: Record<string, OptionSpec>;
  run(targets: Targets, o: ParsedOptions, how?: Spelling): Promise<number>;
}

const commands: Record<string, CommandDef> = {
  build: {
    summary: "build org/image:<tag>-<arch> for each arch into the local engine, skipping what exists",
    args: PACKAGE_ARGS,
    options: { ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitBuildOnlyFlags, ...linuxkitOtherFlags, "dry-run": { type: "boolean", help: "print the plan, build nothing" }, ...common },
    run: (t, o) => unlessNothingToBuild(async () => {
      const { plan, session, settings } = await planFor(t, o);
      if (o["dry-run"]) return printPlan(plan, o);
      const reporter = reporterFor(o);
      const interrupt = catchInterrupts();
      const result = await run(plan, session, { reporter, jobs: settings.jobs, signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      if (o.json) console.log(JSON.stringify({ plan, result }, null, 2));
      if (!resolveVerbosity(o).quiet || !result.ok) process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n`);
      return result.ok ? ExitCode.ok : ExitCode.failed;
    }),
  },
  push: {
    summary: "build what is missing, push org/image:<tag>-<arch> and merge them into the index org/image:<tag>",
    args: PACKAGE_ARGS,
    options: {
      ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitPushFlags, ...linuxkitOtherFlags, ...pushing,
      push: { type: "boolean", help: "accepted: push pushes (`build --push` runs push, with push's options)" },
      "dry-run": { type: "boolean", help: "print the plan, build and push nothing" }, ...common,
    },
    run: (t, o, how) => unlessNothingToBuild(async () => {
      const { plan, session, settings } = await pushPlanFor(t, o, undefined, how);
      if (o["dry-run"]) return printPlan(plan, o);
      const reporter = reporterFor(o);
      notice = reporter.note;
      const interrupt = catchInterrupts();
      const result = await run(plan, session, { reporter, jobs: settings.jobs, signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      return reportRun(plan, result, o);
    }),
  },
  plan: {
    summary: "show what build (or push, with --push) would do, and why, without doing it; --json writes a plan for apply",
    args: PACKAGE_ARGS,
    options: {
      ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitPushFlags, ...linuxkitOtherFlags,
      push: { type: "boolean", help: "plan a push: also look up what the registry has" },
      by: { type: "string", value: "arch", help: "one plan per arch (a CI job matrix): each builds and pushes only its arch and merges it into the index" },
      ...pushing, ...common,
    },
    async run(t, o) {
      if (o.by === undefined) return printPlan((o.push ? await pushPlanFor(t, o) : await planFor(t, o)).plan, o);
      if (o.by !== "arch") throw new InputError(`--by ${JSON.stringify(o.by)}: expected arch`);
      // Groups merge into the index at once; each would point the release tag at the index as it saw it.
      if (typeof o.release === "string")
        throw new InputError(`--release with --by arch: the groups would race to point ${o.release} at the index; once every group has run, \`pkgkit push --release ${o.release}\` points it (everything else exists by then)`);
      const matrix = o.push ? await pushPlanFor(t, o, "arch") : await planFor(t, o, "arch");
      console.log(o.json ? JSON.stringify(matrix, null, 2) : matrix.groups.map((g) => `group ${g.arch}:\n${formatPlan(g.plan)}`).join("\n\n"));
      return ExitCode.ok;
    },
  },
  apply: {
    summary: "run a plan written by `plan --json`, once the registry, the engines and the sources are as it saw them",
    args: "<plan.json|->",
    options: {
      arch: { type: "string", value: "<arch>", help: "with a matrix (`plan --json --by arch`): apply that arch's plan" },
      json: naming.json!,
      verbose: building.verbose!,
      jobs: building.jobs!,
      ...registryFlags(),
      ...common,
    },
    async run(t, o) {
      if (t.dirs.length !== 1) throw new InputError(`apply takes exactly one plan file (or - for stdin)\n${usage("apply")}`);
      const file = t.dirs[0]!;
      const name = file === "-" ? "the plan on stdin" : file;
      const text = file === "-" ? await readStdin(MAX_PLAN_BYTES, name, PLAN_FILE) : readTextLimited(file, MAX_PLAN_BYTES, PLAN_FILE);
      const plan = selectPlan(parsePlanFile(text, name), name, typeof o.arch === "string" ? o.arch : undefined);
      const settings = resolveSettings(o, process.env, { registry: plan.command === "push" });
      const registry = plan.command === "push" ? await registryFor(settings) : undefined;
      const reporter = reporterFor(o);
      notice = reporter.note;
      const interrupt = catchInterrupts();
      const { result, changes } = await applyPlan(plan, { registry, reporter, jobs: settings.jobs, file: name, signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      for (const c of changes)
        process.stderr.write(`note: ${c.ref} changed since the plan (${c.planned ?? "not there"} → ${c.now ?? "not there"}); other writers merge into it, and the plan's steps are the same, so it still holds\n`);
      return reportRun(plan, result, o);
    },
  },
  "show-tag": {
    summary: "print org/image:<tag> for each package",
    args: PACKAGE_ARGS,
    options: { ...naming, canonical: { type: "boolean", help: "print the reference in full, as LinuxKit's --canonical: docker.io/linuxkit/foo:<tag>" }, verbose: building.verbose!, quiet: linuxkitBuildFlags.quiet!, ...common },
    async run(t, o) {
      resolveVerbosity(o);
      const packages = await resolveTargets(t, o);
      const ref = (p: Package) => (o.canonical ? canonicalRef(indexRef(p)) : indexRef(p));
      if (o.json)
        console.log(JSON.stringify(packages.map((p) => ({ dir: p.dir, ref: ref(p), repository: p.repository, tag: p.tag, hash: p.hash, dirty: p.dirty, arches: p.arches })), null, 2));
      else console.log(packages.map(ref).join("\n"));
      return ExitCode.ok;
    },
  },
  graph: {
    summary: "print the packages and the dependencies between them (with --json: nodes and edges)",
    args: PACKAGE_ARGS,
    options: { ...naming, ...common },
    async run(t, o) {
      const { workspace, settings } = await settingsFor(t, o);
      const graph = await graphOfTargets(t, settings.packages, workspace);
      console.log(o.json ? JSON.stringify(graphJson(graph), null, 2) : formatGraph(graph, process.cwd()));
      return ExitCode.ok;
    },
  },
  verify: verifyCommand({ args: PACKAGE_ARGS, naming, registryFlags: registryFlags(), common, packagesAndRegistry }),
  sbom: sbomCommand({ naming, registryFlags: registryFlags(), common, settingsFor }),
  doctor: doctorCommand({ args: PACKAGE_ARGS, run: { org: naming.org!, arches: building.arches!, platforms: linuxkitBuildFlags.platforms!, builders: building.builders!, builder: building.builder!, "disable-content-trust": building["disable-content-trust"]!, json: naming.json! }, registryFlags: registryFlags(), common }),
  migrate: {
    summary: `write the ${CONFIG_FILE} equivalent of a LinuxKit ${BUILD_YML}`,
    args: "<dir>",
    options: { force: { type: "boolean", help: `overwrite an existing ${CONFIG_FILE}` }, ...common },
    async run(t, o) {
      if (t.dirs.length !== 1) throw new InputError(`migrate takes exactly one directory\n${usage("migrate")}`);
      const yml = join(t.dirs[0]!, BUILD_YML);
      const out = join(t.dirs[0]!, CONFIG_FILE);
      if (!existsSync(yml)) throw new InputError(`${yml}: not found; migrate needs a LinuxKit ${BUILD_YML}`);
      if (existsSync(out) && !o.force) throw new InputError(`${out}: already exists; pass --force to overwrite`);
      const { fieldsSetIn, loadBuildYml, toConfigSource } = await import("../buildyml.ts");
      const def = await loadBuildYml(yml);
      await writeFile(out, toConfigSource(def.spec, fieldsSetIn(readTextLimited(yml, MAX_CONFIG_BYTES, `a ${BUILD_YML}`))));
      process.stderr.write(`wrote ${relative(process.cwd(), out) || out}; pkgkit now reads it instead of ${BUILD_YML}, which you can remove\n`);
      return ExitCode.ok;
    },
  },
};

/** Commands that work on no package of their own, so a config file run directly does not offer them. */
const BIN_ONLY = new Set(["migrate", "apply"]);

/** The command's settings, resolved once, with the workspace around its targets (looked for once). */
async function settingsFor(t: Targets, o: ParsedOptions, what: { builders?: boolean; registry?: boolean } = {}) {
  const workspace = await findWorkspace(targetsDir(t));
  const settings = resolveSettings(o, process.env, { ...what, workspace: workspace && workspaceDefaults(workspace) });
  const buildArgs = resolveBuildArgFiles(o, (f) => readTextLimited(f, MAX_CONFIG_BYTES, "a build arg file (KEY=value lines)", `--build-arg-file ${f}`));
  if (buildArgs) settings.packages.buildArgs = buildArgs;
  return { workspace, settings };
}

/**
 * LinuxKit's flags of a build or push, checked before anything is looked up: refused ones, the
 * conflicts, the verbosity; the notes on flags accepted without effect are printed under `-v`.
 */
function checkBuildFlags(o: ParsedOptions, pushing: boolean) {
  const verbosity = resolveVerbosity(o);
  const notes = checkLinuxkitFlags(o, pushing);
  const mode = resolveBuildMode(o);
  if (pushing && !mode.manifest && typeof o.release === "string")
    throw new InputError(`--release with --manifest=false: the release tag points at the multi-arch index, which --manifest=false does not make`);
  if (verbosity.notes) for (const n of notes) process.stderr.write(`note: ${n}\n`);
  return { mode, attestations: resolveAttestations(o).value ? {} : { attestations: false as const } };
}

/**
 * Packages left with no arch (`--skip-platforms` named all they declare) are skipped, as LinuxKit
 * skips them, with its line; the rest are the run's.
 */
function withArches(packages: Package[]): Package[] {
  for (const p of packages) if (p.arches.length === 0) process.stderr.write(`Skipping ${indexRef(p)} with no architectures to build\n`);
  const kept = packages.filter((p) => p.arches.length > 0);
  if (kept.length === 0) throw new NothingToBuild();
  return kept;
}

/** Every package was skipped: LinuxKit's build and push then succeed, doing nothing; a plan is refused (it would have no package). */
class NothingToBuild extends InputError {
  constructor() {
    super("--skip-platforms skips every arch of every package: nothing to plan");
  }
}

/** A build or push where every package was skipped (see NothingToBuild): exit 0, as LinuxKit. */
async function unlessNothingToBuild(run: () => Promise<number>): Promise<number> {
  return run().catch((err: unknown) => {
    if (err instanceof NothingToBuild) return ExitCode.ok;
    throw err;
  });
}

/** The step reporter for a build, push or apply: build output with `-v`, failures only with `-q`. */
function reporterFor(o: ParsedOptions) {
  const v = resolveVerbosity(o);
  return consoleReporter({ verbose: v.buildOutput, quiet: v.quiet });
}

async function resolveTargets(t: Targets, o: ParsedOptions): Promise<Package[]> {
  const { workspace, settings } = await settingsFor(t, o);
  return (await graphOfTargets(t, settings.packages, workspace)).roots;
}

/** `verify`'s packages, then the registry client to look them up in; with `--rebuild`, the builders' settings too. */
async function packagesAndRegistry(t: Targets, o: ParsedOptions): Promise<{ packages: Package[]; registry: Registry; settings: Settings }> {
  const { workspace, settings } = await settingsFor(t, o, { registry: true, builders: o.rebuild === true });
  const packages = (await graphOfTargets(t, settings.packages, workspace)).roots;
  return { packages, registry: await registryFor(settings), settings };
}

/** Resolve the packages while the builder is detected, then look up what exists and plan. */
async function planFor(t: Targets, o: ParsedOptions): Promise<Awaited<ReturnType<typeof planBuild>> & { settings: Settings }>;
async function planFor(t: Targets, o: ParsedOptions, by: "arch"): Promise<PlanMatrix>;
async function planFor(t: Targets, o: ParsedOptions, by?: "arch") {
  const { attestations } = checkBuildFlags(o, false);
  const { workspace, settings } = await settingsFor(t, o, { builders: true });
  buildsAtHead(settings);
  const [graph, session] = await Promise.all([graphOfTargets(t, settings.packages, workspace), createSession(settings, { builders: "now" })]);
  const { packages: all, force } = resolveRunSet(graph, o.force === true);
  const packages = withArches(all);
  const options = { ...session, force, resolved: resolvedWith(t, settings), ...attestations };
  if (!by) return { ...(await planBuild(packages, options)), settings };
  return planByArch(packages, async (pkgs) => (await planBuild(pkgs, options)).plan);
}

/** Builds use the work tree, so their tags are taken at HEAD (LinuxKit refuses the same). */
function buildsAtHead(settings: Settings): void {
  const commit = settings.packages.hashCommit;
  if (commit !== undefined && commit !== DEFAULT_HASH_COMMIT)
    throw new InputError(`--hash-commit ${JSON.stringify(commit)}: build, push and plan work on the files as they are, so their tags are taken at HEAD; use --hash-commit with show-tag only`);
}

/** Recorded in plans, so `apply` resolves the packages as the plan did. */
function resolvedWith(t: Targets, settings: Settings): ResolvedWith {
  // Arches are the plan's packages' own (`--skip-platforms` included); apply selects them again.
  const { workspace: _, arches: __, orgSource: ___, skipArches: ____, ...overrides } = settings.packages;
  return { from: targetsDir(t), ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

async function pushPlanFor(t: Targets, o: ParsedOptions, by?: undefined, how?: Spelling): Promise<Awaited<ReturnType<typeof planPush>> & { settings: Settings }>;
async function pushPlanFor(t: Targets, o: ParsedOptions, by: "arch", how?: Spelling): Promise<PlanMatrix>;
async function pushPlanFor(t: Targets, o: ParsedOptions, by?: "arch", how?: Spelling) {
  const release = resolveRelease(o);
  const { mode, attestations } = checkBuildFlags(o, true);
  const { workspace, settings } = await settingsFor(t, o, { builders: true, registry: true });
  buildsAtHead(settings);
  // LinuxKit removed content trust: under its spelling only a configured signer signs.
  const signing = { ...signingOptions(o), ...(how?.linuxkit ? { signByDefault: false as const } : {}) };
  const { packages: all, force } = resolveRunSet(await graphOfTargets(t, settings.packages, workspace), o.force === true);
  const packages = withArches(all);
  refuseDirty(packages, o["allow-dirty"] === true);
  const session = await createSession(settings, { builders: "when-building", registry: true, log: (l) => notice(l) });
  const options = {
    ...session,
    registry: session.registry!,
    force,
    release,
    format: o.oci ? "oci" as const : "docker" as const,
    resolved: resolvedWith(t, settings),
    signing,
    ...(mode.manifest ? {} : { manifest: false as const }),
    ...attestations,
  };
  if (by) return planByArch(packages, async (pkgs) => nothingToBuild((await planPush(pkgs, options)).plan, mode.nobuild));
  const planned = await planPush(packages, options);
  return { ...planned, plan: nothingToBuild(planned.plan, mode.nobuild), settings };
}

/** `--nobuild`: the plan must build nothing; else refused, naming each image neither the registry nor the engine has. */
function nothingToBuild(plan: Plan, nobuild: boolean): Plan {
  const builds = nobuild ? plan.steps.filter((s) => s.kind === "build") : [];
  if (builds.length)
    throw new InputError(`--nobuild: ${builds.length === 1 ? "this image is neither in the registry nor in its engine, so it" : "these images are neither in the registry nor in their engines, so they"} would be built:\n${builds.map((s) => `  ${s.kind === "build" ? s.ref : s.id}`).join("\n")}\nbuild them first (pkgkit build), or push without --nobuild`);
  return plan;
}

/** Standard input, refused once it passes `limit` bytes (it is not read further). */
async function readStdin(limit: number, name: string, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      process.stdin.destroy();
      throw tooLarge(name, undefined, limit, what);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Lines that belong to no step (registry retries): through the reporter once a command has one, so a live status line stays intact. */
let notice: (line: string) => void = (line) => void process.stderr.write(`${line}\n`);

/** The registry client the flags and environment ask for; its retry lines go to the reporter once there is one (stderr before). */
async function registryFor(settings: Settings): Promise<Registry> {
  return (await createSession(settings, { registry: true, log: (l) => notice(l) })).registry!;
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type Interrupt = keyof typeof SIGNAL_NUMBERS;

/**
 * While a plan runs, SIGINT and SIGTERM abort it: run() stops its child processes and removes its
 * scratch directory, then returns, and the command reports what was published and exits 128+n.
 * A second signal exits at once.
 */
function catchInterrupts(): { signal: AbortSignal; received?: Interrupt; release: () => void } {
  const controller = new AbortController();
  const state: { signal: AbortSignal; received?: Interrupt; release: () => void } = { signal: controller.signal, release: () => {} };
  const on = (name: Interrupt) => () => {
    if (state.received) process.exit(128 + SIGNAL_NUMBERS[state.received]);
    state.received = name;
    process.stderr.write(`\npkgkit: ${name}: stopping the running steps and their processes, removing temporary files (again to quit at once)\n`);
    controller.abort();
  };
  const handlers = (Object.keys(SIGNAL_NUMBERS) as Interrupt[]).map((name) => [name, on(name)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  state.release = () => {
    for (const [name, handler] of handlers) process.off(name, handler);
  };
  return state;
}

/** After push or apply: `--json`, the summary table, what was left unsigned; the exit code the run asks for. */
function reportRun(plan: Plan, result: Result, o: ParsedOptions): number {
  const unsigned = unsignedRefs(plan, result);
  if (o.json) console.log(JSON.stringify(plan.command === "push" ? { ok: result.ok, packages: pushSummary(plan, result), unsigned, plan, result } : { plan, result }, null, 2));
  const code = runExitCode(result, unsigned);
  if (!resolveVerbosity(o).quiet || code !== ExitCode.ok)
    process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n${unsigned.length ? `${formatUnsigned(unsigned)}\n` : ""}`);
  return code;
}

function interrupted(plan: Plan, result: Result, signal: Interrupt): number {
  process.stderr.write(`\n${summaryTable(plan, result)}\npkgkit: interrupted by ${signal}; this run's temporary files are removed\n${interruptReport(plan, result)}\n`);
  return 128 + SIGNAL_NUMBERS[signal];
}

function printPlan(plan: Plan, o: ParsedOptions): number {
  console.log(o.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
  return ExitCode.ok;
}

function usage(name?: string, prog = "pkgkit"): string {
  const packageFile = prog !== "pkgkit" && prog !== "pkgkit pkg";
  if (name && commands[name]) {
    const c = commands[name]!;
    return `usage: ${prog} ${name} [options]${packageFile ? "" : ` ${c.args}`}\n\n${c.summary}\n\noptions:\n${formatOptions(c.options)}`;
  }
  const names = Object.keys(commands).filter((n) => !(packageFile && BIN_ONLY.has(n)));
  return [
    `usage: ${prog} <command> [options]${packageFile ? "" : ` ${PACKAGE_ARGS}`}`,
    "",
    "commands:",
    ...names.map((n) => `  ${n.padEnd(10)}${commands[n]!.summary}`),
    ...(packageFile ? [] : [`  ${"pkg".padEnd(10)}LinuxKit's spelling: pkgkit pkg build|push|show-tag, with LinuxKit's flags and defaults (nothing signed unless a signer is configured)`]),
    "",
    `Run '${prog} <command> --help' for a command's options.`,
    "Exit codes: 0 ok, 1 a step failed, 2 bad input (nothing was started, or a signer's prepare refused it: nothing was published), 3 apply: the plan no longer holds (nothing was started), 130/143 interrupted by SIGINT/SIGTERM.",
  ].join("\n");
}

/**
 * `linuxkit pkg <command>` → pkgkit's command of the same meaning, or why there is none. Under
 * this spelling LinuxKit's current defaults hold (see Spelling): nothing signs unless a signer
 * is configured, since LinuxKit removed content trust.
 */
const LINUXKIT_COMMANDS: Record<string, string | { instead: string }> = {
  build: "build",
  push: "push",
  "show-tag": "show-tag",
  manifest: { instead: "pkgkit push merges each arch it pushes into the multi-arch index itself; `pkgkit push <dir>` updates it (what exists is skipped)" },
  "remote-tag": { instead: "`pkgkit push --release <tag> <dir>` points org/image:<tag> at the package's index" },
  builder: { instead: "pkgkit builds with the engine's own BuildKit (docker buildx, docker driver): there is no builder container to manage" },
};

async function dispatch(argv: string[], prog: string, defs?: PackageDefinition[]): Promise<number> {
  if (argv[0] === "pkg" && !defs) return dispatchLinuxkit(argv.slice(1), prog);
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage(rest[0], prog));
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const command = commands[asPush(name, rest)];
  if (!command || (defs && BIN_ONLY.has(name))) throw new InputError(`unknown command ${JSON.stringify(name)}\n${usage(undefined, prog)}`);
  const { options, positionals } = parseArgs(rest, command.options, usage(name, prog));
  if (options.help) {
    console.log(usage(name, prog));
    return ExitCode.ok;
  }
  if (defs && positionals.length) throw new InputError(`unexpected argument ${JSON.stringify(positionals[0])}: ${prog} works on its own package\n${usage(name, prog)}`);
  return command.run({ dirs: positionals, defs }, options);
}

/** LinuxKit's `build --push` is push, with push's options (`--release`, signing, registries). */
const asPush = (name: string, args: string[]) => (name === "build" && args.some((a) => /^--?push(=true)?$/.test(a)) ? "push" : name);

/** `pkgkit pkg <command> ...`: LinuxKit's spelling, with LinuxKit's defaults. */
async function dispatchLinuxkit(argv: string[], prog: string): Promise<number> {
  const [name, ...rest] = argv;
  const list = `pkgkit pkg takes LinuxKit's pkg commands: ${Object.keys(LINUXKIT_COMMANDS).filter((c) => typeof LINUXKIT_COMMANDS[c] === "string").join(", ")}`;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(rest[0] && typeof LINUXKIT_COMMANDS[rest[0]] === "string" ? usage(LINUXKIT_COMMANDS[rest[0]] as string, `${prog} pkg`) : `${list}; as \`pkgkit <command>\`, except that nothing is signed unless a signer is configured (--signer, --key, --keyless, a package's or workspace's signer, pkgkit.yml), as in LinuxKit, which removed content trust.\n\n${usage(undefined, prog)}`);
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const mapped = LINUXKIT_COMMANDS[name];
  if (mapped === undefined) throw new InputError(`unknown command ${JSON.stringify(`pkg ${name}`)}: ${list}`);
  if (typeof mapped !== "string") throw new InputError(`pkg ${name}: not a pkgkit command: ${mapped.instead}`);
  const command = commands[asPush(mapped, rest)]!;
  const { options, positionals } = parseArgs(rest, command.options, usage(mapped, `${prog} pkg`));
  if (options.help) {
    console.log(usage(mapped, `${prog} pkg`));
    return ExitCode.ok;
  }
  return command.run({ dirs: positionals }, options, { linuxkit: true });
}

/** After an interrupt, registry requests may still be in flight: they are abandoned, not awaited. */
function exitWith(code: number): void {
  if (code > 128) process.exit(code);
  process.exitCode = code;
}

export function exitWithError(err: unknown): never {
  if (isPkgkitError(err)) {
    console.error(`pkgkit: ${errorText(err)}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(ExitCode.failed);
}

/** Entry point of the `pkgkit` bin. */
export async function main(argv = scriptArgs()): Promise<void> {
  try {
    exitWith(await dispatch(argv, "pkgkit"));
  } catch (err) {
    exitWithError(err);
  }
}

/** Entry point when a pkg.config.ts is run directly: its package(s), no directories. */
export async function runPackageFile(defs: PackageDefinition[], argv = scriptArgs()): Promise<void> {
  const file = defs[0]!.file;
  try {
    exitWith(await dispatch(argv, relative(process.cwd(), file) || file, defs));
  } catch (err) {
    exitWithError(err);
  }
}
