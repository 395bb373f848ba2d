/**
 * The command line, for the `pkgkit` bin and for a config file run directly
 * (`npx tsx pkg.config.ts build`). Commands are composed from recipes/.
 */
import process from "node:process";
import { relative } from "node:path";
import { formatOptions, parseArgs, type OptionSpec, type ParsedOptions } from "./args.ts";
import { errorText, ExitCode, InputError, isPkgkitError } from "../errors.ts";
import { ARCHES } from "../names.ts";
import { scriptArgs } from "../runtime.ts";
import type { PackageDefinition } from "../define.ts";
import type { Targets } from "../../recipes/packages.ts";
import type { Spelling } from "./push.ts";
import { linuxkitBuildFlags, linuxkitBuildOnlyFlags, linuxkitOtherFlags, linuxkitPushFlags } from "./linuxkit.ts";

// This module holds what every command needs, its flags, help texts and dispatch, and statically
// imports only what they take (plain data): each command's implementation, and what it uses (the
// package model, zod, the registry client, the signers), loads where the command runs, through
// `await import()` of a literal path (so the bundle puts it in chunks of its own, and `bun build
// --compile` finds it). A help text that needs a value of a module the command loads anyway gets
// it when the command's flags are asked for (see registryFlags). The file names in migrate's texts
// are those of lib/load.ts (BUILD_YML, CONFIG_FILE), which test/integration/startup.test.ts checks.
const BUILD_YML = "build.yml";
const CONFIG_FILE = "pkg.config.ts";

const common: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
};
const naming: Record<string, OptionSpec> = {
  org: { type: "string", value: "<org>", help: "override the org, e.g. wombat or 127.0.0.1:5000/demo (env: PKGKIT_ORG, then LINUXKIT_PKG_ORG)" },
  hash: { type: "string", value: "<hash>", help: "use this instead of the git tree hash" },
  tag: { type: "string", value: "<template>", help: "the tag template for every package, instead of its tag field: text with {{.Hash}}, or fixed text" },
  "build-yml": { type: "string", value: "<file>", help: "read this file in each package directory as its build.yml (LinuxKit's --build-yml)" },
  "hash-commit": { type: "string", value: "<commit>", help: "take the tree hashes at this commit (default HEAD); at any other commit nothing is dirty" },
  "hash-path": { type: "string", value: "<dir>", help: "hash this parent of the package directories instead of each directory (its tree and changes)" },
  "force-dirty": { type: "boolean", help: "treat every package as dirty: its tag ends in -dirty-<content hash>" },
  dev: { type: "boolean", help: "LinuxKit's dev tags: org $USER (unless --org, PKGKIT_ORG or LINUXKIT_PKG_ORG) and hash \"dev\" (unless --hash)" },
  json: { type: "boolean", help: "print machine-readable JSON on stdout" },
};
const building: Record<string, OptionSpec> = {
  arches: { type: "string", value: "<a,b>", help: `build only these arches (of ${ARCHES.join(", ")}; each also as linux/<arch>)` },
  network: { type: "boolean", negatedBy: ["no-network", "nonetwork"], help: "allow network during RUN (overrides the package)" },
  "disable-cache": { type: "boolean", negatedBy: ["enable-cache"], help: "build without the build cache (overrides the package)" },
  "disable-content-trust": { type: "boolean", negatedBy: ["enable-content-trust"], help: "do not sign (overrides the package)" },
  builder: { type: "string", value: "<buildx|legacy>", help: "builder to use (default: buildx if the docker CLI has it, else legacy)" },
  builders: { type: "string", value: "<arch=engine,...>", help: "build these arches in an engine of their own, a docker endpoint (unix://, tcp://, ssh://) or context, e.g. arm64=ssh://user@arm-host or linux/arm64=<context>, or with a buildx builder of any driver, arm64=buildx:<name>; the others build locally (env: PKGKIT_BUILDERS, or LINUXKIT_BUILDERS merged under the flag per arch; workspace: builders). A tcp:// engine's TLS files: DOCKER_CERT_PATH, or the workspace's builders.<arch>.tls" },
  "source-date-epoch": { type: "string", value: "<seconds>", help: "SOURCE_DATE_EPOCH: image times after it are clamped to it, and builds get it as a build arg (default 0; env: SOURCE_DATE_EPOCH; package: sourceDateEpoch)" },
  force: { type: "boolean", help: "rebuild images that already exist (locally; for push also in the registry) and push them again" },
  verbose: { type: "level", short: "v", value: "<n>", help: "print build output, and notes on flags accepted without effect; LinuxKit's -v N: 0 quiet, 1 the default, 2 and 3 as -v" },
  jobs: { type: "string", short: "j", value: "<n>", help: "steps to run at once: independent packages and arches build in parallel (default: one per core)" },
};

/**
 * How pkgkit reaches registries: every command that talks to one takes these. Their defaults are
 * lib/options.ts's, loaded here, when a command that reaches registries is run or its help asked
 * for (it resolves its settings with that module anyway), so neither `pkgkit --help` nor show-tag
 * waits for it.
 */
async function registryFlags(): Promise<Record<string, OptionSpec>> {
  const { REGISTRY_DEFAULTS } = await import("../options.ts");
  return {
    "registry-ca": { type: "string", value: "<file,...>", help: "trust these CA certificates (PEM) for every registry, besides certs.d/<host:port>/ca.crt" },
    "insecure-registry": { type: "string", value: "<host,...>", help: "allow plain HTTP and unverified TLS for these registries (env: PKGKIT_INSECURE_REGISTRIES); loopback may use plain HTTP anyway" },
    "registry-timeout": { type: "string", value: "<duration>", help: `longest wait of one registry request for a connection, the answer, or the next chunk of a body, e.g. 30s (default ${REGISTRY_DEFAULTS.timeout}; env: PKGKIT_REGISTRY_TIMEOUT)` },
    "registry-total-timeout": { type: "string", value: "<duration>", help: `no retry of a registry request starts after this, e.g. 5m (default ${REGISTRY_DEFAULTS.total}; env: PKGKIT_REGISTRY_TOTAL_TIMEOUT)` },
    "registry-retries": { type: "string", value: "<n>", help: `retry a registry request that failed with 5xx, 429, a reset, refused or timed-out connection up to n times (default ${REGISTRY_DEFAULTS.retries}; env: PKGKIT_REGISTRY_RETRIES)` },
  };
}

/** The signing flags of push, `plan --push`, verify and doctor (what they mean: signingOptions in lib/cli/sign.ts). */
const signingFlags: Record<string, OptionSpec> = {
  signer: { type: "string", value: "<notary|sigstore>", help: "sign with this signer (overrides the package and pkgkit.yml; default notary)" },
  key: { type: "string", value: "<pem>", help: "sigstore: sign with this ECDSA P-256 private key (password, if encrypted, in $COSIGN_PASSWORD); verify: or a public key" },
  keyless: { type: "boolean", help: "sigstore: sign keylessly (Fulcio certificate for $SIGSTORE_ID_TOKEN or the CI's OIDC token)" },
};

const pushing = async (): Promise<Record<string, OptionSpec>> => ({
  "allow-dirty": { type: "boolean", help: "push packages with uncommitted changes (their tags end in -dirty-<hash>)" },
  release: { type: "string", value: "<tag>", help: "also point org/image:<tag> at each index, e.g. v1.2.3" },
  oci: { type: "boolean", help: "push OCI manifests and index (default: Docker v2 media types)" },
  ...(await registryFlags()),
  ...signingFlags,
});

/** `verify --rebuild` and what the rebuild takes (see lib/cli/rebuild.ts). */
const rebuildFlags: Record<string, OptionSpec> = {
  rebuild: { type: "boolean", help: "instead of signatures: rebuild each arch's image without cache and say whether it is the registry's, and where it differs (exit 1 if any differs)" },
  builder: { type: "string", value: "<buildx|legacy>", help: "--rebuild: builder to use (default: buildx if the docker CLI has it, else legacy)" },
  builders: { type: "string", value: "<arch=engine,...>", help: "--rebuild: build these arches in an engine of their own, as build --builders" },
  "source-date-epoch": { type: "string", value: "<seconds>", help: "--rebuild: the SOURCE_DATE_EPOCH the images were pushed with, if not the package's (default 0; env: SOURCE_DATE_EPOCH)" },
  verbose: { type: "level", short: "v", value: "<n>", help: "--rebuild: print build output" },
};

/** No directory: the workspace's packages; a quoted glob: the package directories it matches. */
const PACKAGE_ARGS = "[<dir|glob>...]";

interface CommandDef {
  summary: string;
  args: string;
  /** The command's flags; a function when their help needs a module loaded (see registryFlags). */
  options: Record<string, OptionSpec> | (() => Promise<Record<string, OptionSpec>>);
  /** Loads the command's implementation (each with `await import()`, see above) and runs it. */
  run(targets: Targets, o: ParsedOptions, how?: Spelling): Promise<number>;
}

const commands: Record<string, CommandDef> = {
  build: {
    summary: "build org/image:<tag>-<arch> for each arch into the local engine, skipping what exists",
    args: PACKAGE_ARGS,
    options: { ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitBuildOnlyFlags, ...linuxkitOtherFlags, "dry-run": { type: "boolean", help: "print the plan, build nothing" }, ...common },
    run: async (t, o) => (await import("./run.ts")).build(t, o),
  },
  push: {
    summary: "build what is missing, push org/image:<tag>-<arch> and merge them into the index org/image:<tag>",
    args: PACKAGE_ARGS,
    options: async () => ({
      ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitPushFlags, ...linuxkitOtherFlags, ...(await pushing()),
      push: { type: "boolean", help: "accepted: push pushes (`build --push` runs push, with push's options)" },
      "dry-run": { type: "boolean", help: "print the plan, build and push nothing" }, ...common,
    }),
    run: async (t, o, how) => (await import("./run.ts")).push(t, o, how),
  },
  plan: {
    summary: "show what build (or push, with --push) would do, and why, without doing it; --json writes a plan for apply",
    args: PACKAGE_ARGS,
    options: async () => ({
      ...naming, ...building, ...linuxkitBuildFlags, ...linuxkitPushFlags, ...linuxkitOtherFlags,
      push: { type: "boolean", help: "plan a push: also look up what the registry has" },
      by: { type: "string", value: "arch", help: "one plan per arch (a CI job matrix): each builds and pushes only its arch and merges it into the index" },
      ...(await pushing()), ...common,
    }),
    run: async (t, o) => (await import("./plan.ts")).planCommand(t, o),
  },
  apply: {
    summary: "run a plan written by `plan --json`, once the registry, the engines and the sources are as it saw them",
    args: "<plan.json|->",
    options: async () => ({
      arch: { type: "string", value: "<arch>", help: "with a matrix (`plan --json --by arch`): apply that arch's plan" },
      json: naming.json!,
      verbose: building.verbose!,
      jobs: building.jobs!,
      ...(await registryFlags()),
      ...common,
    }),
    async run(t, o) {
      if (t.dirs.length !== 1) throw new InputError(`apply takes exactly one plan file (or - for stdin)\n${await usage("apply")}`);
      return (await import("./apply.ts")).apply(t.dirs[0]!, o);
    },
  },
  "show-tag": {
    summary: "print org/image:<tag> for each package",
    args: PACKAGE_ARGS,
    options: { ...naming, canonical: { type: "boolean", help: "print the reference in full, as LinuxKit's --canonical: docker.io/linuxkit/foo:<tag>" }, verbose: building.verbose!, quiet: linuxkitBuildFlags.quiet!, ...common },
    run: async (t, o) => (await import("./show.ts")).showTag(t, o),
  },
  graph: {
    summary: "print the packages and the dependencies between them (with --json: nodes and edges)",
    args: PACKAGE_ARGS,
    options: { ...naming, ...common },
    run: async (t, o) => (await import("./show.ts")).graph(t, o),
  },
  verify: {
    summary: "check that the index and each per-arch image at the current tag are signed by the package's signer, and each per-arch image's attestations (SBOM, provenance) too",
    args: PACKAGE_ARGS,
    options: async () => ({
      ...naming,
      arches: { type: "string", value: "<a,b>", help: "check only these arches' images (and the index), as after push --arches" },
      ...(await registryFlags()),
      ...signingFlags,
      ...rebuildFlags,
      ...common,
    }),
    run: async (t, o) => (await import("./sign.ts")).verify(t, o),
  },
  sbom: {
    summary: "print the SBOM (SPDX 2.3 or CycloneDX 1.6 JSON) of a package's arch image at its tag, from its engine if there, else from the registry",
    args: "<dir>",
    options: async () => {
      const { json: _json, ...named } = naming;
      return {
        ...named,
        format: { type: "string", value: "<spdx|cyclonedx>", help: "the document format (default spdx: SPDX 2.3 JSON; cyclonedx: CycloneDX 1.6 JSON); its creation time is the package's SOURCE_DATE_EPOCH, as push attests it (env SOURCE_DATE_EPOCH, else the package's or workspace's sourceDateEpoch, else 0: 1970-01-01)" },
        arch: { type: "string", value: "<arch>", help: "the arch image to describe (default: the engine's arch when the package builds it, else the package's first arch)" },
        output: { type: "string", short: "o", value: "<file>", help: "write the document to this file instead of stdout" },
        oci: { type: "boolean", help: "the engine's image as push --oci exports it (OCI media types), so the digest the document names is the one push --oci gives it" },
        ...(await registryFlags()),
        ...common,
      };
    },
    run: async (t, o) => (await import("./sbom.ts")).sbom(t, o),
  },
  doctor: {
    summary: "check everything a push of the packages would need here (engines, buildx, binfmt, builders, registries: reach, TLS, login; the signer, disk); exit 1 when something needed is missing",
    args: PACKAGE_ARGS,
    // push's flags that say what a run needs: org, arches, builders, builder kind, content trust.
    options: async () => ({
      org: naming.org!, arches: building.arches!, platforms: linuxkitBuildFlags.platforms!, builders: building.builders!, builder: building.builder!, "disable-content-trust": building["disable-content-trust"]!, json: naming.json!,
      ...(await registryFlags()),
      ...signingFlags,
      ...common,
    }),
    run: async (t, o) => (await import("./doctor.ts")).doctorCommand(t, o),
  },
  migrate: {
    summary: `write the ${CONFIG_FILE} equivalent of a LinuxKit ${BUILD_YML}`,
    args: "<dir>",
    options: { force: { type: "boolean", help: `overwrite an existing ${CONFIG_FILE}` }, ...common },
    async run(t, o) {
      if (t.dirs.length !== 1) throw new InputError(`migrate takes exactly one directory\n${await usage("migrate")}`);
      return (await import("./migrate.ts")).migrate(t.dirs[0]!, o);
    },
  },
};

/** Commands that work on no package of their own, so a config file run directly does not offer them. */
const BIN_ONLY = new Set(["migrate", "apply"]);

/** A command's flags (see CommandDef.options). */
const optionsOf = async (c: CommandDef): Promise<Record<string, OptionSpec>> => (typeof c.options === "function" ? c.options() : c.options);

async function usage(name?: string, prog = "pkgkit"): Promise<string> {
  const packageFile = prog !== "pkgkit" && prog !== "pkgkit pkg";
  if (name && commands[name]) {
    const c = commands[name]!;
    return `usage: ${prog} ${name} [options]${packageFile ? "" : ` ${c.args}`}\n\n${c.summary}\n\noptions:\n${formatOptions(await optionsOf(c))}`;
  }
  const names = Object.keys(commands).filter((n) => !(packageFile && BIN_ONLY.has(n)));
  return [
    `usage: ${prog} <command> [options]${packageFile ? "" : ` ${PACKAGE_ARGS}`}`,
    "",
    "commands:",
    ...names.map((n) => `  ${n.padEnd(10)}${commands[n]!.summary}`),
    ...(packageFile ? [] : [`  ${"pkg".padEnd(10)}LinuxKit's spelling: pkgkit pkg build|push|show-tag, with LinuxKit's flags and defaults (nothing signed unless a signer is configured)`]),
    "",
    `Run '${prog} <command> --help' for a command's options.`,
    "Exit codes: 0 ok, 1 a step failed, 2 bad input (nothing was started, or a signer's prepare refused it: nothing was published), 3 apply: the plan no longer holds (nothing was started), 130/143 interrupted by SIGINT/SIGTERM.",
  ].join("\n");
}

/**
 * `linuxkit pkg <command>` → pkgkit's command of the same meaning, or why there is none. Under
 * this spelling LinuxKit's current defaults hold (see Spelling): nothing signs unless a signer
 * is configured, since LinuxKit removed content trust.
 */
const LINUXKIT_COMMANDS: Record<string, string | { instead: string }> = {
  build: "build",
  push: "push",
  "show-tag": "show-tag",
  manifest: { instead: "pkgkit push merges each arch it pushes into the multi-arch index itself; `pkgkit push <dir>` updates it (what exists is skipped)" },
  "remote-tag": { instead: "`pkgkit push --release <tag> <dir>` points org/image:<tag> at the package's index" },
  builder: { instead: "pkgkit builds with the engine's own BuildKit (docker buildx, docker driver): there is no builder container to manage" },
};

async function dispatch(argv: string[], prog: string, defs?: PackageDefinition[]): Promise<number> {
  if (argv[0] === "pkg" && !defs) return dispatchLinuxkit(argv.slice(1), prog);
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await usage(rest[0], prog));
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const command = commands[asPush(name, rest)];
  if (!command || (defs && BIN_ONLY.has(name))) throw new InputError(`unknown command ${JSON.stringify(name)}\n${await usage(undefined, prog)}`);
  const help = await usage(name, prog);
  const { options, positionals } = parseArgs(rest, await optionsOf(command), help);
  if (options.help) {
    console.log(help);
    return ExitCode.ok;
  }
  if (defs && positionals.length) throw new InputError(`unexpected argument ${JSON.stringify(positionals[0])}: ${prog} works on its own package\n${help}`);
  return command.run({ dirs: positionals, defs }, options);
}

/** LinuxKit's `build --push` is push, with push's options (`--release`, signing, registries). */
const asPush = (name: string, args: string[]) => (name === "build" && args.some((a) => /^--?push(=true)?$/.test(a)) ? "push" : name);

/** `pkgkit pkg <command> ...`: LinuxKit's spelling, with LinuxKit's defaults. */
async function dispatchLinuxkit(argv: string[], prog: string): Promise<number> {
  const [name, ...rest] = argv;
  const list = `pkgkit pkg takes LinuxKit's pkg commands: ${Object.keys(LINUXKIT_COMMANDS).filter((c) => typeof LINUXKIT_COMMANDS[c] === "string").join(", ")}`;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(rest[0] && typeof LINUXKIT_COMMANDS[rest[0]] === "string" ? await usage(LINUXKIT_COMMANDS[rest[0]] as string, `${prog} pkg`) : `${list}; as \`pkgkit <command>\`, except that nothing is signed unless a signer is configured (--signer, --key, --keyless, a package's or workspace's signer, pkgkit.yml), as in LinuxKit, which removed content trust.\n\n${await usage(undefined, prog)}`);
    return name ? ExitCode.ok : ExitCode.usage;
  }
  const mapped = LINUXKIT_COMMANDS[name];
  if (mapped === undefined) throw new InputError(`unknown command ${JSON.stringify(`pkg ${name}`)}: ${list}`);
  if (typeof mapped !== "string") throw new InputError(`pkg ${name}: not a pkgkit command: ${mapped.instead}`);
  const command = commands[asPush(mapped, rest)]!;
  const help = await usage(mapped, `${prog} pkg`);
  const { options, positionals } = parseArgs(rest, await optionsOf(command), help);
  if (options.help) {
    console.log(help);
    return ExitCode.ok;
  }
  return command.run({ dirs: positionals }, options, { linuxkit: true });
}

/** After an interrupt, registry requests may still be in flight: they are abandoned, not awaited. */
function exitWith(code: number): void {
  if (code > 128) process.exit(code);
  process.exitCode = code;
}

export function exitWithError(err: unknown): never {
  if (isPkgkitError(err)) {
    console.error(`pkgkit: ${errorText(err)}`);
    process.exit(err.exitCode);
  }
  console.error(err);
  process.exit(ExitCode.failed);
}

/** Entry point of the `pkgkit` bin. */
export async function main(argv = scriptArgs()): Promise<void> {
  try {
    exitWith(await dispatch(argv, "pkgkit"));
  } catch (err) {
    exitWithError(err);
  }
}

/** Entry point when a pkg.config.ts is run directly: its package(s), no directories. */
export async function runPackageFile(defs: PackageDefinition[], argv = scriptArgs()): Promise<void> {
  const file = defs[0]!.file;
  try {
    exitWith(await dispatch(argv, relative(process.cwd(), file) || file, defs));
  } catch (err) {
    exitWithError(err);
  }
}
