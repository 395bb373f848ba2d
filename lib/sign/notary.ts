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
 * With `role: "targets/<name>"` (a delegation, LinuxKit's `targets/releases`), targets are signed
 * with the delegation's key instead of the repository's targets key:
 *   prepare  no `notary init`: the GUN must have trust data with that delegation
 *            (`notary delegation list`), and the trust directory one of its keys (`notary key list`)
 *   sign     `addhash ... --roles <role>`, the passphrase also as NOTARY_DELEGATION_PASSPHRASE
 *   verify   `notary list <gun> --roles <role>`: the tags must be targets of that role
 * Passphrases reach notary through its environment (NOTARY_*_PASSPHRASE), never argv.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { explainedByDoctor, InputError, PkgkitError, redactUrlPasswords } from "../errors.ts";
import { defaultShell, type Shell } from "../shell.ts";
import { createScratch } from "../scratch.ts";
import { DOCKER_HUB, parseRepository } from "../registry/names.ts";
import { NOTARY_ROLE, NOTARY_ROLE_EXPECTED, type NotaryOptions } from "./config.ts";
import { opensKey } from "./pkcs8.ts";
import { retry } from "../retry.ts";
import { linuxkitPassphraseCommand, passphrase, redact, rememberSecret } from "./secrets.ts";
import { targetRef, type Signature, type Signer, type SignOptions, type SignTarget, type Verification } from "./types.ts";

export const NOTARY_DOCKER_HUB = "https://notary.docker.io";
const PUBLISH_ATTEMPTS = 5;

class PublishRefused extends PkgkitError {
  constructor(message: string, readonly said: string) {
    super(message);
  }
}

/** Docker's rule: $DOCKER_CONTENT_TRUST_SERVER, else notary.docker.io for Docker Hub, else https://<registry>. */
export function notaryServer(repository: string, options: NotaryOptions, env = process.env): string {
  // The URL is printed in plans and messages: a password in it would be too.
  const plain = (url: string, source: string) => {
    if (redactUrlPasswords(url) !== url) throw new InputError(`${source} ${JSON.stringify(redactUrlPasswords(url))}: a notary server URL must not hold a password; notary authenticates with the registry's credentials (docker login)`);
    return url.replace(/\/$/, "");
  };
  if (options.server) return plain(options.server, 'notary "server"');
  if (env.DOCKER_CONTENT_TRUST_SERVER) return plain(env.DOCKER_CONTENT_TRUST_SERVER, "DOCKER_CONTENT_TRUST_SERVER");
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

/** `notary delegation list` → role → the IDs of its keys (as `notary key list` shows them). */
export function parseDelegationList(text: string): Map<string, string[]> {
  const roles = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    const role = /^(targets\/\S+)/.exec(line)?.[1];
    // A role's first row names it; the rows below it with no role list its further keys.
    if (role) roles.set(role, (current = []));
    else if (!/^\s/.test(line)) current = undefined;
    if (current) for (const m of line.matchAll(/(?:^|\s)([0-9a-f]{64})(?=\s|$)/g)) current.push(m[1]!);
  }
  return roles;
}

/** `notary key list` → the IDs of the private keys in the trust directory. */
export function parseKeyList(text: string): Set<string> {
  return new Set([...text.matchAll(/(?:^|\s)([0-9a-f]{64})(?=\s|$)/gm)].map((m) => m[1]!));
}

/** A private key in a Notary trust directory: its file, key ID (the file name), and notary's PEM headers. */
export interface TrustDirKey {
  file: string;
  id: string;
  pem: string;
  role?: string;
  gun?: string;
}

/** The private keys under `<trustDir>/private` (none when it cannot be read). */
export function trustDirKeys(trustDir: string): TrustDirKey[] {
  const dir = join(trustDir, "private");
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".key"))
    .map((n) => {
      const file = join(dir, n);
      const pem = readFileSync(file, "utf8");
      const header = (h: string) => new RegExp(`^${h}: *(\\S+)`, "m").exec(pem)?.[1];
      return { file, id: basename(n, ".key"), pem, role: header("role"), gun: header("gun") };
    });
}

export function notarySigner(options: NotaryOptions = {}, deps: NotarySignerDeps = {}): Signer {
  // Options from code skip the config schema: the role is checked here too.
  if (options.role !== undefined && !NOTARY_ROLE.test(options.role))
    throw new InputError(`the notary signer's "role": ${NOTARY_ROLE_EXPECTED} (got ${JSON.stringify(options.role)})`);
  /** The delegation signed in, if not the repository's own targets role. */
  const delegation = options.role && options.role !== "targets" ? options.role : undefined;
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
  /** GUNs the server has no trust data for, though the trust directory has a copy from before. */
  const stale = new Set<string>();
  const staleMessage = (g: string, server: string) =>
    `${server} has no trust data for ${g}, but ${join(trustDir, "tuf", g)} holds a copy from an earlier run: the server lost it (a notary server with memory storage was restarted?), or this is not the server that signed it. To start the repository over on this server (new keys; clients that pinned the old root will refuse it), move that directory aside and run again.`;
  const ready = new Map<string, Promise<void>>();
  // Sign steps run in parallel: a GUN's changelist (addhash, publish) has one writer at a time.
  const queues = new Map<string, Promise<unknown>>();
  const exclusive = <T>(g: string, f: () => Promise<T>): Promise<T> => {
    const next = (queues.get(g) ?? Promise.resolve()).catch(() => {}).then(f);
    queues.set(g, next);
    return next;
  };

  const globalFlags = (repository: string, dir = trustDir) => {
    const server = notaryServer(repository, options);
    const host = new URL(server).host;
    const ca = options.ca ?? [join(dockerConfigDir(), "tls", host, "ca.crt")].find((f) => existsSync(f));
    return ["-s", server, "-d", dir, ...(ca ? ["--tlscacert", ca] : [])];
  };

  async function notary(repository: string, args: string[], env: Record<string, string> = {}, dir?: string) {
    const shell = await shellP;
    const r = await shell.exec(["notary", ...globalFlags(repository, dir), ...args], { env });
    if (r.code !== 0 && (r.code === 127 || /ENOENT|spawn notary/.test(r.stderr)))
      throw explainedByDoctor(new PkgkitError("the notary CLI is not on PATH; install it (Debian: apt-get install notary)"));
    return { ...r, said: redact(`${r.stderr}\n${r.stdout}`.trim().split("\n").filter(Boolean).slice(-5).join("\n")) };
  }

  /** The GUN's targets (tag → sha256, size), or undefined when the server has no trust data for it. */
  function list(repository: string) {
    const g = gun(repository);
    let p = lists.get(g);
    if (!p) {
      p = (async () => {
        // Roles in docker's order: with no delegation configured, targets/releases before targets
        // (notary lists a tag once, from the first role that has it).
        const args = ["list", g, ...(delegation ? ["--roles", delegation] : ["--roles", "targets/releases", "--roles", "targets"])];
        const r = await notary(repository, args);
        if (r.code !== 0) {
          if (/does not have trust data/.test(r.said)) return undefined;
          throw new PkgkitError(`notary list ${g} (${notaryServer(repository, options)}) failed: ${r.said}`);
        }
        // When the server does not answer with current data (it has none, or cannot be reached),
        // notary lists the trust directory's cached copy and only warns. Never trust that: ask
        // again with no cache to learn what the server has.
        if (/using cached/i.test(r.stderr)) {
          const scratch = await createScratch();
          try {
            const fresh = await notary(repository, args, {}, scratch.dir);
            if (fresh.code !== 0 && /does not have trust data/.test(fresh.said)) {
              stale.add(g);
              return undefined;
            }
            throw new PkgkitError(
              `notary list ${g}: ${notaryServer(repository, options)} did not give current trust data (notary fell back to the copy in ${trustDir}): ${fresh.code !== 0 ? fresh.said : "the server has trust data, but notary could not bring that copy up to date from it (a new root key, or a passing error: run again)"}`,
            );
          } finally {
            await scratch.remove();
          }
        }
        const targets = new Map<string, { sha256: string; size: number }>();
        const rows = r.stdout.split("\n").flatMap((line) => {
          const m = /^(\S+)\s+([0-9a-f]{64})\s+(\d+)\s+(\S+)/.exec(line);
          return m ? [{ tag: m[1]!, sha256: m[2]!, size: Number(m[3]), role: m[4]! }] : [];
        });
        // What docker resolves a tag to: with a delegation, that role only (`--roles` lists its
        // own delegations too); else targets/releases when it has the tag, then targets.
        const order = delegation ? [delegation] : ["targets", "targets/releases"];
        for (const role of order)
          for (const row of rows) if (row.role === role) targets.set(row.tag, { sha256: row.sha256, size: row.size });
        return targets;
      })();
      lists.set(g, p);
    }
    return p;
  }

  async function passphraseEnv(): Promise<Record<string, string>> {
    const p = await repositoryPassphrase();
    // One passphrase for all of them, as LinuxKit has it; the delegation key's is NOTARY_DELEGATION_PASSPHRASE.
    return { NOTARY_TARGETS_PASSPHRASE: p, NOTARY_SNAPSHOT_PASSPHRASE: p, ...(delegation ? { NOTARY_DELEGATION_PASSPHRASE: p } : {}) };
  }

  const delegationSetUp = (g: string, role: string, initialised: boolean) =>
    (initialised
      ? "A maintainer (with the repository's targets key) adds it: "
      : `A maintainer initialises it (\`notary init -p ${g}\`, and LinuxKit's \`notary key rotate ${g} snapshot -r\`), then adds the delegation: `) +
    `\`notary delegation add -p ${g} ${role} <cert.pem> --all-paths\`` +
    (role === "targets/releases" ? ", or `docker trust signer add --key <cert.pem> <name> " + g + "` (which adds targets/<name> and targets/releases)" : "") +
    `; the signer imports the matching private key into ${trustDir}: \`notary key import <key.pem> --role <name>\` or \`docker trust key load <key.pem> --name <name>\`.`;

  /** The GUN has the delegation, and the trust directory a private key of it. */
  async function checkDelegation(repository: string, role: string) {
    const g = gun(repository);
    const server = notaryServer(repository, options);
    if (!(await list(repository)))
      throw new PkgkitError(stale.has(g) ? `${staleMessage(g, server)} Nothing was pushed.` : `${g} has no trust data on ${server}: signing in ${role} needs a repository initialised by its maintainers, with a ${role} delegation. ${delegationSetUp(g, role, false)} Nothing was pushed.`);
    const d = await notary(repository, ["delegation", "list", g]);
    if (d.code !== 0) throw new PkgkitError(`notary delegation list ${g} (${server}) failed: ${d.said}`);
    const roles = parseDelegationList(d.stdout);
    const keys = roles.get(role);
    if (!keys?.length)
      throw new PkgkitError(`${g} on ${server} has no ${role} delegation (it has ${roles.size ? [...roles.keys()].join(", ") : "none"}), so pkgkit cannot sign in it. ${delegationSetUp(g, role, true)} Nothing was pushed.`);
    const k = await notary(repository, ["key", "list"]);
    if (k.code !== 0) throw new PkgkitError(`notary key list (${trustDir}) failed: ${k.said}`);
    const local = parseKeyList(k.stdout);
    if (!keys.some((id) => local.has(id)))
      throw new PkgkitError(`${trustDir} has no private key of ${g}'s ${role} delegation (its key${keys.length > 1 ? "s" : ""}: ${keys.join(", ")}): import it with \`notary key import <key.pem> --role <name>\` or \`docker trust key load <key.pem> --name <name>\`, or add this trust directory's key to the delegation (\`notary delegation add -p ${g} ${role} <cert.pem>\`). Nothing was pushed.`);
    await checkPassphrase(g, (k) => keys.includes(k.id) && local.has(k.id), `${role} delegation key`);
  }

  const localKeys = () => trustDirKeys(trustDir);

  /**
   * The passphrase opens the keys the signature needs (checked in memory, see pkcs8.ts), so a
   * wrong one stops the run in prepare, before anything is pushed, and not at the first publish.
   */
  async function checkPassphrase(g: string, which: (k: ReturnType<typeof localKeys>[number]) => boolean, what: string) {
    const pass = await repositoryPassphrase();
    for (const k of localKeys().filter(which)) {
      if ((await opensKey(k.pem, pass)) === false)
        throw explainedByDoctor(new InputError(`the content-trust repository passphrase does not open ${g}'s ${k.role === "snapshot" ? "snapshot key" : what} (${k.file}): check DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE or the passphrase command. Nothing was pushed.`));
    }
  }

  async function prepareOnce(repository: string) {
    const g = gun(repository);
    const env = await passphraseEnv();
    if (delegation) return checkDelegation(repository, delegation);
    if (await list(repository)) {
      if (!localKeys().some((k) => k.gun === g && k.role === "targets"))
        throw new PkgkitError(`${trustDir} has no targets key of ${g}, which has trust data on ${notaryServer(repository, options)}: signing needs it (import it with \`notary key import <key.pem> --role targets --gun ${g}\`, or sign in a delegation: the notary signer's role option). Nothing was pushed.`);
      return checkPassphrase(g, (k) => k.gun === g && (k.role === "targets" || k.role === "snapshot"), "targets key");
    }
    if (stale.has(g)) throw new PkgkitError(`${staleMessage(g, notaryServer(repository, options))} Nothing was pushed.`);
    const root = process.env.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE;
    if (!root)
      throw new InputError(`${g} has no trust data on ${notaryServer(repository, options)} yet; initialising it needs the root key's passphrase: set DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE (a root key is created in ${trustDir} if there is none). Nothing was pushed.`);
    rememberSecret(root);
    // notary init signs with a root key of the trust directory, if it has one: that key must open.
    const roots = localKeys().filter((k) => k.role === "root");
    const opens = await Promise.all(roots.map((k) => opensKey(k.pem, root)));
    if (roots.length && opens.every((o) => o === false))
      throw new InputError(`${g} has no trust data on ${notaryServer(repository, options)} yet, and DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE does not open the root key in ${trustDir} (${roots.map((k) => k.file).join(", ")}) that initialising it needs: set the root key's passphrase there. Nothing was pushed.`);
    const r = await notary(repository, ["init", "-p", g], { ...env, NOTARY_ROOT_PASSPHRASE: root });
    if (r.code !== 0) throw new PkgkitError(`notary init ${g} (${notaryServer(repository, options)}) failed: ${r.said}`);
    lists.set(g, Promise.resolve(new Map()));
  }

  return {
    name: "notary",
    get description() {
      return `notary ${redactUrlPasswords(options.server ?? process.env.DOCKER_CONTENT_TRUST_SERVER ?? "(Docker's default server)")}${delegation ? ` (${delegation})` : ""}`;
    },
    prepare(repository) {
      const g = gun(repository);
      let p = ready.get(g);
      if (!p) ready.set(g, (p = prepareOnce(repository)));
      return p;
    },
    async sign(target: SignTarget, signOptions: SignOptions = {}): Promise<Signature> {
      await this.prepare(target.repository);
      const g = gun(target.repository);
      const env = await passphraseEnv();
      const hex = target.digest.replace(/^sha256:/, "");
      await exclusive(g, async () => {
        for (const tag of target.tags) {
          const r = await notary(target.repository, ["addhash", g, tag, String(target.size), "--sha256", hex, ...(delegation ? ["--roles", delegation] : [])], env);
          if (r.code !== 0) throw new PkgkitError(`notary addhash ${g} ${tag} failed: ${r.said}`);
        }
        // Another machine publishing to the same GUN at once makes the server refuse the one that
        // read the older version ("rejected operation"); the change stays in the changelist, and
        // publishing again applies it on top of theirs.
        const server = notaryServer(target.repository, options);
        await retry(async (attempt) => {
          const r = await notary(target.repository, ["publish", g], env);
          if (r.code !== 0) throw new PublishRefused(`notary publish ${g} (${server}) failed${attempt > 1 ? ` after ${attempt} attempts` : ""}: ${r.said}`, r.said);
        }, {
          what: `notary publish ${g} (${server})`,
          attempts: PUBLISH_ATTEMPTS,
          baseDelayMs: 1000,
          classify: (e) => (e instanceof PublishRefused && /rejected operation|old version/i.test(e.said) ? { reason: "another writer published first" } : undefined),
          ...(signOptions.log ? { onRetry: signOptions.log } : {}),
        });
        lists.delete(g);
      });
      return { signer: "notary", ref: targetRef(target), stored: target.tags.map((t) => `notary target ${g}:${t}${delegation ? ` in ${delegation}` : ""} on ${notaryServer(target.repository, options)}`) };
    },
    async verify(target: SignTarget): Promise<Verification> {
      const g = gun(target.repository);
      const base = { signer: "notary" as const, ref: targetRef(target) };
      const targets = await list(target.repository);
      if (!targets) return { ...base, ok: false, detail: stale.has(g) ? staleMessage(g, notaryServer(target.repository, options)) : `${notaryServer(target.repository, options)} has no trust data for ${g}` };
      const hex = target.digest.replace(/^sha256:/, "");
      for (const tag of target.tags) {
        const t = targets.get(tag);
        if (!t) return { ...base, ok: false, detail: `no signed target ${JSON.stringify(tag)} in ${g}${delegation ? ` (${delegation})` : ""}` };
        if (t.sha256 !== hex || t.size !== target.size)
          return { ...base, ok: false, detail: `signed target ${g}:${tag}${delegation ? ` in ${delegation}` : ""} is sha256:${t.sha256} (${t.size} bytes), the registry has ${target.digest} (${target.size} bytes)` };
      }
      return { ...base, ok: true, detail: `signed target${target.tags.length > 1 ? "s" : ""} ${target.tags.map((t) => `${g}:${t}`).join(", ")}${delegation ? ` in ${delegation}` : ""} match sha256 and size` };
    },
  };
}
