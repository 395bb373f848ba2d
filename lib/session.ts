/**
 * The session: the shell, the default builder, the per-arch builders and the registry client a
 * command works with, made once from its resolved settings (lib/options.ts), as ko composes its
 * builders and publishers at the edge. Recipes take the parts they are given and make only what is
 * missing (completeSession); run() takes the one Session object. Signers are resolved per package
 * (recipes/sign.ts) and join the session the recipe that plans returns.
 */
import { BUILDER_KINDS, detectBuilder, detectBuilderKind } from "./builder.ts";
import { checkPemFile } from "./pemfile.ts";
import { defaultShell, type Shell } from "./shell.ts";
import type { EngineTls, RegistrySettings, Settings } from "./options.ts";
import type { Arch } from "./spec.ts";
import type { Registry } from "./registry/types.ts";
import type { Session } from "./run.ts";

export type { Session } from "./run.ts";

/** Parts of a session, as recipes take them: what is absent is made when needed (see completeSession). */
export type SessionParts = Partial<Session>;

/** What a command's session holds besides the shell. */
export interface SessionNeeds {
  /**
   * "now": the default builder (`--builder`, else detected) and one of its kind per arch with an
   * engine of its own. "when-building": the same, except that with no `--builder` and no per-arch
   * engine the builder is left out, for the recipe to detect only if something must be built (a
   * push where everything exists starts no docker process).
   */
  builders?: "now" | "when-building";
  /** A registry client, from `settings.registry`. */
  registry?: boolean;
  /** Where the registry client's retry lines go. */
  log?: (line: string) => void;
}

/** The session a command's settings ask for: made once, before anything runs. */
export async function createSession(settings: Settings, needs: SessionNeeds = {}): Promise<SessionParts & { shell: Shell }> {
  const shell = await defaultShell();
  const parts: SessionParts & { shell: Shell } = { shell };
  const engines = Object.entries(settings.engines);
  if (needs.builders === "now" || (needs.builders === "when-building" && (settings.builderKind !== undefined || engines.length > 0))) {
    const make = BUILDER_KINDS[settings.builderKind ?? (await detectBuilderKind(shell))];
    parts.builder = make(shell);
    for (const [arch, engine] of engines) if ("host" in engine && engine.tls) checkTlsFiles(arch, engine.tls);
    parts.builders = Object.fromEntries(engines.map(([arch, engine]) => [arch, make(shell, "docker", engine, arch as Arch)]));
  }
  if (needs.registry) {
    if (!settings.registry) throw new TypeError("createSession: a registry client needs settings resolved with `registry: true`");
    parts.registry = await registryClient(settings.registry, needs.log);
  }
  return parts;
}

/** A builder's TLS files exist and hold what their field says, before any docker process is started. */
function checkTlsFiles(arch: string, tls: EngineTls): void {
  const name = (field: "ca" | "cert" | "key") => `builder ${arch}: ${tls.from ?? "tls"} ${field} ${JSON.stringify(tls[field])}`;
  checkPemFile(tls.ca, "certificate", name("ca"));
  checkPemFile(tls.cert, "certificate", name("cert"));
  checkPemFile(tls.key, "TLS key", name("key"));
}

/** The registry client the settings describe; the CA files are checked first. */
async function registryClient(settings: RegistrySettings, log?: (line: string) => void): Promise<Registry> {
  for (const file of settings.ca) checkPemFile(file, "certificate", `--registry-ca ${JSON.stringify(file)}`);
  // Loaded only by commands that reach a registry.
  const { createRegistry } = await import("./registry/index.ts");
  const { requestMs, totalMs, retries } = settings.bounds;
  return createRegistry({
    ca: settings.ca,
    insecure: settings.insecure,
    timeouts: { requestMs: requestMs.value, totalMs: totalMs.value },
    retry: { attempts: retries.value + 1 },
    ...(log ? { log } : {}),
  });
}

/** A whole session from the parts given: the default shell and a detected builder where none was given. */
export async function completeSession(parts: SessionParts): Promise<Session> {
  const shell = parts.shell ?? (await defaultShell());
  return {
    shell,
    builder: parts.builder ?? (await detectBuilder(shell)),
    builders: parts.builders ?? {},
    ...(parts.registry ? { registry: parts.registry } : {}),
    signers: parts.signers ?? new Map(),
  };
}
