/**
 * Secrets for signing (passphrases, key passwords, identity tokens): where they come from, got
 * only when a signature needs them and at most once per run, and kept out of argv, logs, plans and
 * errors. A passphrase command's output is never shown, not even in its own error.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { explainedByDoctor, InputError, PkgkitError } from "../errors.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "../limits.ts";
import { defaultShell, type Shell } from "../shell.ts";

/** Values to blank out of any text pkgkit prints or throws while signing. */
const known = new Set<string>();

export function rememberSecret(value: string): string {
  if (value.length >= 4) known.add(value);
  return value;
}

/** `text` with every remembered secret replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  for (const s of known) out = out.split(s).join("***");
  return out;
}

/** Where a passphrase command came from, for messages. */
export interface PassphraseCommand {
  command: string;
  origin: string;
}

/** LinuxKit's `pkg: content-trust-passphrase-command:` in ~/.moby/linuxkit/config.yml, if set. */
export async function linuxkitPassphraseCommand(home = homedir()): Promise<PassphraseCommand | undefined> {
  const file = join(home, ".moby/linuxkit/config.yml");
  if (!existsSync(file)) return undefined;
  const { parseYaml } = await import("../yaml.ts");
  const parsed = parseYaml(readTextLimited(file, MAX_CONFIG_BYTES, "LinuxKit's config.yml"));
  if ("problems" in parsed) throw new InputError(parsed.problems.map((p) => `${file}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.message}`).join("\n"));
  const config = parsed.value;
  const command = (config as { pkg?: { "content-trust-passphrase-command"?: unknown } } | null)?.pkg?.["content-trust-passphrase-command"];
  if (command === undefined || command === null || command === "") return undefined;
  if (typeof command !== "string") throw new PkgkitError(`${file}: pkg.content-trust-passphrase-command: expected a shell command as a string`);
  return { command, origin: file };
}

export interface PassphraseSources {
  /** Environment variable checked first. */
  env: string;
  /** Code option: returns the passphrase. */
  fn?: () => string | Promise<string>;
  /** Commands in order of precedence; the first one present runs. */
  commands: (PassphraseCommand | undefined | (() => Promise<PassphraseCommand | undefined>))[];
  /** What it is for, in messages: "the content-trust repository passphrase". */
  what: string;
  shell?: Shell;
}

/**
 * A passphrase from, in order: the environment variable, the code option, the first passphrase
 * command configured. Resolved on first use and then remembered: the command runs at most once.
 */
export function passphrase(sources: PassphraseSources): () => Promise<string> {
  let value: Promise<string> | undefined;
  const resolveOnce = async (): Promise<string> => {
    const fromEnv = process.env[sources.env];
    if (fromEnv) return rememberSecret(fromEnv);
    if (sources.fn) {
      const v = await sources.fn();
      if (!v) throw new InputError(`${sources.what}: the passphrase function returned nothing`);
      return rememberSecret(v);
    }
    for (const c of sources.commands) {
      const cmd = typeof c === "function" ? await c() : c;
      if (cmd) return runPassphraseCommand(cmd, sources.what, sources.shell ?? (await defaultShell()));
    }
    throw explainedByDoctor(new InputError(`${sources.what} is not set: set ${sources.env}, or configure a passphrase command (pkgkit.yml notary.passphraseCommand, or LinuxKit's pkg.content-trust-passphrase-command in ~/.moby/linuxkit/config.yml)`));
  };
  return () => {
    if (!value) {
      value = resolveOnce();
      // A failure is final for the run: the command is not tried again.
    }
    return value;
  };
}

/**
 * Outputs of passphrase commands that succeeded, by command: signers with different settings
 * (two notary servers, say) that share a command still run it once. A failure is not kept.
 */
const commandOutputs = new Map<string, Promise<string>>();

function runPassphraseCommand(c: PassphraseCommand, what: string, shell: Shell): Promise<string> {
  let p = commandOutputs.get(c.command);
  if (!p) {
    p = runCommandOnce(c, what, shell);
    commandOutputs.set(c.command, p);
    p.catch(() => commandOutputs.delete(c.command));
  }
  return p;
}

async function runCommandOnce(c: PassphraseCommand, what: string, shell: Shell): Promise<string> {
  // The command is the user's shell text, run as LinuxKit runs it; its output stays in memory.
  const r = await shell.exec(["sh", "-c", c.command]);
  if (r.code !== 0)
    throw new PkgkitError(`${what}: the passphrase command ${JSON.stringify(c.command)} (from ${c.origin}) exited with ${r.code}; nothing was signed or pushed`);
  const value = r.stdout.replace(/\r?\n$/, "");
  if (!value.trim()) throw new PkgkitError(`${what}: the passphrase command ${JSON.stringify(c.command)} (from ${c.origin}) printed nothing; nothing was signed or pushed`);
  return rememberSecret(value);
}
