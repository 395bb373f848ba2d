/**
 * Builder: builds one package for one platform into an engine: the docker CLI's default one
 * (DOCKER_HOST, the current context), or one given as an endpoint or a docker context (a remote
 * builder, e.g. a native arm64 machine). Implementations say what they would run (`command`,
 * pure, so plans can show it) and look up what exists in their engine.
 */
import { ARCHES, platformString, PLATFORMS, type Arch } from "./spec.ts";
import type { Shell } from "./shell.ts";
import { explainedByDoctor, InputError, PkgkitError } from "./errors.ts";
import { engineName, type BuilderKind, type Engine, type EngineTls } from "./options.ts";
import { detectKind, type KindCacheOptions } from "./builder-kind.ts";
import { engineGet, engineSocket, imageInspectPath } from "./engine-api.ts";
import { engineProblem } from "./engine-errors.ts";
import { mapLimit } from "./concurrency.ts";

export interface BuildRequest {
  /** Build context directory. */
  context: string;
  dockerfile: string;
  arch: Arch;
  /** Image reference to tag the result with. */
  ref: string;
  /** A second tag for the result: the plain `org/image:<tag>` (see PlanOptions.nativeArch). */
  alias?: string;
  network: boolean;
  cache: boolean;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  /** false: no provenance or SBOM attestations (buildx; the legacy builder makes none). */
  attestations?: boolean;
}

export interface BuildCommand {
  argv: string[];
  /** Extra environment for the command (no secrets). */
  env?: Record<string, string>;
}

/** An image in a builder's engine. */
export interface LocalImage {
  ref: string;
  id: string;
  os: string;
  architecture: string;
  variant?: string;
  labels: Record<string, string>;
}

/**
 * Builds one package for one platform in one engine, and looks up and exports what that engine
 * holds. Implementations: `buildxBuilder`, `legacyBuilder` (`detectBuilder` picks one).
 */
export interface Builder {
  /** The kind, and where it builds when that is not the default engine: `buildx`, `buildx@ssh://arm-host`. */
  readonly name: string;
  /** The engine it builds in, as given (endpoint or context name); absent for the default engine. */
  readonly engine?: string;
  /** The TLS files of its tcp:// engine (the plan records them, for `pkgkit apply`). */
  readonly tls?: EngineTls;
  /** A named buildx builder's driver (`docker`, `docker-container`, `remote`, `kubernetes`, ...). */
  readonly driver?: string;
  command(req: BuildRequest): BuildCommand;
  /** Look up images in its engine, one query for all refs. Missing refs are absent. */
  inspect(refs: string[]): Promise<Map<string, LocalImage>>;
  /** Write an image from its engine to a `docker save` archive; `signal` stops it. */
  save(ref: string, file: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Write images from its engine to one `docker save` archive; `signal` stops it. */
  saveAll(refs: string[], file: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Make `ref` present in its engine: nothing when it is there already, else `docker pull`; says which. */
  provide(ref: string, options?: { signal?: AbortSignal }): Promise<"present" | "pulled">;
  /** Load a `docker save` archive into its engine; `signal` stops it. */
  load(file: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Give the image `ref` in its engine the tag `alias` too. */
  tag(ref: string, alias: string): Promise<void>;
  /** The GOARCH of its engine's machine (`docker version`'s server arch); undefined when it does not say. Asked once: later calls share the answer. */
  engineArch(): Promise<string | undefined>;
}

/** A builder per arch, for arches that build somewhere else than the default builder. */
export type ArchBuilders = Partial<Record<Arch, Builder>>;

/** The builder of `arch`: its own, else the default one. */
export const builderFor = (arch: Arch, builder: Builder, builders: ArchBuilders = {}): Builder => builders[arch] ?? builder;

export { BUILDERS_FORM, engineName, parseBuilders, parseBuilderTarget, parseEngine, targetName, type BuilderKind, type BuilderTarget, type Engine, type EngineTls } from "./options.ts";

const flags = (flag: string, entries: Record<string, string>) =>
  Object.entries(entries).flatMap(([k, v]) => [flag, `${k}=${v}`]);

/**
 * TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT, passed explicitly to both builders: the
 * legacy builder never sets them, and older engine-embedded BuildKit (v0.8, Debian 12's engine)
 * leaves TARGETARCH empty once a Dockerfile declares a global `ARG TARGETARCH`.
 */
function platformArgs(arch: Arch): Record<string, string> {
  const p: { os: string; architecture: string; variant?: string } = PLATFORMS[arch];
  return { TARGETPLATFORM: platformString(arch), TARGETOS: p.os, TARGETARCH: p.architecture, TARGETVARIANT: p.variant ?? "" };
}

/**
 * The Builder that runs `docker buildx build --load` (the docker driver: the engine's own
 * BuildKit) through `docker` (the CLI to run), in `engine` or else the CLI's default engine;
 * `arch` is the arch it builds for, when it has an engine of its own (its errors name it).
 */
export function buildxBuilder(shell: Shell, docker = "docker", engine?: Engine, arch?: Arch): Builder {
  const cli = dockerCli(docker, engine, arch);
  return {
    ...named("buildx", engine),
    command: (r) => ({ argv: buildxArgv(cli.argv, [], r) }),
    ...engineOps(shell, cli),
  };
}

/** `docker buildx build --load` of request `r`, through the CLI `cli`; `builder`: `--builder <name>` or nothing. */
function buildxArgv(cli: string[], builder: string[], r: BuildRequest): string[] {
  return [
    ...cli, "buildx", "build",
    ...builder,
    "--platform", platformString(r.arch),
    "--load",
    "--progress", "plain",
    ...(r.network ? [] : ["--network", "none"]),
    ...(r.cache ? [] : ["--no-cache"]),
    ...(r.attestations === false ? ["--provenance=false", "--sbom=false"] : []),
    ...commonBuildArgs(r),
  ];
}

/** What every builder's argv ends with: build args, labels, the Dockerfile, the tags, the context. */
function commonBuildArgs(r: BuildRequest): string[] {
  return [
    ...flags("--build-arg", { ...platformArgs(r.arch), ...r.buildArgs }),
    ...flags("--label", r.labels),
    "--file", r.dockerfile,
    "--tag", r.ref,
    ...(r.alias ? ["--tag", r.alias] : []),
    r.context,
  ];
}

/**
 * The Builder that runs `docker buildx build --builder <name> --load` with the named buildx
 * builder, whose `driver` (lib/buildx-driver.ts) says where `--load` puts the image, and so the
 * engine it is looked up in and exported from for the push:
 * - `docker`: the builder is the BuildKit of the docker context of that name, run through
 *   `docker --context <name>`; the image stays in that context's engine (as an engine given by
 *   `--builders arm64=<context>`).
 * - any other (`docker-container`, `remote`, `kubernetes`, ...): BuildKit runs apart from any
 *   engine; buildx sends the result back as a `docker save` archive and loads it into the docker
 *   CLI's own engine (DOCKER_HOST, the current context), from which pkgkit pushes it as any other
 *   image. The builder needs no registry access nor credentials, and what reaches the registry is
 *   what pkgkit's own client pushes (its TLS, retries, blob mounts and layer handling), signed as usual.
 */
export function namedBuildxBuilder(shell: Shell, name: string, driver: string, docker = "docker", arch?: Arch): Builder {
  const engine: Engine | undefined = driver === "docker" ? { context: name } : undefined;
  const cli = dockerCli(docker, engine, arch);
  return {
    name: `buildx:${name}`,
    ...(engine ? { engine: name } : {}),
    driver,
    // buildx refuses `--builder <context>` of the docker driver from another context ("use `docker --context=<name> buildx`").
    command: (r) => ({ argv: buildxArgv(cli.argv, ["--builder", name], r) }),
    ...engineOps(shell, cli),
  };
}

/**
 * The legacy builder (`DOCKER_BUILDKIT=0 docker build`) for engines without buildx. Its gotchas:
 * - its build cache ignores the platform: a cached arm64 layer is reused for amd64, giving an image
 *   of the wrong architecture. So it always builds with --no-cache.
 * - after `FROM scratch`, the first instruction must add files (COPY/ADD); an ARG, ENV or LABEL
 *   first makes the engine reject the platform ("does not match the specified platform").
 * - it sets no TARGET* args (passed explicitly, as for buildx).
 */
export function legacyBuilder(shell: Shell, docker = "docker", engine?: Engine, arch?: Arch): Builder {
  const cli = dockerCli(docker, engine, arch);
  return {
    ...named("legacy", engine),
    command: (r) => {
      return {
        argv: [
          ...cli.argv, "build",
          "--platform", platformString(r.arch),
          ...(r.network ? [] : ["--network", "none"]),
          "--no-cache",
          ...commonBuildArgs(r),
        ],
        env: { DOCKER_BUILDKIT: "0" },
      };
    },
    ...engineOps(shell, cli),
  };
}

function named(kind: string, engine?: Engine): Pick<Builder, "name" | "engine" | "tls"> {
  if (!engine) return { name: kind };
  const tls = "host" in engine && engine.tls ? { tls: { ca: engine.tls.ca, cert: engine.tls.cert, key: engine.tls.key } } : {};
  return { name: `${kind}@${engineName(engine)}`, engine: engineName(engine), ...tls };
}

/** The docker CLI's arguments that point it at `engine`, with its TLS files (they take precedence over DOCKER_CERT_PATH); none for the default engine. */
export function engineArgs(engine?: Engine): string[] {
  const at = !engine ? [] : "host" in engine ? ["--host", engine.host] : ["--context", engine.context];
  const tls = engine && "host" in engine && engine.tls ? ["--tlsverify", "--tlscacert", engine.tls.ca, "--tlscert", engine.tls.cert, "--tlskey", engine.tls.key] : [];
  return [...at, ...tls];
}

/** The docker CLI, pointed at `engine` (see engineArgs). */
function dockerCli(docker: string, engine?: Engine, arch?: Arch) {
  const argv = [docker, ...engineArgs(engine)];
  const where = !engine ? "" : "host" in engine ? ` on ${engine.host}` : ` on docker context ${engine.context}`;
  /** The error of a failed `docker <what>`: why the engine could not be reached, when that is why, else docker's message. */
  const failed = (what: string, r: { code: number; stderr: string }, hint = "") => {
    const problem = engine && engineProblem(r.stderr, engine, arch);
    // Reaching an engine is what doctor's builder rows check.
    return problem ? explainedByDoctor(new PkgkitError(problem)) : new PkgkitError(`docker ${what}${where} failed: ${r.stderr.trim() || `exit ${r.code}`}${hint}`);
  };
  return { argv, where, engine, failed };
}
type DockerCli = ReturnType<typeof dockerCli>;

/** What every builder does the same way in its engine, through the docker CLI. */
function engineOps(shell: Shell, cli: DockerCli): Pick<Builder, "inspect" | "save" | "saveAll" | "provide" | "load" | "tag" | "engineArch"> {
  let arch: Promise<string | undefined> | undefined;
  return {
    inspect: (refs) => inspectImages(shell, cli, refs),
    save: (ref, file, options) => saveImages(shell, cli, [ref], file, options?.signal),
    saveAll: (refs, file, options) => saveImages(shell, cli, refs, file, options?.signal),
    async provide(ref, options) {
      // By digest too (`name@sha256:...`), which inspectImages, matching tags, does not answer.
      const asked = await apiInspect(cli, [ref]);
      if (asked ? asked[0]!.status === 200 : (await shell.exec([...cli.argv, "image", "inspect", "--format", "{{.Id}}", ref])).code === 0) return "present";
      const r = await shell.exec([...cli.argv, "pull", "--quiet", ref], { signal: options?.signal });
      if (r.code !== 0) throw cli.failed(`pull ${ref}`, r);
      return "pulled";
    },
    async load(file, options) {
      const r = await shell.exec([...cli.argv, "load", "--input", file], { signal: options?.signal });
      if (r.code !== 0) throw cli.failed("load", r);
    },
    async tag(ref, alias) {
      const r = await shell.exec([...cli.argv, "image", "tag", ref, alias]);
      if (r.code !== 0) throw cli.failed(`image tag ${ref} ${alias}`, r);
    },
    engineArch: () => (arch ??= engineArchOf(shell, cli)),
  };
}

/** Its engine's GOARCH: `GET /version` over the engine's socket, else `docker version` (see Builder.engineArch). */
async function engineArchOf(shell: Shell, cli: DockerCli): Promise<string | undefined> {
  const socket = engineSocket(cli.engine);
  const version = socket ? await engineGet(socket, "/version") : undefined;
  if (version?.status === 200) return (version.body as { Arch?: string }).Arch || undefined;
  const r = await shell.exec([...cli.argv, "version", "--format", "{{.Server.Arch}}"]);
  return r.code === 0 ? r.stdout.trim() || undefined : undefined;
}

async function saveImages(shell: Shell, docker: DockerCli, refs: string[], file: string, signal?: AbortSignal): Promise<void> {
  const r = await shell.exec([...docker.argv, "save", "--output", file, ...refs], { signal });
  if (r.code !== 0) throw docker.failed(`save ${refs.join(" ")}`, r);
}

/** Image inspects of `refs` through the engine API, one request each; undefined when the docker CLI must answer (see lib/engine-api.ts). */
async function apiInspect(docker: DockerCli, refs: string[]): Promise<{ status: number; body: unknown }[] | undefined> {
  const socket = engineSocket(docker.engine);
  const paths = refs.map(imageInspectPath);
  if (!socket || paths.some((p) => p === undefined)) return undefined;
  const answers = await mapLimit(paths as string[], 8, (path) => engineGet(socket, path));
  return answers.every((a) => a && (a.status === 200 || a.status === 404)) ? (answers as { status: number; body: unknown }[]) : undefined;
}

async function inspectImages(shell: Shell, docker: DockerCli, refs: string[]): Promise<Map<string, LocalImage>> {
  const found = new Map<string, LocalImage>();
  if (refs.length === 0) return found;
  const asked = await apiInspect(docker, refs);
  const wanted = new Set(refs);
  for (const img of asked ? asked.filter((a) => a.status === 200).map((a) => a.body) : await inspectWithCli(shell, docker, refs)) {
    const { Id, Os, Architecture, Variant, RepoTags, Config } = img as InspectedImage;
    for (const tag of RepoTags ?? []) {
      if (!wanted.has(tag)) continue;
      found.set(tag, {
        ref: tag, id: Id, os: Os, architecture: Architecture,
        ...(Variant ? { variant: Variant } : {}),
        labels: Config?.Labels ?? {},
      });
    }
  }
  return found;
}

/** The part of an image inspect pkgkit reads (the Engine API's ImageInspect). */
interface InspectedImage {
  Id: string; Os: string; Architecture: string; Variant?: string; RepoTags?: string[];
  Config?: { Labels?: Record<string, string> | null };
}

/** `docker image inspect` of `refs`, one process for all: missing ones only add a line to stderr. */
async function inspectWithCli(shell: Shell, docker: DockerCli, refs: string[]): Promise<unknown[]> {
  const r = await shell.exec([...docker.argv, "image", "inspect", "--format", "{{json .}}", ...refs]);
  if (r.code !== 0 && docker.engine && "context" in docker.engine && /context not found|does not exist/i.test(r.stderr))
    throw new InputError(`docker context ${JSON.stringify(docker.engine.context)} does not exist: \`docker context ls\` lists them, \`docker context create ${docker.engine.context} --docker host=<endpoint>\` makes it; or give the endpoint itself (unix://, tcp://, ssh://)`);
  if (r.code !== 0 && !/No such image/i.test(r.stderr)) throw explainedByDoctor(docker.failed("image inspect", r, `. Is the Docker engine${docker.where} running?`));
  return r.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line) as unknown);
}

/**
 * A line of build output that says the machine lacks something `pkgkit doctor` checks: no qemu
 * for a foreign arch (exec format error), no engine, no buildx.
 */
export function isMachineProblem(line: string): boolean {
  return /exec format error|Cannot connect to the Docker daemon|error during connect|'buildx' is not a docker command|unknown command "buildx"/i.test(line);
}

/** Each builder kind's constructor (the kinds: lib/options.ts). */
export const BUILDER_KINDS: Record<BuilderKind, (shell: Shell, docker?: string, engine?: Engine, arch?: Arch) => Builder> = { buildx: buildxBuilder, legacy: legacyBuilder };

/**
 * buildx when the docker CLI has it (a client plugin, so the same for every engine), else legacy;
 * remembered between runs while the CLI and its plugins are unchanged (lib/builder-kind.ts).
 */
export async function detectBuilderKind(shell: Shell, docker = "docker", cache?: KindCacheOptions): Promise<BuilderKind> {
  return detectKind(shell, docker, cache);
}

/** `buildxBuilder` when the docker CLI has buildx (`docker buildx version`, remembered: detectBuilderKind), else `legacyBuilder`. */
export async function detectBuilder(shell: Shell, docker = "docker", engine?: Engine): Promise<Builder> {
  return BUILDER_KINDS[await detectBuilderKind(shell, docker)](shell, docker, engine);
}
