/**
 * Doctor checks of engines: the default one (DOCKER_HOST, the docker context) and each arch's own
 * (`--builders`, PKGKIT_BUILDERS, LINUXKIT_BUILDERS, the workspace): does it answer, its version
 * and API version, its OS and arch, the platforms its BuildKit builds for; buildx and the builder kind.
 */
import process from "node:process";
import { engineGet, engineSocket } from "../engine-api.ts";
import { detectBuilderKind, engineArgs } from "../builder.ts";
import { engineProblem } from "../engine-errors.ts";
import { engineName, type BuilderKind, type Engine } from "../options.ts";
import type { Shell } from "../shell.ts";
import { execBounded, firstLine, lastLine, orAfter, missing, notFound, ok, warn, type CheckRow } from "./check.ts";

/** What one engine says about itself; `error` when it did not answer. */
export interface EngineFacts {
  /** How it is reached: the endpoint or context, or DOCKER_HOST / the current context for the default engine. */
  where: string;
  version?: string;
  apiVersion?: string;
  os?: string;
  arch?: string;
  /** Where it keeps images (`docker info`'s DockerRootDir): for the disk check, when on this machine. */
  rootDir?: string;
  /** The platforms its buildx builder lists (`docker buildx inspect`), when buildx answers. */
  platforms?: string[];
  error?: string;
  /** The docker CLI's whole error output when it could not reach the engine, for engineProblem(). */
  said?: string;
}

/** The default engine, as the docker CLI picks it. */
function defaultWhere(env = process.env): string {
  if (env.DOCKER_CONTEXT) return `docker context ${env.DOCKER_CONTEXT} (DOCKER_CONTEXT)`;
  if (env.DOCKER_HOST) return `${env.DOCKER_HOST} (DOCKER_HOST)`;
  return "the docker CLI's current context";
}

/** What `engine` (absent: the default engine) says about itself: over its socket when local, else through the docker CLI. */
export async function engineFacts(shell: Shell, engine: Engine | undefined, timeoutMs: number): Promise<EngineFacts> {
  const facts: EngineFacts = { where: engine ? engineName(engine) : defaultWhere() };
  const socket = engineSocket(engine);
  if (socket) facts.where = engine ? facts.where : `unix://${socket}${process.env.DOCKER_HOST ? " (DOCKER_HOST)" : ""}`;
  const within = <T>(p: Promise<T | undefined>) => orAfter(p, timeoutMs, undefined);
  const [version, info] = socket ? await Promise.all([within(engineGet(socket, "/version")), within(engineGet(socket, "/info"))]) : [undefined, undefined];
  if (version?.status === 200) {
    const v = version.body as { Version?: string; ApiVersion?: string; Os?: string; Arch?: string };
    Object.assign(facts, { version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch });
    if (info?.status === 200) facts.rootDir = (info.body as { DockerRootDir?: string }).DockerRootDir;
  } else {
    const r = await execBounded(shell, ["docker", ...engineArgs(engine), "version", "--format", "{{json .Server}}"], timeoutMs);
    const server = r.code === 0 ? parseServer(r.stdout) : undefined;
    if (!server) {
      facts.error = notFound(r) ? "the docker CLI is not on PATH" : r.timedOut ? `no answer within ${timeoutMs / 1000}s` : lastLine(r.stderr) || `docker version exited with ${r.code}`;
      facts.said = r.stderr;
      return facts;
    }
    Object.assign(facts, { version: server.Version, apiVersion: server.ApiVersion, os: server.Os, arch: server.Arch });
  }
  const inspect = await execBounded(shell, ["docker", ...engineArgs(engine), "buildx", "inspect"], timeoutMs);
  const line = inspect.code === 0 ? /^Platforms:\s*(.*)$/m.exec(inspect.stdout)?.[1] : undefined;
  if (line) facts.platforms = line.split(",").map((p) => p.trim().replace(/\*$/, "")).filter(Boolean);
  return facts;
}

/** `docker version --format '{{json .Server}}'`'s answer; undefined when it is not one (no server, or not JSON). */
function parseServer(text: string): { Version?: string; ApiVersion?: string; Os?: string; Arch?: string } | undefined {
  try {
    return (JSON.parse(text) as { Version?: string } | null) ?? undefined;
  } catch {
    return undefined;
  }
}

const describe = (f: EngineFacts) =>
  `Docker Engine ${f.version ?? "?"} (API ${f.apiVersion ?? "?"}), ${f.os ?? "?"}/${f.arch ?? "?"}, at ${f.where}`;

/** The default engine's row. */
export function engineRow(f: EngineFacts): CheckRow {
  if (f.error)
    return missing("engine", `no engine answers at ${f.where}: ${f.error}`, f.error.includes("not on PATH")
      ? "install the docker CLI (Debian: apt-get install docker.io)"
      : "start the engine (dockerd, or `systemctl start docker`), or point DOCKER_HOST or the docker context (`docker context use <name>`) at one that runs");
  return ok("engine", describe(f));
}

/** An arch's own engine: it answers, and builds that arch (natively, or as a platform its builder lists). */
export function archEngineRow(arch: string, engine: Engine, f: EngineFacts): CheckRow {
  const check = `builder ${arch}`;
  if (f.error) {
    const problem = f.said && engineProblem(f.said, engine, arch);
    return missing(check, `${f.where} does not answer: ${f.error}`,
      problem ? problem.replace(/\. The docker CLI said: .*$/s, "") : `start that engine or fix the endpoint (--builders ${arch}=<endpoint|context>, PKGKIT_BUILDERS, the workspace's builders); \`docker ${engineArgs(engine).join(" ")} version\` shows what the CLI sees`);
  }
  const platform = `linux/${arch}`;
  const platforms = f.platforms ? `; builds ${f.platforms.join(", ")}` : "";
  if (f.arch === arch || f.platforms?.includes(platform)) return ok(check, `${describe(f)}${platforms}`);
  return warn(check, `${describe(f)}${platforms}: not ${platform}`, `builds of ${arch} there run under emulation, if at all: point ${arch} at a native ${arch} engine`);
}

/** `docker buildx version`: needed when `--builder buildx` asks for it, else builds fall back to the legacy builder. */
export async function buildxRow(shell: Shell, asked: BuilderKind | undefined, timeoutMs: number): Promise<CheckRow> {
  const r = await execBounded(shell, ["docker", "buildx", "version"], timeoutMs);
  if (r.code === 0) return ok("buildx", firstLine(r.stdout));
  const found = notFound(r) ? "the docker CLI is not on PATH" : `docker buildx version: ${firstLine(r.stderr) || `exit ${r.code}`}`;
  const fix = "install the buildx plugin (Debian: apt-get install docker-buildx; else docker-buildx from github.com/docker/buildx releases into ~/.docker/cli-plugins/)";
  return asked === "buildx" ? missing("buildx", `${found} (--builder buildx)`, fix) : warn("buildx", `${found}: builds use the legacy builder (no build cache, one arch at a time)`, fix);
}

/** Which builder builds: `--builder`, else what the docker CLI has (remembered between runs: lib/builder-kind.ts). */
export async function builderKindRow(shell: Shell, asked: BuilderKind | undefined): Promise<CheckRow> {
  if (asked) return ok("builder kind", `${asked} (--builder)`);
  const kind = await detectBuilderKind(shell);
  return ok("builder kind", `${kind} (detected: ${kind === "buildx" ? "the docker CLI has buildx" : "no buildx; DOCKER_BUILDKIT=0 docker build"})`);
}
