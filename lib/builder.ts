/**
 * Builder: builds one package for one platform into the local engine. Implementations say
 * what they would run (`command`, pure, so plans can show it) and look up what exists.
 */
import { platformString, PLATFORMS, type Arch } from "./spec.ts";
import type { Shell } from "./shell.ts";
import { PkgkitError } from "./errors.ts";

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

/** An image in the local engine. */
export interface LocalImage {
  ref: string;
  id: string;
  os: string;
  architecture: string;
  variant?: string;
  labels: Record<string, string>;
}

export interface Builder {
  readonly name: string;
  command(req: BuildRequest): BuildCommand;
  /** Look up images in the local engine, one query for all refs. Missing refs are absent. */
  inspect(refs: string[]): Promise<Map<string, LocalImage>>;
  /** Write an image from the local engine to a `docker save` archive. */
  save(ref: string, file: string): Promise<void>;
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

/** `docker buildx build --load` (the docker driver, i.e. the engine's BuildKit). */
export function buildxBuilder(shell: Shell, docker = "docker"): Builder {
  return {
    name: "buildx",
    command: (r) => ({
      argv: [
        docker, "buildx", "build",
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
    inspect: (refs) => inspectImages(shell, docker, refs),
    save: (ref, file) => saveImage(shell, docker, ref, file),
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
export function legacyBuilder(shell: Shell, docker = "docker"): Builder {
  return {
    name: "legacy",
    command: (r) => {
      return {
        argv: [
          docker, "build",
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
    inspect: (refs) => inspectImages(shell, docker, refs),
    save: (ref, file) => saveImage(shell, docker, ref, file),
  };
}

async function saveImage(shell: Shell, docker: string, ref: string, file: string): Promise<void> {
  const r = await shell.exec([docker, "save", "--output", file, ref]);
  if (r.code !== 0) throw new PkgkitError(`docker save ${ref} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

async function inspectImages(shell: Shell, docker: string, refs: string[]): Promise<Map<string, LocalImage>> {
  const found = new Map<string, LocalImage>();
  if (refs.length === 0) return found;
  // One process for all refs: missing ones only add a line to stderr.
  const r = await shell.exec([docker, "image", "inspect", "--format", "{{json .}}", ...refs]);
  if (r.code !== 0 && !/No such image/i.test(r.stderr))
    throw new PkgkitError(`docker image inspect failed: ${r.stderr.trim() || `exit ${r.code}`}. Is the Docker engine running?`);
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

/** buildx when the docker CLI has it, else the legacy builder. */
export async function detectBuilder(shell: Shell, docker = "docker"): Promise<Builder> {
  const r = await shell.exec([docker, "buildx", "version"]);
  return r.code === 0 ? buildxBuilder(shell, docker) : legacyBuilder(shell, docker);
}
