/**
 * The driver of a named buildx builder (`buildx:<name>`), which decides how its images reach the
 * push (see namedBuildxBuilder in lib/builder.ts): `docker buildx inspect <name>` says, at about
 * 0.2 s a question, so the answer is remembered between runs like the builder kind
 * (lib/builder-kind.ts): keyed by the docker CLI and its buildx plugin, and by the files that
 * define the builder: buildx's instance file (`buildx create`) and the docker context of that name
 * (a docker-driver builder is a context). Changing either asks again; a name neither file defines
 * (buildx's "default", or a builder that does not exist) is asked every time.
 */
import { nodeCrypto } from "./node-crypto.ts";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Shell } from "./shell.ts";
import { InputError, PkgkitError } from "./errors.ts";
import { cacheFile, cacheKey, saveCache, stamp, type KindCacheOptions } from "./builder-kind.ts";

/** The files that define builder `name` for the docker CLI's configuration in `env`. */
function definingFiles(name: string, env: Record<string, string | undefined>): string[] {
  const config = env.DOCKER_CONFIG || join(homedir(), ".docker");
  const buildx = env.BUILDX_CONFIG || join(config, "buildx");
  const context = nodeCrypto().createHash("sha256").update(name).digest("hex");
  return [join(buildx, "instances", name), join(config, "contexts", "meta", context, "meta.json")];
}

/** The driver line of `docker buildx inspect` (`Driver: docker-container`). */
export function parseInspectDriver(text: string): string | undefined {
  return /^Driver:\s*(\S+)\s*$/m.exec(text)?.[1];
}

/**
 * The driver of buildx builder `name` (`docker`, `docker-container`, `remote`, `kubernetes`, ...).
 * `where` names the flag or field that gave the name: an unknown builder is an InputError naming
 * it, the value and `docker buildx ls`.
 */
export async function buildxDriver(shell: Shell, name: string, where: string, docker = "docker", options: KindCacheOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const file = options.file ?? cacheFile("buildx-drivers.json", env);
  const cli = cacheKey(docker, env);
  const files = definingFiles(name, env).map((f) => [f, stamp(f)] as const);
  const key = cli && files.some(([, s]) => s !== "absent") ? [cli.key, ...files.map(([f, s]) => `${f}=${s}`)].join("\n") : undefined;
  let saved: Record<string, { key: string; driver: string }> = {};
  try {
    saved = JSON.parse(readFileSync(file, "utf8")) as typeof saved;
  } catch {
    // Nothing remembered yet, or an unreadable file: ask.
  }
  const known = saved[name];
  if (key && known?.key === key && typeof known.driver === "string") return known.driver;
  const r = await shell.exec([docker, "buildx", "inspect", name]);
  if (r.code !== 0) {
    const said = r.stderr.trim() || `exit ${r.code}`;
    if (/no builder .* found|not found/i.test(said))
      throw new InputError(`${where}: no buildx builder ${JSON.stringify(name)} (${said.replace(/^ERROR:\s*/, "")}); \`docker buildx ls\` lists the builders, \`docker buildx create --name ${name} ...\` makes one`);
    throw new PkgkitError(`${where}: \`docker buildx inspect ${name}\` failed: ${said}; \`docker buildx ls\` lists the builders`);
  }
  const driver = parseInspectDriver(r.stdout);
  if (!driver) throw new PkgkitError(`${where}: \`docker buildx inspect ${name}\` named no driver; expected a "Driver:" line in:\n${r.stdout.trim()}`);
  if (key) saveCache(file, { ...saved, [name]: { key, driver } });
  return driver;
}
