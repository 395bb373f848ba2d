/**
 * Builder: builds one package for one platform into an engine: the docker CLI's default one
 * (DOCKER_HOST, the current context), or one given as an endpoint or a docker context (a remote
 * builder, e.g. a native arm64 machine). Implementations say what they would run (`command`,
 * pure, so plans can show it) and look up what exists in their engine.
 */
import { ARCHES, platformString, PLATFORMS, type Arch } from "./spec.ts";
import type { Shell } from "./shell.ts";
import { InputError, PkgkitError, redactUrlPasswords } from "./errors.ts";

export interface BuildRequest {
  /** Build context directory. */
  context: string;
  dockerfile: string;
  arch: Arch;
  /** Image reference to tag the result with. */
  ref: string;
  network: boolean;
  cache: boolean;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
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
  command(req: BuildRequest): BuildCommand;
  /** Look up images in its engine, one query for all refs. Missing refs are absent. */
  inspect(refs: string[]): Promise<Map<string, LocalImage>>;
  /** Write an image from its engine to a `docker save` archive; `signal` stops it. */
  save(ref: string, file: string, options?: { signal?: AbortSignal }): Promise<void>;
}

/** A builder per arch, for arches that build somewhere else than the default builder. */
export type ArchBuilders = Partial<Record<Arch, Builder>>;

/** The builder of `arch`: its own, else the default one. */
export const builderFor = (arch: Arch, builder: Builder, builders: ArchBuilders = {}): Builder => builders[arch] ?? builder;

/**
 * Where a builder's engine is: an endpoint (`docker --host`: unix://, tcp://, ssh://) or the name
 * of a docker context (`docker --context`; `docker context ls` lists them).
 */
export type Engine = { host: string } | { context: string };

const ENDPOINT_RE = /^(unix|tcp|ssh):\/\/[^\s,]+$/;
/** Docker's own rule for context names. */
const CONTEXT_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;
export const BUILDERS_FORM = "arch=<endpoint|context>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock";

/** An endpoint or a context name → Engine, or what is wrong with it. */
export function parseEngine(value: string): Engine | { problem: string } {
  if (value.trim() === "") return { problem: "no engine given; expected an endpoint (unix://, tcp://, ssh://) or a docker context name" };
  if (value.includes("://")) {
    if (redactUrlPasswords(value) !== value)
      return { problem: `${JSON.stringify(redactUrlPasswords(value))}: an engine endpoint must not hold a password; use an SSH key or agent (ssh://user@host), or TLS (tcp://)` };
    if (ENDPOINT_RE.test(value)) return { host: value };
    return { problem: `${JSON.stringify(value)} is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>` };
  }
  if (CONTEXT_RE.test(value)) return { context: value };
  return { problem: `${JSON.stringify(value)} is neither an engine endpoint (unix://, tcp://, ssh://) nor a docker context name (letters, digits, "_", ".", "+", "-")` };
}

export const engineName = (e: Engine): string => ("host" in e ? e.host : e.context);

/**
 * `arm64=ssh://arm-host,amd64=my-context` → an Engine per arch. `source` names where the text
 * came from (`--builders`, `PKGKIT_BUILDERS`) for the error, an InputError.
 */
export function parseBuilders(text: string, source: string): Partial<Record<Arch, Engine>> {
  const engines: Partial<Record<Arch, Engine>> = {};
  const bad = (why: string) => new InputError(`${source} ${JSON.stringify(redactUrlPasswords(text))}: ${why}; expected ${BUILDERS_FORM}`);
  const entries = text.split(",").map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw bad("no builder given");
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq < 0) throw bad(`${JSON.stringify(entry)} is not arch=<endpoint|context>`);
    const arch = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    if (!(ARCHES as string[]).includes(arch)) throw bad(`${JSON.stringify(arch)} is not an arch pkgkit builds for (${ARCHES.join(", ")})`);
    if (engines[arch as Arch]) throw bad(`${arch} is given twice`);
    if (value === "") throw bad(`no engine for ${arch}`);
    const engine = parseEngine(value);
    if ("problem" in engine) throw bad(engine.problem);
    engines[arch as Arch] = engine;
  }
  return engines;
}

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
 * BuildKit) through `docker` (the CLI to run), in `engine` or else the CLI's default engine.
 */
export function buildxBuilder(shell: Shell, docker = "docker", engine?: Engine): Builder {
  const cli = dockerCli(docker, engine);
  return {
    ...named("buildx", engine),
    command: (r) => ({
      argv: [
        ...cli.argv, "buildx", "build",
        "--platform", platformString(r.arch),
        "--load",
        "--progress", "plain",
        ...(r.network ? [] : ["--network", "none"]),
        ...(r.cache ? [] : ["--no-cache"]),
        ...flags("--build-arg", { ...platformArgs(r.arch), ...r.buildArgs }),
        ...flags("--label", r.labels),
        "--file", r.dockerfile,
        "--tag", r.ref,
        r.context,
      ],
    }),
    inspect: (refs) => inspectImages(shell, cli, refs),
    save: (ref, file, options) => saveImage(shell, cli, ref, file, options?.signal),
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
export function legacyBuilder(shell: Shell, docker = "docker", engine?: Engine): Builder {
  const cli = dockerCli(docker, engine);
  return {
    ...named("legacy", engine),
    command: (r) => {
      return {
        argv: [
          ...cli.argv, "build",
          "--platform", platformString(r.arch),
          ...(r.network ? [] : ["--network", "none"]),
          "--no-cache",
          ...flags("--build-arg", { ...platformArgs(r.arch), ...r.buildArgs }),
          ...flags("--label", r.labels),
          "--file", r.dockerfile,
          "--tag", r.ref,
          r.context,
        ],
        env: { DOCKER_BUILDKIT: "0" },
      };
    },
    inspect: (refs) => inspectImages(shell, cli, refs),
    save: (ref, file, options) => saveImage(shell, cli, ref, file, options?.signal),
  };
}

function named(kind: string, engine?: Engine): Pick<Builder, "name" | "engine"> {
  return engine ? { name: `${kind}@${engineName(engine)}`, engine: engineName(engine) } : { name: kind };
}

/** The docker CLI, pointed at `engine`. */
function dockerCli(docker: string, engine?: Engine) {
  const argv = [docker, ...(!engine ? [] : "host" in engine ? ["--host", engine.host] : ["--context", engine.context])];
  const where = !engine ? "" : "host" in engine ? ` on ${engine.host}` : ` on docker context ${engine.context}`;
  return { argv, where, engine };
}
type DockerCli = ReturnType<typeof dockerCli>;

async function saveImage(shell: Shell, docker: DockerCli, ref: string, file: string, signal?: AbortSignal): Promise<void> {
  const r = await shell.exec([...docker.argv, "save", "--output", file, ref], { signal });
  if (r.code !== 0) throw new PkgkitError(`docker save ${ref}${docker.where} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

async function inspectImages(shell: Shell, docker: DockerCli, refs: string[]): Promise<Map<string, LocalImage>> {
  const found = new Map<string, LocalImage>();
  if (refs.length === 0) return found;
  // One process for all refs: missing ones only add a line to stderr.
  const r = await shell.exec([...docker.argv, "image", "inspect", "--format", "{{json .}}", ...refs]);
  if (r.code !== 0 && docker.engine && "context" in docker.engine && /context not found|does not exist/i.test(r.stderr))
    throw new InputError(`docker context ${JSON.stringify(docker.engine.context)} does not exist: \`docker context ls\` lists them, \`docker context create ${docker.engine.context} --docker host=<endpoint>\` makes it; or give the endpoint itself (unix://, tcp://, ssh://)`);
  if (r.code !== 0 && !/No such image/i.test(r.stderr))
    throw new PkgkitError(`docker image inspect${docker.where} failed: ${r.stderr.trim() || `exit ${r.code}`}. Is the Docker engine${docker.where} running?`);
  const wanted = new Set(refs);
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const img = JSON.parse(line) as {
      Id: string; Os: string; Architecture: string; Variant?: string; RepoTags?: string[];
      Config?: { Labels?: Record<string, string> | null };
    };
    for (const tag of img.RepoTags ?? []) {
      if (!wanted.has(tag)) continue;
      found.set(tag, {
        ref: tag, id: img.Id, os: img.Os, architecture: img.Architecture,
        ...(img.Variant ? { variant: img.Variant } : {}),
        labels: img.Config?.Labels ?? {},
      });
    }
  }
  return found;
}

export const BUILDER_KINDS = { buildx: buildxBuilder, legacy: legacyBuilder } as const;
export type BuilderKind = keyof typeof BUILDER_KINDS;

/** buildx when the docker CLI has it (a client plugin, so the same for every engine), else legacy. */
export async function detectBuilderKind(shell: Shell, docker = "docker"): Promise<BuilderKind> {
  const r = await shell.exec([docker, "buildx", "version"]);
  return r.code === 0 ? "buildx" : "legacy";
}

/** `buildxBuilder` when the docker CLI has buildx (it asks `docker buildx version`), else `legacyBuilder`. */
export async function detectBuilder(shell: Shell, docker = "docker", engine?: Engine): Promise<Builder> {
  return BUILDER_KINDS[await detectBuilderKind(shell, docker)](shell, docker, engine);
}
