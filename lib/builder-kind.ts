/**
 * The builder kind the docker CLI supports (buildx or legacy), remembered between runs: asking
 * `docker buildx version` costs about 0.2 s per command. The answer is kept in a small file under
 * the user's cache directory, keyed by the docker binary and every place the CLI looks for its
 * buildx plugin (path, mtime, size, or absence) and the CLI's config.json, so installing,
 * upgrading or removing either asks again.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import process from "node:process";
import type { Shell } from "./shell.ts";
import type { BuilderKind } from "./options.ts";

/** Where the answer is remembered, and the environment the docker CLI is found in. */
export interface KindCacheOptions {
  /** The cache file; default `pkgkit/builder-kind.json` under $XDG_CACHE_HOME, else ~/.cache. */
  file?: string;
  env?: Record<string, string | undefined>;
}

/** The default cache file (see KindCacheOptions.file). */
function kindCacheFile(env: Record<string, string | undefined> = process.env): string {
  return cacheFile("builder-kind.json", env);
}

/** `name` in pkgkit's cache directory: under $XDG_CACHE_HOME, else ~/.cache. */
export function cacheFile(name: string, env: Record<string, string | undefined> = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "pkgkit", name);
}

/** Write `value` as JSON to `file` atomically; a read-only cache directory only costs asking again. */
export function saveCache(file: string, value: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  } catch {
    // A read-only cache directory only costs the question next time.
  }
}

/** The docker CLI's plugin directories, the user's first (docker/cli's cli-plugins/manager). */
function pluginDirs(env: Record<string, string | undefined>): { dirs: string[]; config: string } {
  const configDir = env.DOCKER_CONFIG || join(homedir(), ".docker");
  const system = ["/usr/local/lib", "/usr/local/libexec", "/usr/lib", "/usr/libexec"].map((d) => join(d, "docker", "cli-plugins"));
  return { dirs: [join(configDir, "cli-plugins"), ...system], config: join(configDir, "config.json") };
}

function which(program: string, env: Record<string, string | undefined>): string | undefined {
  if (isAbsolute(program) || program.includes("/")) return program;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, program);
    if (stamp(candidate) !== "absent") return candidate;
  }
  return undefined;
}

/** A file's mtime and size, or "absent": what a cache key records of it. */
export function stamp(file: string): string {
  try {
    const s = statSync(file);
    return s.isFile() ? `${s.mtimeMs}:${s.size}` : "absent";
  } catch {
    return "absent";
  }
}

/**
 * The cache key of the CLI `docker`: undefined when it cannot be keyed safely (docker not on
 * PATH, or a config.json naming extra plugin directories), and then nothing is remembered.
 */
export function cacheKey(docker: string, env: Record<string, string | undefined>): { key: string; plugins: number } | undefined {
  const binary = which(docker, env);
  if (!binary) return undefined;
  const { dirs, config } = pluginDirs(env);
  try {
    if (/cliPluginsExtraDirs/.test(readFileSync(config, "utf8"))) return undefined;
  } catch {
    // No config.json: no extra plugin directories.
  }
  const plugins = dirs.map((d) => join(d, "docker-buildx")).map((f) => `${f}=${stamp(f)}`);
  const key = [`${binary}=${stamp(binary)}`, ...plugins, `${config}=${stamp(config)}`].join("\n");
  return { key, plugins: plugins.filter((p) => !p.endsWith("=absent")).length };
}

/**
 * buildx when the docker CLI `docker` has it (`docker buildx version` succeeds), else legacy;
 * remembered in the cache file while the binary, its plugins and its config.json are unchanged.
 */
export async function detectKind(shell: Shell, docker = "docker", options: KindCacheOptions = {}): Promise<BuilderKind> {
  const env = options.env ?? process.env;
  const file = options.file ?? kindCacheFile(env);
  const keyed = cacheKey(docker, env);
  if (keyed) {
    try {
      const saved = JSON.parse(readFileSync(file, "utf8")) as { key?: unknown; kind?: unknown };
      if (saved.key === keyed.key && (saved.kind === "buildx" || saved.kind === "legacy")) return saved.kind;
    } catch {
      // No answer remembered yet, or an unreadable one: ask.
    }
  }
  const kind: BuilderKind = (await shell.exec([docker, "buildx", "version"])).code === 0 ? "buildx" : "legacy";
  // Only an answer the plugin files explain is kept (buildx found somewhere else is asked each time).
  if (keyed && (kind === "buildx") === keyed.plugins > 0) saveCache(file, { key: keyed.key, kind });
  return kind;
}
