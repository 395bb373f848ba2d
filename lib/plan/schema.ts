/**
 * The plan as data: one zod schema per step kind, the plan and the plan matrix. These schemas are
 * the one definition: the TypeScript types below are inferred from them, and plan files are read
 * back with them (lib/apply.ts).
 */
import { isAbsolute } from "node:path";
import * as z from "zod/mini";
import { ARCHES, parseImageRef, tagRe } from "../names.ts";
import { signerName } from "../sign/schema.ts";

const arch = z.enum(ARCHES);
const absolute = (what: string) => z.string().check(z.refine(isAbsolute, { error: `expected ${what}: an absolute path` }));
const builderName = z.string().check(z.regex(/^((buildx|legacy)(@\S+)?|buildx:[a-zA-Z0-9][a-zA-Z0-9_.+-]*)$/, { error: "expected a builder: buildx or legacy, either @<endpoint|context>, or buildx:<name>" }));
const imageTag = z.string().check(z.regex(tagRe, { error: "expected an image tag" }));

function isImageName(text: string): boolean {
  try {
    parseImageRef(text);
    return true;
  } catch {
    return false;
  }
}

/** What every step has: `needs` names the steps that must have succeeded before it starts (its edges in the DAG). */
const step = { id: z.string(), package: z.string(), reason: z.string(), needs: z.array(z.string()) };

/** Build one arch of a package: `command` runs in its context directory. */
export const buildStepSchema = z.object({
  kind: z.literal("build"),
  ...step,
  dir: z.string(),
  arch,
  platform: z.string(),
  ref: z.string(),
  builder: z.string(),
  /**
   * The build context, the directory `command` runs in: the package directory (`dir`), or, when
   * there are extra sources, the one the package's context step assembles in run()'s scratch
   * directory. `command` names the context as "." and the Dockerfile relative to it.
   */
  context: z.enum(["package", "assembled"]),
  command: z.object({ argv: z.array(z.string()), env: z.optional(z.record(z.string(), z.string())) }),
  /** A named buildx builder's driver (`builder` is `buildx:<name>`): `docker` keeps the image in its context's engine, any other loads it into the local one. */
  driver: z.optional(z.string()),
});

/** Nothing to do: the image (or the index) is there already. */
export const skipStepSchema = z.object({
  kind: z.literal("skip"),
  ...step,
  /** Absent when the index is skipped. */
  arch: z.optional(arch),
  ref: z.string(),
  /** What was found: the local image id, or the registry's manifest digest. */
  found: z.optional(z.string()),
  /** Skipping a build of an image that will still be pushed, or skipping everything. */
  skips: z.enum(["build", "build+push", "index"]),
});

/**
 * Copy the package and its extra sources into one context directory, which run() makes in its
 * scratch directory (plans name no scratch path): each `src` (absolute) to `dst`, relative to the
 * context ("." for its root).
 */
export const contextStepSchema = z.object({
  kind: z.literal("context"),
  ...step,
  sources: z.array(z.object({ src: z.string(), dst: z.string() })),
  /**
   * `depends.dockerImages`, after the sources: `emptyDir` (relative to the context) is emptied,
   * then each archive `dst` gets the images `refs`, from the local engine, pulled there when missing.
   */
  images: z.optional(z.object({ emptyDir: z.optional(z.string()), archives: z.array(z.object({ dst: z.string(), refs: z.array(z.string()) })) })),
});

/** Push `org/image:<tag>-<arch>` from the local engine to its registry. */
export const pushStepSchema = z.object({
  kind: z.literal("push"),
  ...step,
  arch,
  platform: z.string(),
  ref: z.string(),
  repository: z.string(),
  tag: z.string(),
  format: z.enum(["docker", "oci"]),
  /** The builder whose engine holds the image (it exports it). */
  builder: z.string(),
  /** SOURCE_DATE_EPOCH: the layers' and config's times after it are clamped to it (absent: 0). */
  sourceDateEpoch: z.optional(z.number().check(z.int(), z.gte(0))),
});

/**
 * Local chaining, as LinuxKit's `--docker` does it: give the image `ref` the plain tag `alias`
 * (`org/image:<tag>`) in the engine of `builder`, so a Dockerfile's `FROM org/image:<tag>` finds it
 * without a registry. With `from` (the builder of the local engine), the image is first copied
 * into that engine (`docker save | docker load`): it exists in the local engine only, and the
 * builds of its arch, in an engine of their own, need it there. The copy takes its build's place.
 */
export const tagStepSchema = z.object({
  kind: z.literal("tag"),
  ...step,
  arch,
  ref: z.string(),
  alias: z.optional(z.string()),
  builder: z.string(),
  from: z.optional(z.string()),
});

/** Merge this run's arches into the index `org/image:<tag>` (and point release tags at it). */
export const indexStepSchema = z.object({
  kind: z.literal("index"),
  ...step,
  ref: z.string(),
  repository: z.string(),
  tag: z.string(),
  release: z.optional(z.string()),
  /** Each arch's image: pushed by this run (digest known once pushed), or already in the registry. */
  arches: z.array(z.object({ arch, ref: z.string(), digest: z.optional(z.string()) })),
});

/**
 * `prepare` readies a package's signer (see lib/plan/sign.ts); `sign` signs one image or index,
 * whose digest the plan holds (already in the registry) or the `after` step produces.
 */
export const signStepSchema = z.object({
  kind: z.literal("sign"),
  ...step,
  action: z.enum(["prepare", "sign"]),
  signer: signerName,
  /** Which signer: the key of `Session.signers`, given in package order (`sigstore`, `sigstore#2`; see recipes/sign.ts). */
  signerId: z.string(),
  /** The signer's description, for people: its server, key or identity. */
  using: z.string(),
  /** `org/image:<tag>[-<arch>]`; for `prepare`, the package's index ref. */
  ref: z.string(),
  repository: z.string(),
  /** Tags the digest is published under (Notary signs each); empty for `prepare`. */
  tags: z.array(z.string()),
  arch: z.optional(arch),
  /** Known when planned for what the registry already has; else the `after` step's result. */
  digest: z.optional(z.string()),
  size: z.optional(z.number()),
  mediaType: z.optional(z.string()),
  /** The push or index step whose result is the digest to sign. */
  after: z.optional(z.string()),
});

/**
 * Attach attestations (an SBOM and a provenance, by `predicateTypes`) to one arch image, as
 * in-toto statements signed by the package's signer (see lib/attest/): the image the `after` step
 * pushed, or the one already in the registry (`digest`). `build`: the step that built it, whose
 * times and builder the provenance records.
 */
export const attestStepSchema = z.object({
  kind: z.literal("attest"),
  ...step,
  ref: z.string(),
  repository: z.string(),
  arch,
  signer: signerName,
  signerId: z.string(),
  using: z.string(),
  predicateTypes: z.array(z.string()).check(z.minLength(1)),
  /** What the provenance names: the package's tag, sources (directory from the git top, tag hash, repository, commit) and build args. */
  tag: imageTag,
  source: z.object({ dir: z.string(), tree: z.string(), gitrepo: z.optional(z.string()), commit: z.optional(z.string()) }),
  buildArgs: z.record(z.string(), z.string()),
  /** The SBOM's creation time (the package's SOURCE_DATE_EPOCH), so that the document depends on the image alone. */
  sourceDateEpoch: z.optional(z.number()),
  digest: z.optional(z.string()),
  size: z.optional(z.number()),
  mediaType: z.optional(z.string()),
  after: z.optional(z.string()),
  build: z.optional(z.string()),
});

/** Any step, by its `kind`. */
export const stepSchema = z.discriminatedUnion("kind", [buildStepSchema, skipStepSchema, contextStepSchema, tagStepSchema, pushStepSchema, indexStepSchema, signStepSchema, attestStepSchema]);

/** The kinds of step a plan has. */
export const STEP_KINDS = stepSchema.def.options.map((s) => s.shape.kind.def.values[0]!);

const lookups = z.record(z.string(), z.nullable(z.string()), { error: "expected an object of ref → digest or null" });

/** Each look-up made while planning, ref → what was found, null when nothing was. */
export const observedSchema = z.object({
  /** Manifest digests: each `<tag>-<arch>` and release tag (HEAD), each index (GET). */
  registry: lookups,
  /** Image ids in the engine each arch builds in: the local one, unless it has a builder of its own. */
  local: lookups,
  /**
   * Each package's plain `org/image:<tag>` in the local engine (see the tag step). Not checked by
   * `apply`: other builds (another group of a matrix) add it, and tagging again is harmless.
   */
  plain: z.optional(lookups),
  /** Per-arch images of arches that build in an engine of their own and are not there: ids in the local engine, which copies them over. */
  localEngine: z.optional(lookups),
  /**
   * Push plans of packages that sign: for each image and index already in the registry,
   * `<ref>@<digest>` -> the signer (its description) it is signed with, null when the package's
   * signer finds no signature. What is pushed by the plan is signed by it, and not looked up.
   */
  signatures: z.optional(lookups),
  /**
   * Push plans that attest: for each arch image already in the registry, `<ref>@<digest>` -> the
   * signer (its description) whose attestations of it verify, null when one is missing or does not verify.
   */
  attestations: z.optional(lookups),
});

/** Overrides the packages were resolved with, and the directory the workspace was looked up from. */
export const resolvedWithSchema = z.object({
  from: absolute("the directory the plan was made in"),
  org: z.optional(z.string()),
  hash: z.optional(z.string()),
  tag: z.optional(z.string()),
  hashCommit: z.optional(z.string()),
  hashPath: z.optional(absolute("the --hash-path directory")),
  forceDirty: z.optional(z.boolean()),
  buildYml: z.optional(z.string()),
  network: z.optional(z.boolean()),
  disableCache: z.optional(z.boolean()),
  disableContentTrust: z.optional(z.boolean()),
  /** `--dockerfile`, relative to each package directory. */
  dockerfile: z.optional(z.string()),
  /** The build args of `--build-arg-file`s, as read when planning. */
  buildArgs: z.optional(z.record(z.string(), z.string())),
  /** `--source-date-epoch` or SOURCE_DATE_EPOCH, as read when planning. */
  sourceDateEpoch: z.optional(z.number().check(z.int(), z.gte(0))),
});

/** The run's signing flags (`--signer`, `--key` made absolute, `--keyless`) and the pkgkit.yml read, if any. */
export const signingInputsSchema = z.strictObject({
  signer: z.optional(signerName),
  key: z.optional(absolute("the signing key")),
  keyless: z.optional(z.boolean()),
  config: z.optional(absolute("the pkgkit.yml read")),
  /** false under `pkgkit pkg` (LinuxKit's defaults): only packages with a signer configured sign. */
  signByDefault: z.optional(z.literal(false)),
});

/** The options a plan was made with, so `pkgkit apply` can plan again and compare. */
export const planInputsSchema = z.object({
  /** The builder's name (`buildx`, `legacy`), and each arch's that builds in an engine of its own (`buildx@ssh://arm-host`) or with a named buildx builder (`buildx:k8s`). */
  builder: builderName,
  builders: z.optional(z.partialRecord(arch, builderName)),
  /** The TLS files of each arch's tcp:// engine that has them (paths, never their content). */
  builderTls: z.optional(z.partialRecord(arch, z.object({ ca: absolute("the engine's CA certificate"), cert: absolute("the client certificate"), key: absolute("the client key") }))),
  release: z.optional(imageTag),
  format: z.optional(z.enum(["docker", "oci"])),
  /** Every package, or those with these ids. */
  force: z.union([z.boolean(), z.array(z.string())], { error: "expected true, false or a list of package ids" }),
  /** Push: false with `--manifest=false`: per-arch images only, no multi-arch index. */
  manifest: z.optional(z.literal(false)),
  /** false with `--sbom-scanner false`: builds make no attestations. */
  attestations: z.optional(z.literal(false)),
  resolved: z.optional(resolvedWithSchema),
  /** Push plans of packages that sign: what the run said about signing, and the pkgkit.yml read. */
  signing: z.optional(signingInputsSchema),
  /**
   * The local engine's native arch when planned, whose images got the plain tag (PlanOptions.nativeArch).
   * `apply` plans again with it, so a plan applied on a machine of another arch (a group of
   * `plan --by arch` in a CI job on a native arm64 runner) still holds.
   */
  nativeArch: z.optional(z.string()),
});

/** A plan's package: `commit` is HEAD when planned, which the builds record in their revision label. */
export const plannedPackageSchema = z.object({
  name: z.string().check(z.refine(isImageName, { error: "expected an image name: org/image:<tag>" })),
  dir: absolute("the package directory"),
  tag: imageTag,
  dirty: z.boolean(),
  arches: z.array(arch).check(z.minLength(1)),
  commit: z.optional(z.string().check(z.regex(/^[0-9a-f]{40,64}$/, { error: "expected a git commit id" }))),
  /** HEAD as the GOPKGVERSION build arg: kept, like `commit`, when the plan is applied after a commit elsewhere. */
  goPkgVersion: z.optional(z.string()),
});

/** A plan: its packages, its steps in order, what they rest on, and the options it was made with. */
export const planSchema = z.object({
  version: z.literal(1),
  command: z.enum(["build", "push"]),
  packages: z.array(plannedPackageSchema).check(z.minLength(1, { error: "expected at least one package" })),
  steps: z.array(stepSchema),
  /** What the decisions rest on: every look-up made while planning. */
  observed: z.optional(observedSchema),
  inputs: z.optional(planInputsSchema),
});

/** `plan --by arch`: one plan per arch, each with that arch's steps and an index step merging only it. */
export const planMatrixSchema = z.object({
  version: z.literal(1),
  kind: z.literal("matrix"),
  by: z.literal("arch"),
  groups: z.array(z.object({ arch, plan: planSchema })).check(z.minLength(1)),
});

/** What a plan is for: `build`, or `push` (build, push, merge the index, sign). */
export type Command = Plan["command"];
/** See buildStepSchema. */
export type BuildStep = z.infer<typeof buildStepSchema>;
/** See skipStepSchema. */
export type SkipStep = z.infer<typeof skipStepSchema>;
/** See contextStepSchema. */
export type ContextStep = z.infer<typeof contextStepSchema>;
/** See tagStepSchema. */
export type TagStep = z.infer<typeof tagStepSchema>;
/** See pushStepSchema. */
export type PushStep = z.infer<typeof pushStepSchema>;
/** See indexStepSchema. */
export type IndexStep = z.infer<typeof indexStepSchema>;
/** See signStepSchema. */
export type SignStep = z.infer<typeof signStepSchema>;
/** See attestStepSchema. */
export type AttestStep = z.infer<typeof attestStepSchema>;
/** One step of a plan (build, skip, context, tag, push, index, sign or attest); `needs` names the steps that must have succeeded before it starts: its edges in the DAG. */
export type Step = z.infer<typeof stepSchema>;
/** See observedSchema. */
export type Observed = z.infer<typeof observedSchema>;
/** See resolvedWithSchema. */
export type ResolvedWith = z.infer<typeof resolvedWithSchema>;
/** See signingInputsSchema. */
export type SigningInputs = z.infer<typeof signingInputsSchema>;
/** See planInputsSchema. */
export type PlanInputs = z.infer<typeof planInputsSchema>;
/** See plannedPackageSchema. */
export type PlannedPackage = z.infer<typeof plannedPackageSchema>;
/**
 * What a command will do, as plain data: the packages, the steps (a DAG through `needs`), what the
 * decisions rest on (`observed`) and what the plan was made with (`inputs`). JSON as it is:
 * `pkgkit plan --json` writes one, `parsePlanFile` reads one back.
 */
export type Plan = z.infer<typeof planSchema>;
/** See planMatrixSchema. */
export type PlanMatrix = z.infer<typeof planMatrixSchema>;
