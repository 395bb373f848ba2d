/**
 * Why the docker CLI could not reach a builder's engine, from what it printed, in words that say
 * what to check: a client certificate the engine refuses, an engine certificate pkgkit does not
 * trust, an ssh host key not in known_hosts, a key the ssh server refuses, nothing listening. The
 * docker CLI's own messages name neither the builder nor the fix (and an ssh failure reads "make
 * sure the URL is valid, and Docker 18.09 or later is installed").
 */
import type { Engine } from "./options.ts";

interface Cause {
  /** Matches docker's (or ssh's) stderr. */
  test: RegExp;
  /** What happened and what to check; `where` is the endpoint. */
  say: (where: string) => string;
}

const CERT_FILES = "the builder's tls { ca, cert, key } in the workspace, else DOCKER_CERT_PATH ({ca,cert,key}.pem) with DOCKER_TLS_VERIFY=1";

const CAUSES: Cause[] = [
  {
    test: /tls: (bad certificate|certificate required|unknown certificate authority|unknown certificate|expired certificate)/i,
    say: () => `the engine refused pkgkit's client certificate: check that the client certificate (${CERT_FILES}) is signed by the CA the engine trusts (its dockerd --tlscacert) and has not expired`,
  },
  {
    test: /x509:|certificate signed by unknown authority|tls: failed to verify/i,
    say: () => `pkgkit does not trust the engine's certificate: check the CA certificate (${CERT_FILES}) and that the engine's certificate names the host as written`,
  },
  {
    test: /Client sent an HTTP request to an HTTPS server/i,
    say: () => `the engine speaks TLS and pkgkit gave it no client certificate: set ${CERT_FILES}`,
  },
  {
    test: /server gave HTTP response to HTTPS client|first record does not look like a TLS handshake/i,
    say: () => "pkgkit spoke TLS to an engine that does not: check the port, or drop the TLS settings for this engine",
  },
  {
    test: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/,
    say: (where) => `ssh does not know this host's key (or it changed): check its fingerprint with the machine's owner, then add it to known_hosts (\`ssh-keyscan${sshPort(where)} ${sshHost(where)} >> ~/.ssh/known_hosts\` after comparing, or one interactive \`ssh\`); pkgkit never accepts an unknown host key`,
  },
  {
    test: /Permission denied \((publickey|password|keyboard)/i,
    say: (where) => `the ssh server refused the login: check that ${sshUser(where)}'s authorized_keys holds your key and that ssh offers it (~/.ssh/config IdentityFile, or the agent)`,
  },
  {
    test: /docker: (command )?not found|unknown command "dial-stdio"|dial-stdio.*(not found|unknown)/i,
    say: () => "the ssh login works but cannot run `docker system dial-stdio` there: check that the docker CLI (18.09 or later) is on that user's PATH",
  },
  {
    test: /permission denied while trying to connect to the Docker daemon socket/i,
    say: (where) => `the ${where.startsWith("ssh://") ? "ssh user" : "user"} may not use the engine's socket: check its membership of the docker group`,
  },
  {
    test: /connection refused|Cannot connect to the Docker daemon/i,
    say: (where) =>
      where.startsWith("unix://")
        ? "nothing accepts connections on that socket: check that the engine runs and listens there (dockerd --host unix://...)"
        : "nothing accepts connections there (connection refused): check that the engine runs and listens on that address and port (dockerd --host tcp://..., or sshd for ssh://)",
  },
  {
    test: /no route to host|i\/o timeout|timed out|Could not resolve hostname|no such host|Network is unreachable/i,
    say: () => "cannot reach that host: check the address, its name resolution and the network in between",
  },
];

/**
 * What `stderr` of a failed docker command against `engine` says about reaching it, as one
 * sentence naming the builder (`arch` and endpoint) and what to check, ending with docker's own
 * last line; undefined when it says nothing of the kind (a missing image, a failed build).
 */
export function engineProblem(stderr: string, engine: Engine, arch?: string): string | undefined {
  const where = "host" in engine ? engine.host : `docker context ${engine.context}`;
  const cause = CAUSES.find((c) => c.test.test(stderr));
  if (!cause) return undefined;
  const last = stderr.trim().split("\n").filter((l) => l.trim() !== "").pop()?.trim() ?? "";
  return `builder ${arch ? `${arch} ` : ""}(${where}): ${cause.say(where)}. The docker CLI said: ${last}`;
}

/** `ssh://user@host:port` → its parts, for the commands the messages suggest. */
function sshParts(endpoint: string): { user?: string; host: string; port?: string } {
  const m = /^ssh:\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?/.exec(endpoint);
  return m ? { user: m[1], host: m[2]!, port: m[3] } : { host: endpoint };
}
const sshHost = (endpoint: string) => sshParts(endpoint).host;
const sshPort = (endpoint: string) => (sshParts(endpoint).port ? ` -p ${sshParts(endpoint).port}` : "");
const sshUser = (endpoint: string) => sshParts(endpoint).user ?? "the remote user";
