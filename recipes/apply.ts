/**
 * Recipe: apply a plan made earlier, maybe elsewhere (`pkgkit plan --json` → `pkgkit apply`).
 * Resolve its packages again, make the same look-ups again, plan again, and run the plan only if
 * it still holds (see lib/apply.ts); otherwise refuse, naming what changed. The steps that run
 * are the plan's, and they equal, field by field, what pkgkit plans now: a plan file cannot make
 * pkgkit run a command or touch a path it would not have planned itself.
 */
import { statSync } from "node:fs";
import { dirname } from "node:path";
import { loadPackages } from "../lib/load.ts";
import { resolveGraph } from "../lib/package.ts";
import { findWorkspace, workspaceDefaults } from "../lib/workspace.ts";
import { plan } from "../lib/plan/plan.ts";
import type { Plan } from "../lib/plan/schema.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { BUILDER_KINDS, parseEngine, type ArchBuilders, type Builder, type BuilderKind, type EngineTls } from "../lib/builder.ts";
import type { Arch } from "../lib/spec.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";
import type { Session } from "../lib/session.ts";
import { InputError, StalePlanError } from "../lib/errors.ts";
import type { Registry } from "../lib/registry/types.ts";
import { formatSignersChanged, formatSourcesChanged, formatStale, inputDifferences, matchPackages, observedChanges, signerChanges, stepDifferences, type Change } from "../lib/apply.ts";
import { observeBuild } from "./build.ts";
import { observePush } from "./push.ts";
import { loadSigningConfig } from "../lib/sign/config.ts";
import { checkPemFile } from "../lib/pemfile.ts";
import type { SigningOptions } from "./sign.ts";

/** What applying a plan needs besides the plan: the registry for a push plan, and the settings given in code when it was made. */
export interface ApplyOptions {
  /** Needed when the plan pushes. */
  registry?: Registry;
  shell?: Shell;
  reporter?: Reporter;
  /** Steps running at once (default: one per core). */
  jobs?: number;
  /** Registry look-ups in flight at once (default 16). */
  concurrency?: number;
  /** Where the plan came from, for messages. */
  file?: string;
  /**
   * Signing settings given in code when the plan was made (a signer object, a passphrase
   * function, own Signers): plans record only the run's flags and the pkgkit.yml read.
   */
  signing?: SigningOptions;
  /** Interrupts the run (see RunOptions.signal). */
  signal?: AbortSignal;
}

export interface CheckedPlan {
  /**
   * What to run the plan with: the builders it names, the registry, and the signers its sign
   * steps name (by signer id), made as when it was planned.
   */
  session: Session;
  /** Look-ups that changed without changing the plan: index and release tags other writers merged into. */
  changes: Change[];
}

/**
 * Check that a plan still holds: resolve its packages again, make its look-ups again, plan again
 * and compare. Returns what running it needs. Throws StalePlanError (exit 3) when it no longer
 * holds: the sources, a signer, the registry or the engines changed, or its steps are not what pkgkit plans
 * now; InputError (exit 2) when the plan's directories are not here.
 */
export async function checkPlan(planned: Plan, options: ApplyOptions = {}): Promise<CheckedPlan> {
  const file = options.file ?? "the plan";
  const shell = options.shell ?? (await defaultShell());
  const { inputs } = planned;
  const resolved = inputs?.resolved;
  if (!inputs || !resolved) throw new InputError(`${file}: field "inputs.resolved": missing: this plan does not record how its packages were resolved; make it with \`pkgkit plan --json\``);
  // The file may come from another machine: its directories must be here before anything loads from them.
  const here = (dir: string, field: string) => {
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
      throw new InputError(`${file}: field "${field}": ${dir} is not a directory here; apply a plan in the checkout it was made in, at the same path`);
  };
  here(resolved.from, "inputs.resolved.from");
  planned.packages.forEach((p, i) => here(p.dir, `packages[${i}].dir`));

  const { from, ...overrides } = resolved;
  const workspace = await findWorkspace(from);
  const dirs = [...new Set(planned.packages.map((p) => p.dir))];
  const graph = await resolveGraph(shell, await loadPackages(dirs, { buildYml: overrides.buildYml }), { ...overrides, workspace: workspace && workspaceDefaults(workspace), checkPaths: true });
  const { packages, changed } = matchPackages(planned, graph.packages);
  if (changed.length) throw new StalePlanError(formatSourcesChanged(file, changed));

  const builder = builderNamed(shell, inputs.builder, `${file}: field "inputs.builder"`);
  const builders: ArchBuilders = Object.fromEntries(
    Object.entries(inputs.builders ?? {}).map(([arch, name]) => [arch, builderNamed(shell, name, `${file}: field "inputs.builders.${arch}"`, inputs.builderTls?.[arch as Arch], arch as Arch)]),
  );
  const common = { shell, builder, builders, force: inputs.force, resolved, ...(inputs.attestations === false ? { attestations: false as const } : {}) };
  let now;
  let session: Session;
  if (planned.command === "push") {
    if (!options.registry) throw new InputError(`${file} pushes, but no registry client was given`);
    const signing = await signingOf(planned, file, options.signing);
    ({ options: now, session } = await observePush(packages, { ...common, registry: options.registry, release: inputs.release, format: inputs.format, ...(inputs.manifest === false ? { manifest: false as const } : {}), concurrency: options.concurrency, signing }));
  } else ({ options: now, session } = await observeBuild(packages, common));

  const changes = observedChanges(planned, now.observed!);
  const again = plan(packages, now);
  const resigned = signerChanges(planned.steps, again.steps);
  if (resigned.length > 0) throw new StalePlanError(formatSignersChanged(file, resigned));
  // A field pkgkit would not write itself (a path added to the inputs, say) is a difference too.
  const differences = [...inputDifferences(planned.inputs, again.inputs), ...stepDifferences(planned.steps, again.steps)];
  if (changes.some((c) => !c.shared) || differences.length > 0) throw new StalePlanError(formatStale(file, changes, differences));
  return { session, changes };
}

/**
 * The signing options the plan was made with: its recorded flags, and the pkgkit.yml it read,
 * read again (none when it read none, whatever $PKGKIT_CONFIG or the directory say now).
 */
async function signingOf(planned: Plan, file: string, given: SigningOptions = {}): Promise<SigningOptions> {
  const recorded = planned.inputs?.signing ?? {};
  const config = recorded.config;
  if (config !== undefined && !statSync(config, { throwIfNoEntry: false })?.isFile())
    throw new InputError(`${file}: field "inputs.signing.config": ${config} is not a file here; the plan was made with the signing settings in it`);
  if (recorded.key !== undefined) checkPemFile(recorded.key, "private key", `${file}: field "inputs.signing.key": ${JSON.stringify(recorded.key)}`);
  return {
    ...(recorded.signer ? { signer: recorded.signer } : {}),
    ...(recorded.key ? { key: recorded.key } : {}),
    ...(recorded.keyless ? { keyless: true } : {}),
    ...(recorded.signByDefault === false ? { signByDefault: false as const } : {}),
    config: config ? await loadSigningConfig(dirname(config), { PKGKIT_CONFIG: config }) : {},
    ...given,
  };
}

/** The builder a plan names as lib/builder.ts names them: `buildx`, `legacy`, or either `@<endpoint|context>`. */
function builderNamed(shell: Shell, name: string, where: string, tls?: EngineTls, arch?: Arch): Builder {
  const at = name.indexOf("@");
  const kind = (at < 0 ? name : name.slice(0, at)) as BuilderKind;
  if (!Object.hasOwn(BUILDER_KINDS, kind)) throw new InputError(`${where}: ${JSON.stringify(name)}: expected buildx or legacy, or either @<endpoint|context>`);
  if (at < 0) return BUILDER_KINDS[kind](shell);
  const engine = parseEngine(name.slice(at + 1));
  if ("problem" in engine) throw new InputError(`${where}: ${engine.problem}`);
  return BUILDER_KINDS[kind](shell, "docker", tls && "host" in engine ? { ...engine, tls } : engine, arch);
}

/** Check the plan (see checkPlan), then run exactly its steps. */
export async function applyPlan(planned: Plan, options: ApplyOptions = {}): Promise<{ result: Result; changes: Change[] }> {
  const { session, changes } = await checkPlan(planned, options);
  const result = await run(planned, session, { reporter: options.reporter, jobs: options.jobs, signal: options.signal });
  return { result, changes };
}
