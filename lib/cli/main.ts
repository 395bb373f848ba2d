/**
 * The command line, for the `pkgkit` bin and for a config file run directly
 * (`npx tsx pkg.config.ts build`). Commands are composed from recipes/.
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { formatOptions, parseArgs, type OptionSpec, type ParsedOptions } from "./args.ts";
import { ExitCode, InputError, isPkgkitError } from "../errors.ts";
import { ARCHES, type Arch } from "../spec.ts";
import { indexRef, type Package, type ResolveOptions } from "../package.ts";
import { formatPlan } from "../plan/format.ts";
import type { Plan, ResolvedWith } from "../plan/schema.ts";
import type { Result } from "../run.ts";
import type { Registry } from "../registry/types.ts";
import { tagRe } from "../names.ts";
import { BUILDER_KINDS, detectBuilderKind, parseBuilders, parseEngine, type ArchBuilders, type BuilderKind, type Engine } from "../builder.ts";
import { findWorkspace, type WorkspaceDefinition } from "../workspace.ts";
import { defaultShell } from "../shell.ts";
import { scriptArgs } from "../runtime.ts";
import { BUILD_YML, CONFIG_FILE } from "../load.ts";
import type { PackageDefinition } from "../define.ts";
import { graphFromArgs, graphFromDefinitions } from "../../recipes/packages.ts";
import { formatGraph, graphJson } from "../package.ts";
import { planBuild } from "../../recipes/build.ts";
import { planPush } from "../../recipes/push.ts";
import { applyPlan } from "../../recipes/apply.ts";
import { parsePlanFile, planByArch, selectPlan, type PlanMatrix } from "../apply.ts";
import { run } from "../run.ts";
import { consoleReporter, formatUnsigned, interruptReport, runExitCode, summarize, summaryTable, unsignedRefs } from "../../recipes/report.ts";
import { signingOptions, signingFlags, verifyCommand } from "./sign.ts";
import { checkPemFile } from "../pemfile.ts";
import { MAX_CONFIG_BYTES, MAX_PLAN_BYTES, readTextLimited, tooLarge } from "../limits.ts";

const PLAN_FILE = "a plan written by `pkgkit plan --json`";

const common: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
};
const naming: Record<string, OptionSpec> = {
  org: { type: "string", value: "<org>", help: "override the org, e.g. wombat or 127.0.0.1:5000/demo (env: PKGKIT_ORG)" },
  hash: { type: "string", value: "<hash>", help: "use this instead of the git tree hash" },
  json: { type: "boolean", help: "print machine-readable JSON on stdout" },
};
const building: Record<string, OptionSpec> = {
  arches: { type: "string", value: "<a,b>", help: `build only these arches (of ${ARCHES.join(", ")})` },
  network: { type: "boolean", negatedBy: ["no-network", "nonetwork"], help: "allow network during RUN (overrides the package)" },
  "disable-cache": { type: "boolean", negatedBy: ["enable-cache"], help: "build without the build cache (overrides the package)" },
  "disable-content-trust": { type: "boolean", negatedBy: ["enable-content-trust"], help: "do not sign (overrides the package)" },
  builder: { type: "string", value: "<buildx|legacy>", help: "builder to use (default: buildx if the docker CLI has it, else legacy)" },
  builders: { type: "string", value: "<arch=engine,...>", help: "build these arches in an engine of their own, a docker endpoint (unix://, tcp://, ssh://) or context, e.g. arm64=ssh://user@arm-host; the others build locally (env: PKGKIT_BUILDERS; workspace: builders)" },
  force: { type: "boolean", help: "rebuild images that already exist (locally; for push also in the registry) and push them again" },
  verbose: { type: "boolean", short: "v", help: "print build output" },
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
const REGISTRY_DEFAULTS = { timeout: "15s", total: "60s", retries: 3 };

const pushing: Record<string, OptionSpec> = {
  "allow-dirty": { type: "boolean", help: "push packages with uncommitted changes (their tags end in -dirty-<hash>)" },
  release: { type: "string", value: "<tag>", help: "also point org/image:<tag> at each index, e.g. v1.2.3" },
  oci: { type: "boolean", help: "push OCI manifests and index (default: Docker v2 media types)" },
  ...registryFlags(),
  ...signingFlags,
};
const list = (v: unknown) => (typeof v === "string" ? v.split(",").map((x) => x.trim()).filter(Boolean) : []);
/** No directory: the workspace's packages; a quoted glob: the package directories it matches. */
const PACKAGE_ARGS = "[<dir|glob>...]";

interface CommandDef {
  summary: string;
  args: string;
  options: Record<string, OptionSpec>;
  run(targets: Targets, o: ParsedOptions): Promise<number>;
}

/** What a command works on: directories (bin) or an already loaded definition (config file). */
interface Targets {
  dirs: string[];
  defs?: PackageDefinition[];
}

const commands: Record<string, CommandDef> = {
  build: {
    summary: "build org/image:<tag>-<arch> for each arch into the local engine, skipping what exists",
    args: PACKAGE_ARGS,
    options: { ...naming, ...building, "dry-run": { type: "boolean", help: "print the plan, build nothing" }, ...common },
    async run(t, o) {
      const { plan, builder, builders, shell } = await planFor(t, o);
      if (o["dry-run"]) return printPlan(plan, o);
      const reporter = consoleReporter({ verbose: o.verbose === true });
      const interrupt = catchInterrupts();
      const result = await run(plan, { shell, builder, builders, reporter, jobs: jobsOption(o), signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      if (o.json) console.log(JSON.stringify({ plan, result }, null, 2));
      process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n`);
      return result.ok ? ExitCode.ok : ExitCode.failed;
    },
  },
  push: {
    summary: "build what is missing, push org/image:<tag>-<arch> and merge them into the index org/image:<tag>",
    args: PACKAGE_ARGS,
    options: { ...naming, ...building, ...pushing, "dry-run": { type: "boolean", help: "print the plan, build and push nothing" }, ...common },
    async run(t, o) {
      const { plan, builder, builders, shell, registry, signers } = await pushPlanFor(t, o);
      if (o["dry-run"]) return printPlan(plan, o);
      const reporter = consoleReporter({ verbose: o.verbose === true });
      notice = reporter.note;
      const interrupt = catchInterrupts();
      const result = await run(plan, { shell, builder, builders, registry, reporter, signers, jobs: jobsOption(o), signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      return reportRun(plan, result, o);
    },
  },
  plan: {
    summary: "show what build (or push, with --push) would do, and why, without doing it; --json writes a plan for apply",
    args: PACKAGE_ARGS,
    options: {
      ...naming, ...building,
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
      const jobs = jobsOption(o);
      const registry = plan.command === "push" ? await registryOption(o) : undefined;
      const reporter = consoleReporter({ verbose: o.verbose === true });
      notice = reporter.note;
      const interrupt = catchInterrupts();
      const { result, changes } = await applyPlan(plan, { registry, reporter, jobs, file: name, signal: interrupt.signal }).finally(interrupt.release);
      if (result.interrupted) return interrupted(plan, result, interrupt.received!);
      for (const c of changes)
        process.stderr.write(`note: ${c.ref} changed since the plan (${c.planned ?? "not there"} → ${c.now ?? "not there"}); other writers merge into it, and the plan's steps are the same, so it still holds\n`);
      return reportRun(plan, result, o);
    },
  },
  "show-tag": {
    summary: "print org/image:<tag> for each package",
    args: PACKAGE_ARGS,
    options: { ...naming, ...common },
    async run(t, o) {
      const packages = await resolveTargets(t, o);
      if (o.json)
        console.log(JSON.stringify(packages.map((p) => ({ dir: p.dir, ref: indexRef(p), repository: p.repository, tag: p.tag, hash: p.hash, dirty: p.dirty, arches: p.arches })), null, 2));
      else console.log(packages.map(indexRef).join("\n"));
      return ExitCode.ok;
    },
  },
  graph: {
    summary: "print the packages and the dependencies between them (with --json: nodes and edges)",
    args: PACKAGE_ARGS,
    options: { ...naming, ...common },
    async run(t, o) {
      const graph = await resolveGraphOf(t, o);
      console.log(o.json ? JSON.stringify(graphJson(graph), null, 2) : formatGraph(graph, process.cwd()));
      return ExitCode.ok;
    },
  },
  verify: verifyCommand({ args: PACKAGE_ARGS, naming, registryFlags: registryFlags(), common, resolveTargets, registryOption }),
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

async function resolveTargets(t: Targets, o: ParsedOptions): Promise<Package[]> {
  return (await resolveGraphOf(t, o)).roots;
}

/** What build and push work on: the packages asked for and everything they depend on, dependencies first. */
async function resolveRunSet(t: Targets, o: ParsedOptions): Promise<{ packages: Package[]; force: string[] }> {
  const { packages, roots } = await resolveGraphOf(t, o);
  const byId = new Map(packages.map((p) => [p.id, p]));
  const wanted = new Set<string>();
  const visit = (p: Package) => {
    if (wanted.has(p.id)) return;
    wanted.add(p.id);
    for (const d of p.dependencies) visit(byId.get(d.id)!);
  };
  roots.forEach(visit);
  // --force rebuilds what was asked for; dependencies are built only when missing.
  return { packages: packages.filter((p) => wanted.has(p.id)), force: o.force === true ? roots.map((p) => p.id) : [] };
}

function jobsOption(o: ParsedOptions): number | undefined {
  if (o.jobs === undefined) return undefined;
  const n = Number(o.jobs);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--jobs ${JSON.stringify(o.jobs)}: expected a whole number of at least 1`);
  return n;
}

/** Directories, directory globs, or none: every package of the workspace (see lib/workspace.ts). */
async function resolveGraphOf(t: Targets, o: ParsedOptions) {
  const options = resolveOptions(o);
  return t.defs ? graphFromDefinitions(t.defs, options) : graphFromArgs(t.dirs, options);
}

/** Flags and environment → overrides. The precedence is flag > environment > file > default. */
export function resolveOptions(o: ParsedOptions, env: Record<string, string | undefined> = process.env): ResolveOptions {
  const arches = typeof o.arches === "string" ? o.arches.split(",").map((a) => a.trim()).filter(Boolean) : undefined;
  const bad = arches?.filter((a) => !(ARCHES as string[]).includes(a)) ?? [];
  if (bad.length || arches?.length === 0)
    throw new InputError(`--arches ${JSON.stringify(o.arches)}: expected a comma-separated list of ${ARCHES.join(", ")}`);
  const bool = (k: string) => (typeof o[k] === "boolean" ? (o[k] as boolean) : undefined);
  const org = typeof o.org === "string" ? o.org : env.PKGKIT_ORG || undefined;
  return {
    org,
    ...(org !== undefined && typeof o.org !== "string" ? { orgSource: "PKGKIT_ORG" } : {}),
    hash: typeof o.hash === "string" ? o.hash : undefined,
    arches: arches as Arch[] | undefined,
    network: bool("network"),
    disableCache: bool("disable-cache"),
    disableContentTrust: bool("disable-content-trust"),
  };
}

/** Resolve the packages while the builder is detected, then look up what exists and plan. */
async function planFor(t: Targets, o: ParsedOptions): Promise<Awaited<ReturnType<typeof planBuild>>>;
async function planFor(t: Targets, o: ParsedOptions, by: "arch"): Promise<PlanMatrix>;
async function planFor(t: Targets, o: ParsedOptions, by?: "arch") {
  jobsOption(o);
  const [{ packages, force }, chosen] = await Promise.all([resolveRunSet(t, o), enginesFor(t, o).then((engines) => builderOption(o, engines))]);
  const options = { ...chosen, force, resolved: resolvedWith(t, o) };
  if (!by) return planBuild(packages, options);
  return planByArch(packages, async (pkgs) => (await planBuild(pkgs, options)).plan);
}

/** Recorded in plans, so `apply` resolves the packages as the plan did. */
function resolvedWith(t: Targets, o: ParsedOptions): ResolvedWith {
  const { workspace: _, arches: __, orgSource: ___, ...overrides } = resolveOptions(o);
  const from = t.defs ? dirname(t.defs[0]!.file) : process.cwd();
  return { from, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

async function pushPlanFor(t: Targets, o: ParsedOptions): Promise<Awaited<ReturnType<typeof planPush>> & { registry: Registry }>;
async function pushPlanFor(t: Targets, o: ParsedOptions, by: "arch"): Promise<PlanMatrix>;
async function pushPlanFor(t: Targets, o: ParsedOptions, by?: "arch") {
  if (typeof o.release === "string" && !tagRe.test(o.release))
    throw new InputError(`--release ${JSON.stringify(o.release)}: expected a tag: letters, digits, "_", "." and "-", at most 128 characters, e.g. v1.2.3`);
  jobsOption(o);
  const signing = signingOptions(o);
  const { packages, force } = await resolveRunSet(t, o);
  const dirty = packages.filter((p) => p.dirty);
  if (dirty.length && !o["allow-dirty"])
    throw new InputError(
      `refusing to push ${dirty.length === 1 ? "a package" : `${dirty.length} packages`} with uncommitted changes:\n` +
        dirty.map((p) => `  ${relative(process.cwd(), p.dir) || "."}: tag ${p.tag}`).join("\n") +
        "\ncommit the changes, or pass --allow-dirty to push the -dirty tag anyway",
    );
  const engines = await enginesFor(t, o);
  const chosen = o.builder === undefined && Object.keys(engines).length === 0 ? { shell: await defaultShell() } : await builderOption(o, engines);
  const registry = await registryOption(o);
  const options = {
    ...chosen,
    registry,
    force,
    release: typeof o.release === "string" ? o.release : undefined,
    format: o.oci ? "oci" as const : "docker" as const,
    resolved: resolvedWith(t, o),
    signing,
  };
  if (by) return planByArch(packages, async (pkgs) => (await planPush(pkgs, options)).plan);
  return { ...(await planPush(packages, options)), registry };
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

/** The registry client the flags and environment ask for; its retry lines go to `log` (stderr by default). */
async function registryOption(o: ParsedOptions, log: (line: string) => void = (l) => notice(l), env: Record<string, string | undefined> = process.env): Promise<Registry> {
  const ca = list(o["registry-ca"]);
  for (const file of ca) checkPemFile(file, "certificate", `--registry-ca ${JSON.stringify(file)}`);
  const { requestMs, totalMs, retries } = registryBounds(o, env);
  const { createRegistry } = await import("../registry/index.ts");
  return createRegistry({
    ca,
    insecure: [...list(o["insecure-registry"]), ...list(env.PKGKIT_INSECURE_REGISTRIES)],
    timeouts: { requestMs, totalMs },
    retry: { attempts: retries + 1 },
    log,
  });
}

/** `--registry-timeout` etc. > PKGKIT_REGISTRY_* > defaults; a bad value names the flag or variable it came from. */
export function registryBounds(o: ParsedOptions, env: Record<string, string | undefined> = process.env) {
  const setting = (flag: string, variable: string, fallback: string) =>
    typeof o[flag] === "string" ? { value: o[flag] as string, from: `--${flag}` } : env[variable] ? { value: env[variable]!, from: variable } : { value: fallback, from: "" };
  const duration = (flag: string, variable: string, fallback: string) => {
    const { value, from } = setting(flag, variable, fallback);
    const ms = parseDuration(value);
    if (ms === undefined) throw new InputError(`${from} ${JSON.stringify(value)}: expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`);
    return ms;
  };
  const retries = setting("registry-retries", "PKGKIT_REGISTRY_RETRIES", String(REGISTRY_DEFAULTS.retries));
  if (!/^\d{1,2}$/.test(retries.value.trim()))
    throw new InputError(`${retries.from} ${JSON.stringify(retries.value)}: expected a whole number of retries from 0 to 99, such as 3`);
  return {
    requestMs: duration("registry-timeout", "PKGKIT_REGISTRY_TIMEOUT", REGISTRY_DEFAULTS.timeout),
    totalMs: duration("registry-total-timeout", "PKGKIT_REGISTRY_TOTAL_TIMEOUT", REGISTRY_DEFAULTS.total),
    retries: Number(retries.value),
  };
}

/** `500ms`, `30s`, `5m`, `1h` (a bare number is seconds) → ms; undefined when not one, or outside 1 ms..24 h. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"]);
  return ms >= 1 && ms <= 86_400_000 ? ms : undefined;
}

/** Per package: the index and each arch's image as they are in the registry after the run. */
function pushSummary(plan: Plan, result: Result) {
  const byId = new Map(result.steps.map((r) => [r.id, r]));
  return plan.packages.map((p) => {
    const steps = plan.steps.filter((s) => s.package === p.name);
    const arches = Object.fromEntries(
      p.arches.map((arch) => {
        const mine = steps.filter((s) => "arch" in s && s.arch === arch);
        const push = mine.find((s) => s.kind === "push");
        const skip = mine.find((s) => s.kind === "skip");
        const built = mine.some((s) => s.kind === "build" && byId.get(s.id)?.status === "done");
        const pushed = push && byId.get(push.id)?.pushed;
        const digest = pushed ? pushed.descriptor.digest : skip?.kind === "skip" && skip.skips === "build+push" ? skip.found : undefined;
        const action = pushed ? (built ? "built, pushed" : "pushed") : digest ? "exists in registry" : "not pushed";
        return [arch, { ref: `${p.name}-${arch}`, digest: digest ?? null, action }];
      }),
    );
    const indexStep = steps.find((s) => s.id === `${p.name}/index`);
    const r = indexStep && byId.get(indexStep.id);
    const index = r?.index
      ? { ref: p.name, digest: r.index.digest, mediaType: r.index.mediaType, written: r.index.written }
      : indexStep?.kind === "skip" ? { ref: p.name, digest: indexStep.found ?? null, written: false } : null;
    return { dir: p.dir, ref: p.name, index, arches };
  });
}

/** The default builder (--builder, else detected) and one of the same kind per arch with an engine of its own. */
async function builderOption(o: ParsedOptions, engines: Partial<Record<Arch, Engine>>) {
  const shell = await defaultShell();
  if (o.builder !== undefined && !Object.hasOwn(BUILDER_KINDS, o.builder as string))
    throw new InputError(`--builder ${JSON.stringify(o.builder)}: expected buildx or legacy`);
  const make = BUILDER_KINDS[(o.builder as BuilderKind | undefined) ?? (await detectBuilderKind(shell))];
  const builders: ArchBuilders = Object.fromEntries(Object.entries(engines).map(([arch, engine]) => [arch, make(shell, "docker", engine)]));
  return { shell, builder: make(shell), builders };
}

/**
 * Which arches build in an engine of their own: `--builders` > PKGKIT_BUILDERS > the workspace's
 * `builders`; the first one set applies as a whole. Same syntax for the flag and the variable.
 */
export function resolveBuilders(o: ParsedOptions, env: Record<string, string | undefined> = process.env, workspace?: WorkspaceDefinition): Partial<Record<Arch, Engine>> {
  if (typeof o.builders === "string") return parseBuilders(o.builders, "--builders");
  if (env.PKGKIT_BUILDERS) return parseBuilders(env.PKGKIT_BUILDERS, "PKGKIT_BUILDERS");
  // Validated when the workspace file loaded.
  return Object.fromEntries(Object.entries(workspace?.builders ?? {}).map(([arch, value]) => [arch, parseEngine(value) as Engine]));
}

/** resolveBuilders with the workspace that applies to the targets (found as recipes/packages.ts finds it). */
async function enginesFor(t: Targets, o: ParsedOptions) {
  const from = t.defs ? (t.defs[0] && dirname(t.defs[0].file)) : process.cwd();
  const workspace = typeof o.builders === "string" || process.env.PKGKIT_BUILDERS || !from ? undefined : await findWorkspace(from);
  return resolveBuilders(o, process.env, workspace);
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
  process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n${unsigned.length ? `${formatUnsigned(unsigned)}\n` : ""}`);
  return runExitCode(result, unsigned);
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
  const packageFile = prog !== "pkgkit";
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
    "",
    `Run '${prog} <command> --help' for a command's options.`,
    "Exit codes: 0 ok, 1 a step failed, 2 bad input (nothing was started, or a signer's prepare refused it: nothing was published), 3 apply: the plan no longer holds (nothing was started), 130/143 interrupted by SIGINT/SIGTERM.",
  ].join("\n");
}

async function dispatch(argv: string[], prog: string, defs?: PackageDefinition[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage(rest[0], prog));
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const command = commands[name];
  if (!command || (defs && BIN_ONLY.has(name))) throw new InputError(`unknown command ${JSON.stringify(name)}\n${usage(undefined, prog)}`);
  const { options, positionals } = parseArgs(rest, command.options, usage(name, prog));
  if (options.help) {
    console.log(usage(name, prog));
    return ExitCode.ok;
  }
  if (defs && positionals.length) throw new InputError(`unexpected argument ${JSON.stringify(positionals[0])}: ${prog} works on its own package\n${usage(name, prog)}`);
  return command.run({ dirs: positionals, defs }, options);
}

/** After an interrupt, registry requests may still be in flight: they are abandoned, not awaited. */
function exitWith(code: number): void {
  if (code > 128) process.exit(code);
  process.exitCode = code;
}

export function exitWithError(err: unknown): never {
  if (isPkgkitError(err)) {
    console.error(`pkgkit: ${err.message}`);
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
