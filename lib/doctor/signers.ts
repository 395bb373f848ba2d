/**
 * Doctor checks of what a signer needs before it can sign: Notary (the notary CLI, its server and
 * the CA it is reached with, the trust directory's keys, a passphrase source that gives one) and
 * Sigstore (a key that opens, or for keyless an identity token and the Fulcio, Rekor and TSA
 * endpoints). Passphrases, passwords and tokens are used, never shown.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { isPkgkitError } from "../errors.ts";
import { gun, notaryServer, trustDirKeys } from "../sign/notary.ts";
import { opensKey } from "../sign/pkcs8.ts";
import { linuxkitPassphraseCommand, type PassphraseCommand } from "../sign/secrets.ts";
import { DEFAULT_FULCIO_URL, DEFAULT_REKOR_URL, loadPrivateKey, loadPublicKey } from "../sign/sigstore.ts";
import { checkIdentityToken } from "../sign/keyless.ts";
import type { NotaryOptions, SigstoreOptions } from "../sign/config.ts";
import type { Shell } from "../shell.ts";
import { execBounded, firstLine, missing, notFound, ok, warn, type CheckRow } from "./check.ts";
import { reach } from "./http.ts";

const dockerConfigDir = () => process.env.DOCKER_CONFIG || join(homedir(), ".docker");

/** `notary version`. */
export async function notaryCliRow(shell: Shell, timeoutMs: number): Promise<CheckRow> {
  const r = await execBounded(shell, ["notary", "version"], timeoutMs);
  if (notFound(r)) return missing("notary cli", "notary is not on PATH", "install it (Debian: apt-get install notary)");
  if (r.code !== 0) return missing("notary cli", `notary version: ${firstLine(r.stderr) || `exit ${r.code}`}`, "reinstall the notary CLI");
  const version = /Version:[ \t]*(\S+)/.exec(r.stdout)?.[1];
  return ok("notary cli", `notary ${version ?? "(no version given)"} on PATH`);
}

/**
 * The notary servers the repositories sign at (with none, the configured one), each reached as the
 * notary CLI reaches it: its CA is the option's, else $DOCKER_CONFIG/tls/<host>/ca.crt, else the system's.
 */
export async function notaryServerRows(options: NotaryOptions, repositories: string[], timeoutMs: number): Promise<CheckRow[]> {
  const configured = options.server ?? process.env.DOCKER_CONTENT_TRUST_SERVER;
  const servers = new Set(repositories.length ? repositories.map((r) => notaryServer(r, options)) : configured ? [configured.replace(/\/$/, "")] : []);
  if (servers.size === 0) return [warn("notary server", "not known without a package or --org (the default is https://<the org's registry>)", "give the packages, or --org, or set DOCKER_CONTENT_TRUST_SERVER")];
  return Promise.all([...servers].map((s) => notaryServerRow(options, s, timeoutMs)));
}

async function notaryServerRow(options: NotaryOptions, server: string, timeoutMs: number): Promise<CheckRow> {
  const host = new URL(server).host;
  const ca = options.ca ?? [join(dockerConfigDir(), "tls", host, "ca.crt")].find((f) => existsSync(f));
  const check = `notary server ${server}`;
  const r = await reach(`${server}/_notary_server/health`, { ca: ca ? [readFileSync(ca, "utf8")] : [], timeoutMs });
  if ("status" in r) return ok(check, `answers (${r.status}), TLS verified with ${ca ?? "the system's root CAs"}`);
  if (r.untrusted)
    return missing(check, `its certificate is signed by an unknown authority (${r.error}); trusted: ${ca ?? "the system's root CAs"}`, `put its CA in ${join(dockerConfigDir(), "tls", host, "ca.crt")} (where notary and docker trust look), or set notary.ca in pkgkit.yml`);
  return missing(check, r.error, "start the notary server, or name the one to use: DOCKER_CONTENT_TRUST_SERVER, or notary.server in pkgkit.yml");
}

/** The trust directory's keys for the repositories' GUNs: a targets key each, else a root key (or its passphrase) to initialise them. */
export function notaryKeysRow(options: NotaryOptions, repositories: string[]): CheckRow {
  const trustDir = options.trustDir ?? join(dockerConfigDir(), "trust");
  const keys = trustDirKeys(trustDir);
  const check = "notary keys";
  const guns = [...new Set(repositories.map(gun))];
  const role = options.role && options.role !== "targets" ? options.role : undefined;
  if (role) {
    if (keys.some((k) => k.role !== "root" && !k.gun)) return ok(check, `${trustDir}: ${keys.length} private keys, delegation keys among them (signing in ${role})`);
    // Which of them the delegation lists, only the server says: the signer's prepare checks that.
    return warn(check, `${trustDir}: no delegation key (signing in ${role})`, `import the ${role} delegation's private key: \`notary key import <key.pem> --role <name>\` or \`docker trust key load <key.pem> --name <name>\``);
  }
  const without = guns.filter((g) => !keys.some((k) => k.gun === g && k.role === "targets"));
  const summary = `${trustDir}: ${keys.length} private key${keys.length === 1 ? "" : "s"}${keys.some((k) => k.role === "root") ? ", a root key" : ""}`;
  if (without.length === 0) return ok(check, guns.length ? `${summary}; targets keys of ${guns.join(", ")}` : summary);
  if (process.env.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE)
    return ok(check, `${summary}; no targets key of ${without.join(", ")} yet: the first push initialises ${without.length === 1 ? "it" : "them"} (DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE is set)`);
  return warn(check, `${summary}; no targets key of ${without.join(", ")}`,
    `a GUN the server has no trust data for is initialised on the first push, which needs DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE; one it has needs its targets key: \`notary key import <key.pem> --role targets --gun <gun>\``);
}

/**
 * Where the repository passphrase comes from, and that it gives one: $DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE,
 * else the passphrase command (pkgkit.yml's, else LinuxKit's), run once. A key of the GUNs it should open is tried with it.
 */
export async function notaryPassphraseRow(shell: Shell, options: NotaryOptions, repositories: string[], deps: { configFile?: string; timeoutMs: number }): Promise<CheckRow> {
  const check = "notary passphrase";
  const variable = "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE";
  let pass: string | undefined;
  let from: string;
  if (process.env[variable]) {
    pass = process.env[variable];
    from = `$${variable}`;
  } else {
    const command: PassphraseCommand | undefined = options.passphraseCommand
      ? { command: options.passphraseCommand, origin: deps.configFile ?? "pkgkit.yml's notary.passphraseCommand" }
      : await linuxkitPassphraseCommand().catch(() => undefined);
    if (!command)
      return missing(check, `${variable} is not set, and no passphrase command is configured`,
        `set ${variable}, or configure a passphrase command: notary.passphraseCommand in pkgkit.yml, or LinuxKit's pkg.content-trust-passphrase-command in ~/.moby/linuxkit/config.yml`);
    from = `the passphrase command from ${command.origin}`;
    const r = await execBounded(shell, ["sh", "-c", command.command], deps.timeoutMs);
    if (r.code !== 0 || !r.stdout.trim())
      return missing(check, `${from} ${r.timedOut ? `gave nothing within ${deps.timeoutMs / 1000}s` : r.code !== 0 ? `exited with ${r.code}` : "printed nothing"}`, `fix the command so that it prints the passphrase, or set ${variable}`);
    pass = r.stdout.replace(/\r?\n$/, "");
  }
  const guns = new Set(repositories.map(gun));
  const keys = trustDirKeys(options.trustDir ?? join(dockerConfigDir(), "trust")).filter((k) => k.gun !== undefined && guns.has(k.gun) && (k.role === "targets" || k.role === "snapshot"));
  for (const k of keys)
    if ((await opensKey(k.pem, pass!)) === false) return missing(check, `${from} does not open ${k.file} (${k.role} key of ${k.gun})`, `give the passphrase of that key (${variable} or the passphrase command)`);
  return ok(check, `${from}${keys.length ? `, opens the ${keys.length} key${keys.length === 1 ? "" : "s"} of ${[...guns].join(", ")}` : ""}`);
}

/** Sigstore with a key pair: the key reads, is ECDSA P-256, and (encrypted) opens with its password variable's value. */
export function sigstoreKeyRow(options: SigstoreOptions): CheckRow {
  const file = options.key!;
  const check = "sigstore key";
  const passwordEnv = options.passwordEnv ?? "COSIGN_PASSWORD";
  try {
    loadPrivateKey(file, passwordEnv);
  } catch (e) {
    if (!isPkgkitError(e)) throw e;
    return missing(check, e.message, `give a readable ECDSA P-256 private key (--key, sigstore.key in pkgkit.yml, the package's signer); an encrypted one's password in $${passwordEnv}`);
  }
  const encrypted = readFileSync(file, "utf8").includes("ENCRYPTED");
  if (options.publicKey) {
    try {
      loadPublicKey(options.publicKey);
    } catch (e) {
      if (!isPkgkitError(e)) throw e;
      return missing(check, e.message, "give the key pair's public key (PEM) as sigstore.publicKey, or leave it out: it is derived from the private key");
    }
  }
  return ok(check, `${file}: ECDSA P-256 private key${encrypted ? `, opened with $${passwordEnv}` : ""}${options.publicKey ? `; public key ${options.publicKey}` : ""}`);
}

/** Sigstore keyless: an identity token Fulcio would take, and the endpoints it signs through. */
export async function sigstoreKeylessRows(options: SigstoreOptions, timeoutMs: number): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const token = process.env.SIGSTORE_ID_TOKEN;
  if (token) {
    try {
      const c = checkIdentityToken({ value: token, from: "$SIGSTORE_ID_TOKEN" });
      rows.push(ok("sigstore token", `$SIGSTORE_ID_TOKEN: ${c.subject} from ${c.issuer}${c.expires ? `, expires ${c.expires.toISOString()}` : ""}`));
    } catch (e) {
      if (!isPkgkitError(e)) throw e;
      rows.push(missing("sigstore token", e.message, "set SIGSTORE_ID_TOKEN to a current OIDC identity token for the audience sigstore"));
    }
  } else if (process.env.ACTIONS_ID_TOKEN_REQUEST_URL) rows.push(ok("sigstore token", "GitHub Actions' OIDC token provider (id-token: write)"));
  else rows.push(missing("sigstore token", "no $SIGSTORE_ID_TOKEN, and no CI OIDC token provider", "set SIGSTORE_ID_TOKEN to a current OIDC identity token for the audience sigstore, or run in a CI that provides one (GitHub Actions with id-token: write)"));
  const endpoints: [string, string, string][] = [
    ["fulcio", options.fulcioURL ?? DEFAULT_FULCIO_URL, "sigstore.fulcioURL"],
    ...(options.tlog !== false ? [["rekor", options.rekorURL ?? DEFAULT_REKOR_URL, "sigstore.rekorURL"] as [string, string, string]] : []),
    ...(options.tsaURL ? [["tsa", options.tsaURL, "sigstore.tsaURL"] as [string, string, string]] : []),
  ];
  rows.push(...(await Promise.all(endpoints.map(async ([name, url, field]) => {
    const r = await reach(url, { timeoutMs });
    return "status" in r ? ok(`${name} ${url}`, `answers (${r.status})`) : missing(`${name} ${url}`, r.error, `check the network to it, or set ${field} in pkgkit.yml to one this machine reaches`);
  }))));
  return rows;
}

/** cosign, the outside verifier `pkgkit verify`'s results can be checked with: a warning when missing. */
export async function cosignRow(shell: Shell, timeoutMs: number): Promise<CheckRow> {
  const r = await execBounded(shell, ["cosign", "version"], timeoutMs);
  if (r.code === 0) return ok("cosign", `cosign ${/GitVersion:[ \t]*(\S+)/.exec(r.stdout + r.stderr)?.[1] ?? "(no version given)"} on PATH`);
  return warn("cosign", notFound(r) ? "cosign is not on PATH" : `cosign version: ${firstLine(r.stderr) || `exit ${r.code}`}`, "to check signatures as outside clients do (cosign verify), install cosign: github.com/sigstore/cosign releases");
}
