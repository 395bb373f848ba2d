/**
 * `linuxkit pkg build|push` flags (linuxkit at 3bf33c3a1: src/cmd/linuxkit/pkg_build.go, cmd.go),
 * so that a Makefile moves over by changing the program name. Those with a meaning for pkgkit
 * take it (their precedence: lib/options.ts); those with none are accepted where ignoring them is
 * harmless, saying so under `-v`; the rest are refused (exit 2) naming what to use instead.
 */
import { InputError } from "../errors.ts";
import type { OptionSpec, ParsedOptions } from "./args.ts";

/** Flags pkgkit gives LinuxKit's meaning. */
export const linuxkitBuildFlags: Record<string, OptionSpec> = {
  platforms: { type: "string", value: "<linux/a,...>", help: "LinuxKit's spelling of --arches: build only these platforms, e.g. linux/amd64,linux/arm64" },
  "skip-platforms": { type: "string", value: "<linux/a,...>", help: "build none of these platforms, whatever the package declares; a package left with none is skipped (not with --platforms or --arches)" },
  dockerfile: { type: "string", value: "<path>", help: "build every package with this Dockerfile, relative to its directory and inside it, instead of its own" },
  "build-arg-file": { type: "strings", value: "<file>", help: "build args, a KEY=value per line, over the packages' own; repeatable, later files win; they do not change tags" },
  "sbom-scanner": { type: "string", value: "<image|false>", help: "false: pushes attach no SBOM or provenance attestations, and builds make none (buildx --provenance=false --sbom=false); a scanner image changes nothing (pkgkit makes its own SBOM; noted with -v)" },
  progress: { type: "string", value: "<auto|plain|tty>", help: "plain: print build output, as --verbose does; auto and tty: the default" },
  quiet: { type: "boolean", short: "q", help: "print only failures (as -v 0)" },
  pull: { type: "boolean", help: "accepted: pkgkit builds what the engine lacks instead of pulling it (push skips what the registry has); conflicts with --force" },
};

/** Build-only: LinuxKit's `build --push` is push, and push-only flags do nothing without it. */
export const linuxkitBuildOnlyFlags: Record<string, OptionSpec> = {
  push: { type: "boolean", help: "push too, as `pkgkit push` does (LinuxKit's `pkg build --push`)" },
  nobuild: { type: "boolean", help: "with --push: build nothing, push what the engine has (fails naming what it lacks); conflicts with --force" },
  manifest: { type: "boolean", help: "with --push: --manifest=false pushes the per-arch images without the multi-arch index" },
};

/** Push: flags that only make sense when pushing. */
export const linuxkitPushFlags: Record<string, OptionSpec> = {
  nobuild: linuxkitBuildOnlyFlags.nobuild!,
  manifest: linuxkitBuildOnlyFlags.manifest!,
};

/** LinuxKit's builder-container, cache and engine flags: pkgkit uses the engine's own BuildKit and no LinuxKit cache, so ignoring them is harmless. */
const ignored: Record<string, { spec: OptionSpec; why: string }> = {
  "builder-name": { spec: { type: "string", value: "<name>", help: "accepted, no effect (pkgkit runs no builder container)" }, why: "pkgkit runs no BuildKit builder container; it builds with the engine's own (docker buildx, docker driver)" },
  "builder-image": { spec: { type: "string", value: "<image>", help: "accepted, no effect (pkgkit runs no builder container)" }, why: "pkgkit runs no BuildKit builder container" },
  "builder-restart": { spec: { type: "boolean", help: "accepted, no effect (pkgkit runs no builder container)" }, why: "pkgkit runs no BuildKit builder container" },
  "precache-images": { spec: { type: "boolean", help: "accepted, no effect (pkgkit keeps no LinuxKit cache)" }, why: "pkgkit keeps no LinuxKit cache; the engine pulls what a Dockerfile names" },
  cache: { spec: { type: "string", value: "<dir>", help: "accepted, no effect (pkgkit keeps no LinuxKit cache)" }, why: "pkgkit keeps no LinuxKit cache; images live in the docker engine" },
  docker: { spec: { type: "boolean", help: "accepted: pkgkit always builds into the docker engine" }, why: "pkgkit always builds into the docker engine" },
  "ignore-cached": { spec: { type: "boolean", help: "accepted: pkgkit keeps no LinuxKit cache; dependencies come from the engine, or the registry" }, why: "pkgkit keeps no LinuxKit cache" },
};

/** Flags whose effect pkgkit cannot give: refused (exit 2), each naming what to use instead. */
const refused: Record<string, { spec: OptionSpec; instead: string }> = {
  "builder-config": { spec: { type: "string", value: "<file>", help: "refused: configure the engine's BuildKit (daemon.json) instead" }, instead: "pkgkit builds with the engine's own BuildKit: put registry mirrors and certificates in the engine's configuration (/etc/docker/daemon.json, certs.d), and --registry-ca for pkgkit's pushes" },
  ssh: { spec: { type: "strings", value: "<spec>", help: "refused: pkgkit forwards no SSH agent to builds" }, instead: "pkgkit forwards no SSH agent to builds; fetch what needs SSH before the build (an extra source), or use `docker buildx build --ssh` yourself" },
  "registry-creds": { spec: { type: "strings", value: "<registry=auth>", help: "refused: credentials never go in argv; use docker login" }, instead: "credentials never go on the command line (they would show in `ps` and shell history): `docker login <registry>` (read from ~/.docker/config.json and its credential helpers)" },
  mirror: { spec: { type: "strings", value: "<registry=url>", help: "refused: configure registry-mirrors in the engine instead" }, instead: "set registry-mirrors in the engine's /etc/docker/daemon.json; pkgkit's registry client talks to the registry it pushes to" },
  "cert-file": { spec: { type: "strings", value: "<pem>", help: "refused: use --registry-ca" }, instead: "use --registry-ca <pem,...> (pkgkit's pushes), or certs.d/<host:port>/ca.crt (the engine's pulls)" },
};

/** Every LinuxKit flag pkgkit accepts without effect or refuses, for a command's option table. */
export const linuxkitOtherFlags: Record<string, OptionSpec> = Object.fromEntries([
  ...Object.entries(ignored).map(([k, v]) => [k, v.spec]),
  ...Object.entries(refused).map(([k, v]) => [k, v.spec]),
]);

/**
 * After parsing: throws InputError for a refused flag; returns the notes that say which given
 * flags changed nothing (printed under `-v`). `pushing`: the command pushes.
 */
export function checkLinuxkitFlags(o: ParsedOptions, pushing: boolean): string[] {
  for (const [flag, r] of Object.entries(refused)) if (o[flag] !== undefined) throw new InputError(`--${flag}: not supported by pkgkit: ${r.instead}`);
  const notes = Object.entries(ignored).filter(([flag]) => o[flag] !== undefined).map(([flag, i]) => `--${flag}: accepted, no effect: ${i.why}`);
  const scanner = o["sbom-scanner"];
  if (typeof scanner === "string" && scanner !== "false") notes.push(`--sbom-scanner ${scanner}: accepted, no effect: pkgkit makes its own SBOM; \`--sbom-scanner false\` turns the builds' attestations off`);
  if (o.pull === true) notes.push(`--pull: accepted: pkgkit ${pushing ? "pushes nothing the registry has already" : "builds what the engine lacks instead of pulling it"}`);
  if (!pushing) for (const flag of ["nobuild", "manifest"]) if (o[flag] !== undefined) notes.push(`--${flag}: no effect without --push (as in LinuxKit)`);
  return notes;
}
