/**
 * Notary v1 (Docker Content Trust) through Debian's `notary` CLI, on the trust directory Docker
 * uses, so `docker trust inspect` and `DOCKER_CONTENT_TRUST=1 docker pull` see the same data.
 *
 *   GUN      the repository's full name (`127.0.0.1:5000/demo/hello`, `docker.io/library/x`)
 *   prepare  the repository passphrase (env, code option, or a passphrase command); a GUN the server
 *            has no trust data for is initialised (`notary init -p`), which needs the root key's
 *            passphrase: DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE (a new root key is made if the trust
 *            directory has none)
 *   sign     `notary addhash <gun> <tag> <size> --sha256 <hex>` per tag, `publish`
 *   verify   `notary list <gun>`: each tag must be a target with the same sha256 and size
 * Passphrases reach notary through its environment (NOTARY_*_PASSPHRASE), never argv.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { PkgkitError } from "../errors.ts";
import { defaultShell, type Shell } from "../shell.ts";
import { DOCKER_HUB, parseRepository } from "../registry/names.ts";
import type { NotaryOptions } from "./config.ts";
import { linuxkitPassphraseCommand, passphrase, redact, rememberSecret } from "./secrets.ts";
import { targetRef, type Signature, type Signer, type SignTarget, type Verification } from "./types.ts";

export const NOTARY_DOCKER_HUB = "https://notary.docker.io";
const PUBLISH_ATTEMPTS = 5;

/** Docker's rule: $DOCKER_CONTENT_TRUST_SERVER, else notary.docker.io for Docker Hub, else https://<registry>. */
export function notaryServer(repository: string, options: NotaryOptions, env = process.env): string {
  if (options.server) return options.server.replace(/\/$/, "");
  if (env.DOCKER_CONTENT_TRUST_SERVER) return env.DOCKER_CONTENT_TRUST_SERVER.replace(/\/$/, "");
  const { registry } = parseRepository(repository);
  return registry === DOCKER_HUB ? NOTARY_DOCKER_HUB : `https://${registry}`;
}

export function gun(repository: string): string {
  const r = parseRepository(repository);
  return `${r.registry}/${r.path}`;
}

const dockerConfigDir = (env = process.env) => env.DOCKER_CONFIG || join(homedir(), ".docker");

export interface NotarySignerDeps {
  shell?: Shell;
  /** LinuxKit's config is read from here (default: the home directory). */
  home?: string;
  /** pkgkit.yml's passphrase command, with the file it came from. */
  configFile?: string;
}

export function notarySigner(options: NotaryOptions = {}, deps: NotarySignerDeps = {}): Signer {
  const trustDir = options.trustDir ?? join(dockerConfigDir(), "trust");
  const shellP = deps.shell ? Promise.resolve(deps.shell) : defaultShell();
  const repositoryPassphrase = passphrase({
    env: "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE",
    fn: options.passphrase,
    commands: [
      options.passphraseCommand ? { command: options.passphraseCommand, origin: deps.configFile ?? "the notary signer's passphraseCommand" } : undefined,
      () => linuxkitPassphraseCommand(deps.home),
    ],
    what: "the content-trust repository passphrase",
    shell: deps.shell,
  });
  const lists = new Map<string, Promise<Map<string, { sha256: string; size: number }> | undefined>>();
  const ready = new Map<string, Promise<void>>();
  // Sign steps run in parallel: a GUN's changelist (addhash, publish) has one writer at a time.
  const queues = new Map<string, Promise<unknown>>();
  const exclusive = <T>(g: string, f: () => Promise<T>): Promise<T> => {
    const next = (queues.get(g) ?? Promise.resolve()).catch(() => {}).then(f);
    queues.set(g, next);
    return next;
  };

  const globalFlags = (repository: string) => {
    const server = notaryServer(repository, options);
    const host = new URL(server).host;
    const ca = options.ca ?? [join(dockerConfigDir(), "tls", host, "ca.crt")].find((f) => existsSync(f));
    return ["-s", server, "-d", trustDir, ...(ca ? ["--tlscacert", ca] : [])];
  };

  async function notary(repository: string, args: string[], env: Record<string, string> = {}) {
    const shell = await shellP;
    const r = await shell.exec(["notary", ...globalFlags(repository), ...args], { env });
    if (r.code !== 0 && (r.code === 127 || /ENOENT|spawn notary/.test(r.stderr)))
      throw new PkgkitError("the notary CLI is not on PATH; install it (Debian: apt-get install notary)");
    return { ...r, said: redact(`${r.stderr}\n${r.stdout}`.trim().split("\n").filter(Boolean).slice(-5).join("\n")) };
  }

  /** The GUN's targets (tag → sha256, size), or undefined when the server has no trust data for it. */
  function list(repository: string) {
    const g = gun(repository);
    let p = lists.get(g);
    if (!p) {
      p = (async () => {
        const r = await notary(repository, ["list", g]);
        if (r.code !== 0) {
          if (/does not have trust data/.test(r.said)) return undefined;
          throw new PkgkitError(`notary list ${g} (${notaryServer(repository, options)}) failed: ${r.said}`);
        }
        const targets = new Map<string, { sha256: string; size: number }>();
        for (const line of r.stdout.split("\n")) {
          const m = /^(\S+)\s+([0-9a-f]{64})\s+(\d+)\s+\S+/.exec(line);
          if (m) targets.set(m[1]!, { sha256: m[2]!, size: Number(m[3]) });
        }
        return targets;
      })();
      lists.set(g, p);
    }
    return p;
  }

  async function passphraseEnv(): Promise<Record<string, string>> {
    const p = await repositoryPassphrase();
    return { NOTARY_TARGETS_PASSPHRASE: p, NOTARY_SNAPSHOT_PASSPHRASE: p };
  }

  async function prepareOnce(repository: string) {
    const g = gun(repository);
    const env = await passphraseEnv();
    if (await list(repository)) return;
    const root = process.env.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE;
    if (!root)
      throw new PkgkitError(`${g} has no trust data on ${notaryServer(repository, options)} yet; initialising it needs the root key's passphrase: set DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE (a root key is created in ${trustDir} if there is none). Nothing was pushed.`);
    rememberSecret(root);
    const r = await notary(repository, ["init", "-p", g], { ...env, NOTARY_ROOT_PASSPHRASE: root });
    if (r.code !== 0) throw new PkgkitError(`notary init ${g} (${notaryServer(repository, options)}) failed: ${r.said}`);
    lists.set(g, Promise.resolve(new Map()));
  }

  return {
    name: "notary",
    get description() {
      return `notary ${options.server ?? process.env.DOCKER_CONTENT_TRUST_SERVER ?? "(Docker's default server)"}`;
    },
    prepare(repository) {
      const g = gun(repository);
      let p = ready.get(g);
      if (!p) ready.set(g, (p = prepareOnce(repository)));
      return p;
    },
    async sign(target: SignTarget): Promise<Signature> {
      await this.prepare(target.repository);
      const g = gun(target.repository);
      const env = await passphraseEnv();
      const hex = target.digest.replace(/^sha256:/, "");
      await exclusive(g, async () => {
        for (const tag of target.tags) {
          const r = await notary(target.repository, ["addhash", g, tag, String(target.size), "--sha256", hex], env);
          if (r.code !== 0) throw new PkgkitError(`notary addhash ${g} ${tag} failed: ${r.said}`);
        }
        // Another machine publishing to the same GUN at once makes the server refuse the one that
        // read the older version ("rejected operation"); the change stays in the changelist, and
        // publishing again applies it on top of theirs.
        for (let attempt = 1; ; attempt++) {
          const r = await notary(target.repository, ["publish", g], env);
          if (r.code === 0) break;
          if (attempt < PUBLISH_ATTEMPTS && /rejected operation|old version/i.test(r.said)) {
            await new Promise((ok) => setTimeout(ok, 250 * 2 ** attempt * (1 + Math.random())));
            continue;
          }
          throw new PkgkitError(`notary publish ${g} (${notaryServer(target.repository, options)}) failed${attempt > 1 ? ` after ${attempt} attempts` : ""}: ${r.said}`);
        }
        lists.delete(g);
      });
      return { signer: "notary", ref: targetRef(target), stored: target.tags.map((t) => `notary target ${g}:${t} on ${notaryServer(target.repository, options)}`) };
    },
    async verify(target: SignTarget): Promise<Verification> {
      const g = gun(target.repository);
      const base = { signer: "notary" as const, ref: targetRef(target) };
      const targets = await list(target.repository);
      if (!targets) return { ...base, ok: false, detail: `${notaryServer(target.repository, options)} has no trust data for ${g}` };
      const hex = target.digest.replace(/^sha256:/, "");
      for (const tag of target.tags) {
        const t = targets.get(tag);
        if (!t) return { ...base, ok: false, detail: `no signed target ${JSON.stringify(tag)} in ${g}` };
        if (t.sha256 !== hex || t.size !== target.size)
          return { ...base, ok: false, detail: `signed target ${g}:${tag} is sha256:${t.sha256} (${t.size} bytes), the registry has ${target.digest} (${target.size} bytes)` };
      }
      return { ...base, ok: true, detail: `signed target${target.tags.length > 1 ? "s" : ""} ${target.tags.map((t) => `${g}:${t}`).join(", ")} match sha256 and size` };
    },
  };
}
