/**
 * run(): executes a Plan, exactly its steps, as a DAG: a step starts once every step it `needs`
 * has succeeded, with at most `jobs` steps running at once. A failed step stops the steps that
 * need it (directly or not), which are reported as skipped because of it; independent steps go
 * on. Progress goes to a Reporter; the Result records what each step did, when and for how long,
 * in plan order, for `--json` and for tests.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { errorText, ExitCode, explainedByDoctor, isPkgkitError, PkgkitError } from "./errors.ts";
import type { AttestStep, Plan, Step } from "./plan/schema.ts";
import type { AttestationDocument } from "./attest/statement.ts";
import { builderFor, isMachineProblem, type ArchBuilders, type Builder, type LocalImage } from "./builder.ts";
import type { Shell } from "./shell.ts";
import type { Descriptor, Registry } from "./registry/types.ts";
import type { ImageBlobs } from "./image.ts";
import { nodeCrypto } from "./node-crypto.ts";
import type { Attached } from "./attest/attach.ts";
import { readFile } from "node:fs/promises";
import type { BlobLocations, MergedIndex, OwnArch, PushedImage } from "./push.ts";
import type { SignOutcome } from "./sign/run.ts";
import type { Signer } from "./sign/types.ts";
import type { Scratch } from "./scratch.ts";

// What only some steps need is loaded by the first step that needs it, so that a plan of builds
// loads none of it: the push and its image export (lib/image.ts brings fflate, whose tables are
// made as it loads, and the registry's modules), the attestations, the signing, the assembled
// contexts and the scratch directory.
const imageModule = () => import("./image.ts");
const pushModule = () => import("./push.ts");
const attachModule = () => import("./attest/attach.ts");
const documentsModule = () => import("./attest/documents.ts");
const baseImagesModule = () => import("./attest/base-images.ts");
const signModule = () => import("./sign/run.ts");
const scratchModule = () => import("./scratch.ts");
const contextModule = () => import("./context.ts");

/** What one step did: its status, when and for how long, and what it produced or why it failed. */
export interface StepResult {
  id: string;
  kind: Step["kind"];
  /** skipped: the plan said so (see the step's reason), or `blockedBy` a failed step. */
  status: "done" | "skipped" | "failed";
  ref?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** For steps not run because a step they need failed (or was itself blocked): that step's id. */
  blockedBy?: string;
  /** For builds: the image as the engine reports it afterwards. */
  image?: LocalImage;
  /** For pushes: the manifest in the registry, and what happened to its blobs. */
  pushed?: PushedImage;
  /** For index steps: the index as read back from the registry. */
  index?: MergedIndex;
  /** For sign steps. */
  signed?: SignOutcome;
  /** For attest steps: what was attached where. */
  attested?: Attached;
  /** The run was interrupted (RunOptions.signal) while this step ran, or before it started. */
  interrupted?: true;
  error?: string;
  /** For a failed step whose error was bad input (2) rather than a failure (1): the exit code it asks for. */
  exitCode?: number;
}

/** What a run did: `ok` when no step failed or was blocked and nothing interrupted it; each step's result, in plan order. */
export interface Result {
  ok: boolean;
  /** The run stopped early because RunOptions.signal was aborted. */
  interrupted?: true;
  command: Plan["command"];
  steps: StepResult[];
}

/** Told of each step as it starts, each line of output it prints, and how it ended (consoleReporter in "pkgkit/recipes" prints them). */
export interface Reporter {
  stepStart(step: Step): void;
  stepOutput(step: Step, line: string): void;
  stepEnd(step: Step, result: StepResult): void;
}

/**
 * What run() executes a plan with: the shell, the builders the plan was made with, the registry
 * (push plans) and the signers (plans with sign steps). Made once from resolved options by
 * createSession (lib/session.ts), returned by the recipes that plan, or put together in code.
 */
export interface Session {
  shell: Shell;
  builder: Builder;
  /** Builders for arches that build elsewhere than `builder`: as given to plan(). */
  builders?: ArchBuilders;
  /** Needed by push plans. */
  registry?: Registry;
  /** Needed by plans with sign steps: by signer id (`SignStep.signerId`; see recipes/sign.ts resolveSigning). */
  signers?: Map<string, Signer>;
}

/** How run() runs: not what with (the Session), but how many at once, reported where, until when. */
export interface RunOptions {
  /** Steps running at once (default: one per core). */
  jobs?: number;
  reporter?: Reporter;
  /**
   * Interrupts the run: no step starts any more, child processes are stopped (their process
   * group), and once they have exited the scratch directory is removed and run() returns, with
   * `interrupted` set. Registry requests in flight are abandoned, not awaited.
   */
  signal?: AbortSignal;
  /** Where the run's scratch directory goes (see lib/scratch.ts); default: the OS temporary directory. */
  tmpDir?: string;
}

/** The session and the options of one run, as the steps use them. */
type RunContext = Session & RunOptions;

/** What earlier steps of a run produced, for later ones. */
interface RunState {
  pushed: Map<string, Descriptor>;
  /** Per index ref: the digests of the entries this run merged in. */
  indexEntries: Map<string, string[]>;
  blobs: BlobLocations;
  scratch?: Scratch;
  /** Work on local files and child processes in progress: awaited before the scratch directory goes. */
  local: Set<Promise<unknown>>;
  /** The attest step that follows a push step, by the push step's id. */
  attestAfter: Map<string, AttestStep>;
  /**
   * The attestation documents of the images those pushes export, by ref: made from the exported
   * blobs while they are uploaded (the manifest digest is known before), awaited by the attest step.
   */
  documents: Map<string, Promise<AttestationDocument[]>>;
  /** Build steps an attest step records. */
  attestedBuilds: Set<string>;
  /** When each of those started and ended, with which builder, from which base images (for provenance). */
  builds: Map<string, { startedOn: Date; finishedOn: Date; builder: string; baseImages: { ref: string; digest: string }[] }>;
  /** One id per run, as the provenance's invocationId. */
  invocationId: string;
}

/** Track `work` until it settles (see RunState.local). */
function local<T>(state: RunState, work: Promise<T>): Promise<T> {
  state.local.add(work);
  const done = () => void state.local.delete(work);
  work.then(done, done);
  return work;
}

/** Wait until no tracked local work is in progress (work settling may have started more). */
async function localSettled(state: RunState): Promise<void> {
  while (state.local.size > 0) await Promise.allSettled([...state.local]);
}

/**
 * Execute a plan, exactly its steps, with the session's shell, builders, registry and signers, at
 * most `jobs` at once, each once the steps it `needs` have succeeded. A failed step does not
 * throw: it is in the Result, and the steps that need it are skipped (`blockedBy`). Throws
 * PkgkitError before starting anything when the session lacks what the plan needs (a registry for
 * a push plan, a builder a step names, a signer a sign step names).
 *
 * @example
 * ```ts
 * import { plan, run } from "pkgkit";
 * import { consoleReporter, observeBuild, packagesFromDirs, summarize } from "pkgkit/recipes";
 *
 * const packages = await packagesFromDirs(["pkg/app"]);
 * const { options, session } = await observeBuild(packages);
 * const result = await run(plan(packages, options), session, { reporter: consoleReporter() });
 * console.error(summarize(result));
 * ```
 */
export async function run(p: Plan, session: Session, runOptions: RunOptions = {}): Promise<Result> {
  const options: RunContext = { ...session, ...runOptions };
  if (p.steps.some((s) => s.kind === "push" || s.kind === "index") && !options.registry)
    throw new PkgkitError("this plan pushes, but run() was given no registry client");
  for (const s of p.steps) if (s.kind === "build" || s.kind === "push" || s.kind === "tag") stepBuilder(s, options);
  const missing = [...new Set(p.steps.flatMap((s) => ((s.kind === "sign" || s.kind === "attest") && !options.signers?.has(s.signerId) ? [`${s.using} (signer id ${s.signerId})`] : [])))];
  if (missing.length) throw new PkgkitError(`this plan signs with ${missing.join(", ")}, but run() was given no such signer (Session.signers, by signer id)`);
  const state: RunState = {
    pushed: new Map(), indexEntries: new Map(), blobs: new Map(), local: new Set(),
    attestAfter: new Map(p.steps.flatMap((s) => (s.kind === "attest" && s.after ? [[s.after, s] as const] : []))),
    attestedBuilds: new Set(p.steps.flatMap((s) => (s.kind === "attest" && s.build ? [s.build] : []))),
    documents: new Map(), builds: new Map(), invocationId: nodeCrypto().randomUUID(),
  };
  // One scratch directory per run, made before any step starts (steps running at once share it).
  if (p.steps.some((s) => s.kind === "context" || s.kind === "push" || (s.kind === "tag" && s.from))) state.scratch = await (await scratchModule()).createScratch(options.tmpDir);
  try {
    return await runSteps(p, options, state);
  } finally {
    // Assembled contexts and exported images are scratch space: gone once the run ends, however it ends.
    await localSettled(state);
    await state.scratch?.remove();
  }
}

async function runSteps(p: Plan, options: RunContext, state: RunState): Promise<Result> {
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const results = new Map<string, StepResult>();
  const known = new Set(p.steps.map((s) => s.id));
  for (const s of p.steps)
    for (const n of s.needs) if (!known.has(n)) throw new PkgkitError(`plan step ${s.id} needs ${n}, which is not in the plan`);
  let pending = [...p.steps];
  const running = new Map<string, Promise<void>>();
  const { signal } = options;
  const aborted = new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true }));
  let closed = false;

  const finish = (step: Step, result: StepResult) => {
    // A step abandoned by an interrupt may settle after run() has returned.
    if (closed) return;
    results.set(step.id, result);
    options.reporter?.stepEnd(step, result);
  };
  const start = (step: Step) => {
    const started = Date.now();
    options.reporter?.stepStart(step);
    const base = { id: step.id, kind: step.kind, ref: "ref" in step ? step.ref : undefined, startedAt: new Date(started).toISOString() };
    const done = (extra: Partial<StepResult> & Pick<StepResult, "status">) => {
      const ended = Date.now();
      finish(step, { ...base, endedAt: new Date(ended).toISOString(), durationMs: ended - started, ...extra });
    };
    running.set(
      step.id,
      runStep(step, options, state)
        .then((outcome) => done({ status: step.kind === "skip" ? "skipped" : "done", ...outcome }))
        .catch((err: unknown) =>
          done({
            status: "failed",
            error: errorText(err),
            ...(isPkgkitError(err) && err.exitCode !== ExitCode.failed ? { exitCode: err.exitCode } : {}),
          }),
        )
        .finally(() => running.delete(step.id)),
    );
  };

  while ((pending.length > 0 || running.size > 0) && !signal?.aborted) {
    let progressed = false;
    for (const step of pending) {
      const needs = step.needs.map((n) => results.get(n));
      const bad = needs.find((r) => r && (r.status === "failed" || r.blockedBy));
      if (bad) {
        const at = new Date().toISOString();
        finish(step, {
          id: step.id, kind: step.kind, ref: "ref" in step ? step.ref : undefined, status: "skipped", startedAt: at, endedAt: at, durationMs: 0,
          blockedBy: bad.blockedBy ?? bad.id,
          error: `not run: ${bad.blockedBy ?? bad.id} failed`,
        });
      } else if (needs.every(Boolean) && (running.size < jobs || step.kind === "skip")) start(step);
      else continue;
      pending = pending.filter((s) => s !== step);
      progressed = true;
      break;
    }
    if (progressed) continue;
    if (running.size === 0) throw new PkgkitError(`plan steps wait on each other: ${pending.map((s) => s.id).join(", ")}`);
    await Promise.race([...running.values(), aborted]);
  }
  if (signal?.aborted) {
    // Child processes are being stopped (see Shell.exec's signal): wait for them, not for the registry.
    await localSettled(state);
    closed = true;
    const at = new Date().toISOString();
    for (const s of p.steps) {
      if (results.has(s.id)) continue;
      const wasRunning = running.has(s.id);
      results.set(s.id, {
        id: s.id, kind: s.kind, ref: "ref" in s ? s.ref : undefined, status: wasRunning ? "failed" : "skipped", startedAt: at, endedAt: at, durationMs: 0,
        interrupted: true, error: wasRunning ? "interrupted while running" : "not run: interrupted",
      });
    }
    return { ok: false, interrupted: true, command: p.command, steps: p.steps.map((s) => results.get(s.id)!) };
  }
  const ordered = p.steps.map((s) => results.get(s.id)!);
  return { ok: ordered.every((r) => r.status !== "failed" && !r.blockedBy), command: p.command, steps: ordered };
}

type Outcome = Pick<StepResult, "image" | "pushed" | "index" | "signed" | "attested">;

async function runStep(step: Step, options: RunContext, state: RunState): Promise<Outcome> {
  const { shell, reporter } = options;
  switch (step.kind) {
    case "skip":
      return {};
    case "push":
      return { pushed: await runPush(step, options, state) };
    case "index":
      return { index: await runIndex(step, options, state) };
    case "sign":
      return {
        signed: await (await signModule()).runSignStep(step, {
          signers: options.signers,
          published: (ref) => state.pushed.get(ref),
          registry: options.registry,
          entries: (ref) => state.indexEntries.get(ref),
          log: (line) => reporter?.stepOutput(step, line),
        }),
      };
    case "attest":
      return { attested: await runAttest(step, options, state) };
    case "tag":
      await runTag(step, options, state);
      return {};
    case "context": {
      options.signal?.throwIfAborted();
      const dir = state.scratch!.contextDir(step.package);
      const { assembleContext, saveImagesInto } = await contextModule();
      await local(state, assembleContext(dir, step.sources));
      if (step.images) await local(state, saveImagesInto(dir, step.images, options.builder, { signal: options.signal, log: (line) => reporter?.stepOutput(step, line) }));
      return {};
    }
    case "build": {
      options.signal?.throwIfAborted();
      const tail: string[] = [];
      const startedOn = new Date();
      const cwd = step.context === "assembled" ? state.scratch?.contextDir(step.package) : step.dir;
      if (!cwd) throw new PkgkitError(`plan step ${step.id} builds in an assembled context, but the plan has no context step`);
      const r = await local(state, shell.exec(step.command.argv, {
        cwd,
        env: step.command.env,
        signal: options.signal,
        onLine: (line) => {
          tail.push(line);
          if (tail.length > 25) tail.shift();
          reporter?.stepOutput(step, line);
        },
      }));
      options.signal?.throwIfAborted();
      if (r.code !== 0) {
        const failure = new PkgkitError(`build of ${step.ref} (${step.platform}) failed with exit code ${r.code}:\n${tail.map((l) => `  | ${l}`).join("\n")}`);
        throw tail.some(isMachineProblem) ? explainedByDoctor(failure) : failure;
      }
      const image = (await stepBuilder(step, options).inspect([step.ref])).get(step.ref);
      if (!image) throw new PkgkitError(`build of ${step.ref} reported success, but the engine has no image ${step.ref}`);
      const built = [image.os, image.architecture, image.variant].filter(Boolean).join("/");
      // The legacy builder can silently produce the host's platform (see legacyBuilder).
      if (!step.platform.startsWith(`${image.os}/${image.architecture}`))
        throw new PkgkitError(`build of ${step.ref} produced a ${built} image, expected ${step.platform}`);
      const finishedOn = new Date();
      if (state.attestedBuilds.has(step.id)) state.builds.set(step.id, { startedOn, finishedOn, builder: step.builder, baseImages: await baseImages(step, cwd, options) });
      return { image };
    }
  }
}

/**
 * The images a build's Dockerfile names in FROM (build args put in), each with the id (config
 * digest) of the image the engine holds under that name after the build: what it built from. A
 * base the engine does not hold by name (BuildKit pulled it into its cache only) is left out.
 */
async function baseImages(step: Extract<Step, { kind: "build" }>, cwd: string, options: RunContext): Promise<{ ref: string; digest: string }[]> {
  const argv = step.command.argv;
  const at = argv.findIndex((a) => a === "--file" || a === "-f");
  const file = at >= 0 ? argv[at + 1] : undefined;
  if (!file) return [];
  const buildArgs = Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === "--build-arg" && a.includes("=") ? [[a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]] : [])));
  const refs = (await baseImagesModule()).baseImageRefs(await readFile(join(cwd, file), "utf8"), buildArgs);
  if (!refs.length) return [];
  const found = await stepBuilder(step, options).inspect(refs);
  return refs.flatMap((ref) => (found.get(ref) ? [{ ref, digest: found.get(ref)!.id }] : []));
}

/** The Builder a build, push or tag step names: the engine its image is built in, exported from or tagged in. */
function stepBuilder(step: Extract<Step, { kind: "build" | "push" | "tag" }>, options: RunContext): Builder {
  const builder = builderFor(step.arch, options.builder, options.builders);
  if (builder.name !== step.builder)
    throw new PkgkitError(`plan step ${step.id} uses builder ${step.builder}, but run() was given ${builder.name} for ${step.arch}: pass the builders the plan was made with`);
  if (step.kind === "tag" && step.from !== undefined && step.from !== options.builder.name)
    throw new PkgkitError(`plan step ${step.id} copies from builder ${step.from}, but run() was given ${options.builder.name} as the local one: pass the builders the plan was made with`);
  return builder;
}

/** A tag step: copy the image from the local engine first when the step says so, then add its plain tag. */
async function runTag(step: Extract<Step, { kind: "tag" }>, options: RunContext, state: RunState): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  const builder = stepBuilder(step, options);
  if (step.from) {
    const dir = await state.scratch!.tempDir("copy-");
    try {
      const archive = join(dir, "image.tar");
      await local(state, options.builder.save(step.ref, archive, { signal }));
      signal?.throwIfAborted();
      await local(state, builder.load(archive, { signal }));
    } finally {
      if (!signal?.aborted) await (await scratchModule()).removeScratch(dir, options.tmpDir);
    }
  }
  if (step.alias) await local(state, builder.tag(step.ref, step.alias));
}

async function runPush(step: Extract<Step, { kind: "push" }>, options: RunContext, state: RunState): Promise<PushedImage> {
  const { registry, signal } = options;
  signal?.throwIfAborted();
  const dir = await state.scratch!.tempDir("image-");
  try {
    const archive = join(dir, "image.tar");
    const builder = stepBuilder(step, options);
    await local(state, builder.save(step.ref, archive, { signal }));
    signal?.throwIfAborted();
    const image = await local(state, imageModule().then((m) => m.imageBlobsFromArchive(archive, dir, step.format, step.sourceDateEpoch ?? 0)));
    signal?.throwIfAborted();
    if (!step.platform.startsWith(`${image.platform.os}/${image.platform.architecture}`))
      throw new PkgkitError(`${step.ref} in the ${builder.engine ? `engine ${builder.engine}` : "local engine"} is a ${image.platform.os}/${image.platform.architecture} image, expected ${step.platform}; rebuild it with --force`);
    const attest = state.attestAfter.get(step.id);
    if (attest) {
      const documents = local(state, attestationDocumentsOf(attest, image, image.manifest, state));
      // The attest step takes the outcome; a push that fails meanwhile leaves it unread.
      documents.catch(() => undefined);
      state.documents.set(step.ref, documents);
    }
    const pushed = await (await pushModule()).pushImage(registry!, step.repository, step.tag, image, state.blobs, { log: (line) => options.reporter?.stepOutput(step, line) });
    state.pushed.set(step.ref, pushed.descriptor);
    return pushed;
  } finally {
    // The attestation documents read the layers from here while it is being made; the scratch directory goes at the end of the run.
    if (!signal?.aborted && !state.documents.has(step.ref)) await (await scratchModule()).removeScratch(dir, options.tmpDir);
  }
}

/**
 * An attest step: the SBOM (from the image's layers: made while this run pushed them, else read
 * back from the registry) and the provenance (this run's build of it: times, builder, base images;
 * for an image this run did not build, its config's creation time), attached and signed by the
 * package's signer.
 */
async function runAttest(step: AttestStep, options: RunContext, state: RunState): Promise<Attached> {
  const { registry } = options;
  options.signal?.throwIfAborted();
  const descriptor = step.digest ? { digest: step.digest, size: step.size!, mediaType: step.mediaType! } : state.pushed.get(step.ref);
  if (!descriptor) throw new PkgkitError(`${step.ref}: nothing to attest: ${step.after ?? "the step before"} produced no digest`);
  const made = state.documents.get(step.ref);
  const documents = made ? await made : await attestationDocumentsOf(step, await (await documentsModule()).imageFromRegistry(registry!, step.repository, descriptor), descriptor, state);
  return (await attachModule()).attachAttestations(registry!, options.signers!.get(step.signerId)!, { repository: step.repository, descriptor }, documents);
}

/** The SBOM and provenance of `image` (manifest `descriptor`), as `step` describes its package and this run built it. */
async function attestationDocumentsOf(step: AttestStep, image: ImageBlobs & { created?: Date }, descriptor: Pick<Descriptor, "digest">, state: RunState): Promise<AttestationDocument[]> {
  const build = step.build ? state.builds.get(step.build) : undefined;
  const created = image.created ?? new Date(0);
  const builder = build?.builder ?? "unknown";
  const kind = builder.split("@")[0]!;
  return (await documentsModule()).attestationDocuments({
    image,
    subject: { name: step.repository, digest: descriptor.digest, arch: step.arch, source: step.source },
    tag: step.tag,
    buildArgs: step.buildArgs,
    builder: { id: `https://pkgkit.dev/builder/${kind}`, kind, ...(builder.includes("@") ? { engine: builder.slice(builder.indexOf("@") + 1) } : {}) },
    baseImages: build?.baseImages ?? [],
    startedOn: build?.startedOn ?? created,
    finishedOn: build?.finishedOn ?? created,
    invocationId: state.invocationId,
    ...(step.sourceDateEpoch !== undefined ? { sourceDateEpoch: step.sourceDateEpoch } : {}),
  });
}

async function runIndex(step: Extract<Step, { kind: "index" }>, { registry, reporter }: RunContext, state: RunState): Promise<MergedIndex> {
  const ours: OwnArch[] = step.arches.map((a) => {
    const pushed = state.pushed.get(a.ref);
    if (pushed) return { arch: a.arch, digest: pushed.digest, ...(pushed.platform ? { descriptor: { ...pushed, platform: pushed.platform } } : {}) };
    // Already in the registry (found by the plan's look-up); the merge checks its tag still has it.
    if (a.digest) return { arch: a.arch, digest: a.digest };
    throw new PkgkitError(`${a.ref} was neither pushed by this run nor found in the registry`);
  });
  const merged = await (await pushModule()).mergeIndex(registry!, step.repository, step.tag, ours, {
    alsoTag: step.release ? [step.release] : [],
    log: (line) => reporter?.stepOutput(step, line),
  });
  state.pushed.set(step.ref, { mediaType: merged.mediaType, digest: merged.digest, size: merged.size });
  state.indexEntries.set(step.ref, ours.map((o) => o.digest));
  return merged;
}
