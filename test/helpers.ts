/** Shared test helpers: throwaway git repos and running the real CLI. */
import { copyFileSync, cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, spawnSync } from "node:child_process";
import * as assert from "uvu/assert";
import { InputError, SpecError } from "../lib/errors.ts";
import { RegistryError } from "../lib/registry/errors.ts";
import { imageBlobsFromArchive } from "../lib/image.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = join(ROOT, "lib/bin.mjs");
/** The bin package.json names: what `pkgkit` and `npx pkgkit` run. */
export const PACKAGE_BIN = join(ROOT, (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: { pkgkit: string } }).bin.pkgkit);

export function sh(cmd: string[], cwd?: string, env?: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export function must(cmd: string[], cwd?: string, env?: Record<string, string>): string {
  const r = sh(cmd, cwd, env);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** `sh` without blocking the event loop: for processes run side by side, or that talk to a server in this process. */
export function shAsync(cmd: string[], cwd?: string, env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A copy of this package (lib/, recipes/, package.json, tsconfig.json; node_modules linked) in a
 * temp directory, with a bundle of its own: a test that edits sources or rewrites the bundle does
 * it there, so the checkout's own bundle is never rewritten and no later suite runs a stale one.
 */
export function bundledCopy(prefix: string): string {
  const copy = checkoutCopy(prefix);
  must([process.execPath, join(copy, "lib/bundle.mjs")], tmpdir());
  return copy;
}

/**
 * bundledCopy's copy before its bundle is built. With `bins`, node_modules is a directory of links
 * to this checkout's packages and bins but those named, which are the scripts given.
 */
export function checkoutCopy(prefix: string, bins: Record<string, string> = {}): string {
  const copy = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(ROOT, "lib"), join(copy, "lib"), { recursive: true, filter: (f) => !f.startsWith(join(ROOT, "lib/dist")) });
  cpSync(join(ROOT, "recipes"), join(copy, "recipes"), { recursive: true });
  for (const f of ["package.json", "tsconfig.json"]) cpSync(join(ROOT, f), join(copy, f));
  if (!Object.keys(bins).length) {
    symlinkSync(join(ROOT, "node_modules"), join(copy, "node_modules"));
    return copy;
  }
  mkdirSync(join(copy, "node_modules/.bin"), { recursive: true });
  for (const d of readdirSync(join(ROOT, "node_modules")).filter((d) => d !== ".bin")) symlinkSync(join(ROOT, "node_modules", d), join(copy, "node_modules", d));
  for (const b of readdirSync(join(ROOT, "node_modules/.bin")).filter((b) => !(b in bins))) symlinkSync(join(ROOT, "node_modules/.bin", b), join(copy, "node_modules/.bin", b));
  for (const [b, script] of Object.entries(bins)) writeFileSync(join(copy, "node_modules/.bin", b), script, { mode: 0o755 });
  return copy;
}

/** A new git repository in a temp dir, with the given files committed. */
export function tmpRepo(files: Record<string, string> = {}): { dir: string; write(path: string, text: string): void; commit(): void; rm(): void } {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-test-"));
  const git = (...args: string[]) => must(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false", ...args], dir);
  git("init", "-q", "-b", "main");
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  for (const [p, t] of Object.entries(files)) write(p, t);
  const commit = () => {
    git("add", "-A");
    git("commit", "-q", "--allow-empty", "-m", "test");
  };
  if (Object.keys(files).length) commit();
  return { dir, write, commit, rm: () => rmSync(dir, { recursive: true, force: true }) };
}

export function lsTree(repo: string, path: string): string {
  return /^\d+ tree ([0-9a-f]+)\t/.exec(must(["git", "ls-tree", "HEAD", "--", path], repo))![1]!;
}

/** Run the pkgkit bin under Node, as a user would. */
export function pkgkit(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return sh([process.execPath, BIN, ...args], options.cwd ?? ROOT, options.env);
}

/** The message of the SpecError `fn` throws; fails the test if it throws nothing else. */
export function specErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    if (e.exitCode !== 2) throw new Error(`bad input must exit 2, got ${e.exitCode}`);
    return e.message;
  }
  throw new Error("expected a SpecError");
}

/** The message of the InputError `fn` throws (bad input: exit 2); fails the test if it throws anything else or nothing. */
export function inputErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.message;
  }
  throw new Error("expected an InputError");
}

/** The RegistryError `p` rejects with, its message added to `said` (for the suite's leak check); fails the test on anything else. */
export async function registryFailure(p: Promise<unknown>, said: string[]): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    said.push((e as Error).message);
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error("expected a RegistryError");
}

/**
 * Fails naming each secret (by its name in `secrets`, never its value) found in `output`: every
 * secret a test used, wrong ones included, and the forms it travels in (base64 `user:password`).
 */
export function assertNoSecrets(output: string, secrets: Record<string, string>): void {
  for (const [name, secret] of Object.entries(secrets))
    if (secret.length < 6) throw new Error(`assertNoSecrets: ${name} is ${secret.length} characters; a secret this short would match by chance`);
  const leaked = Object.entries(secrets).filter(([, secret]) => output.includes(secret)).map(([name]) => name);
  assert.equal(leaked, [], "secrets in the output (named, not shown)");
}

/**
 * The manifest digest a push makes of `ref` as an engine holds it: `docker save` there (`docker` is
 * the argv that reaches the engine, e.g. `["docker", "--host", h]`), normalised for SOURCE_DATE_EPOCH
 * 0. Pushed configs are rewritten, so an engine's image id is no longer the registry's config digest.
 */
export async function pushedManifestOf(docker: string[], ref: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-engine-save-"));
  try {
    must([...docker, "save", "--output", join(dir, "image.tar"), ref]);
    return (await imageBlobsFromArchive(join(dir, "image.tar"), dir)).manifest.digest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A committed repository of two packages: base (busybox from examples/hello, per arch) and app,
 * built FROM base (`BASE=@lkt:pkg:../base`), whose image says the machine it was built on.
 */
export function chainRepo() {
  const HELLO = join(ROOT, "examples/hello");
  const repo = tmpRepo({
    "base/build.yml": "image: base\n",
    "base/Dockerfile": "ARG TARGETARCH\nFROM scratch AS base-amd64\nCOPY busybox-amd64 /bin/busybox\nFROM scratch AS base-arm64\nCOPY busybox-arm64 /bin/busybox\nFROM base-${TARGETARCH}\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
    "app/build.yml": "image: app\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n",
    "app/Dockerfile": "ARG BASE\nFROM ${BASE}\nRUN echo \"app built on $(uname -m)\" > /app\nCMD [\"/bin/cat\", \"/app\"]\n",
  });
  for (const a of ["amd64", "arm64"]) copyFileSync(join(HELLO, `busybox-${a}`), join(repo.dir, "base", `busybox-${a}`));
  repo.commit();
  return repo;
}
