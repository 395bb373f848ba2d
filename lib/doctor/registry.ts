/** Doctor checks of a registry an org names: it answers `/v2/`, its TLS is trusted (by which CA), the login a push needs. */
import type { RegistryProbe } from "../registry/probe.ts";
import { missing, ok, warn, type CheckRow } from "./check.ts";

/** How the registry is reached, as a push would reach it (the flags and variables), and the wait for one answer. */
export interface RegistryCheckOptions {
  /** `--registry-ca` files. */
  ca: string[];
  /** `--insecure-registry` and PKGKIT_INSECURE_REGISTRIES hosts. */
  insecure: string[];
  timeoutMs: number;
}

/** The rows of `registry`: reachability, TLS trust, login (the last two only once it answered). */
export async function registryRows(registry: string, options: RegistryCheckOptions): Promise<CheckRow[]> {
  // Loaded here, not at the top: the CLI imports the doctor with every command, and the probe
  // brings the registry client, which show-tag and plan do without.
  const { probeRegistry } = await import("../registry/probe.ts");
  const p = await probeRegistry(registry, { ca: options.ca, insecure: options.insecure, timeoutMs: options.timeoutMs });
  if (p.error?.kind === "tls") return [ok(`registry ${registry}`, `${p.host} accepts connections`), tlsFailed(p)];
  if (p.error)
    return [missing(`registry ${registry}`, p.error.message, `start the registry, or push to one that runs: the org's host (--org, PKGKIT_ORG, the package's or workspace's org) names it; a proxy or firewall may stand between`)];
  return [ok(`registry ${registry}`, `${p.base}/v2/ answers${p.challenge ? `, asking for credentials (${p.challenge})` : ""}`), tlsRow(p), loginRow(p)];
}

function tlsFailed(p: RegistryProbe): CheckRow {
  const looked = p.caFiles.length ? `trusted: ${p.caFiles.join(", ")}` : `no CA for ${p.host} in ${p.certsDirs.join(", ")}, nor --registry-ca`;
  return missing(`tls ${p.registry}`, `${p.error!.message} (${looked})`,
    `put the registry's CA in ${p.certsDirs[0] ?? "/etc/docker/certs.d"}/${p.host}/ca.crt, or pass --registry-ca <file>${p.error!.message.includes("does not speak TLS") ? `; a plain-HTTP registry you trust: --insecure-registry ${p.host}` : ""}`);
}

function tlsRow(p: RegistryProbe): CheckRow {
  const check = `tls ${p.registry}`;
  if (p.base?.startsWith("http://"))
    return p.insecure
      ? warn(check, "plain HTTP, allowed by --insecure-registry / PKGKIT_INSECURE_REGISTRIES", "serve the registry over TLS and drop it from the insecure list")
      : ok(check, "plain HTTP (a loopback registry: allowed)");
  if (p.insecure) return warn(check, "HTTPS, certificate not checked (--insecure-registry / PKGKIT_INSECURE_REGISTRIES)", `put its CA in ${p.certsDirs[0] ?? "/etc/docker/certs.d"}/${p.host}/ca.crt and drop it from the insecure list`);
  return ok(check, `HTTPS, verified with ${p.caFiles.length ? p.caFiles.join(", ") : "the system's root CAs"}`);
}

function loginRow(p: RegistryProbe): CheckRow {
  const check = `login ${p.registry}`;
  const login = `docker login ${p.registry}`;
  if ("error" in p.credentials) return missing(check, p.credentials.error, `install the credential helper config.json names, or remove it from there and \`${login}\``);
  const { found, source } = p.credentials;
  if (!p.challenge) return ok(check, found ? `not asked for; credentials in ${source}` : "not asked for (anonymous access)");
  if (p.login?.ok) return ok(check, `credentials from ${source} accepted`);
  if (!found) return missing(check, `${p.registry} asks for credentials; ${source}`, `\`${login}\` (DOCKER_CONFIG names the config.json it writes)`);
  return missing(check, p.login!.ok ? "" : p.login!.error.message, `\`${login}\` with the right credentials`);
}
