/**
 * Precedence, written down once: for every setting, the first of these that sets it wins:
 *   flag (command line, or the same option given in code) > environment (PKGKIT_*, then LinuxKit's
 *   LINUXKIT_* where pkgkit reads one) > the package
 *   file (pkg.config.ts / build.yml) > the workspace (pkgkit.config.ts, for packages inside its
 *   directory) > the default.
 * Not every setting has every source; each function below takes the sources it has, explicitly,
 * and returns the value with where it came from, so that a bad value is reported naming its source
 * (`PKGKIT_ORG "x": ...`). Pure: no I/O. The signer is resolved in lib/sign/config.ts (it merges
 * settings from several places rather than picking one); everything else is resolved here.
 */
import { InputError, redactUrlPasswords } from "./errors.ts";
import { ARCHES, checkOrg, redactOrg, tagRe, type Arch } from "./names.ts";
import { DEFAULT_ARCHES, DEFAULT_ORG, MAX_SOURCE_DATE_EPOCH } from "./spec.ts";
import { parseTagTemplate, TAG_TEMPLATE_FORM } from "./tagtemplate.ts";
import { isAbsolute, join, resolve } from "node:path";

/** Parsed command-line options (or the same options given in code), by long name. */
export type Flags = Readonly<Record<string, string | boolean | string[] | undefined>>;
/** Environment variables (`process.env`, or a record in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where a setting's value came from. */
export type SourceKind = "flag" | "env" | "file" | "workspace" | "default";

/**
 * A setting's value and where it came from: `name` is how messages name the source, e.g.
 * "--org", "PKGKIT_ORG", the package file or the workspace file, or "default".
 */
export interface Setting<T> {
  value: T;
  from: SourceKind;
  name: string;
}

/** A setting as a file (a package file or a workspace's pkgkit.config.ts) sets it, or not. */
export interface FileValue<T> {
  /** The file, for messages. */
  file: string;
  /** Undefined when the file does not set it. */
  value: T | undefined;
}

/** Defaults a workspace (pkgkit.config.ts) sets for the packages inside its directory. */
export interface WorkspaceDefaults {
  /** The workspace directory, absolute. */
  dir: string;
  /** The workspace's pkgkit.config.ts, for messages. */
  file?: string;
  org?: string;
  arches?: Arch[];
  /** Who signs packages that name no signer themselves (before pkgkit.yml; see lib/sign/config.ts). */
  signer?: "notary" | "sigstore";
  /** false: its packages attach no attestations unless their own file says `attest: true`. */
  attest?: boolean;
  /** Engine (endpoint or docker context, or a tcp:// endpoint with its TLS files) or `buildx:<name>` per arch, as written: see resolveBuilders. */
  builders?: Partial<Record<Arch, BuilderEntry>>;
  /** SOURCE_DATE_EPOCH for packages that set none: see resolveSourceDateEpoch. */
  sourceDateEpoch?: number;
}

/** Overrides that apply to every package of a run (command line, environment, code). */
export interface ResolveOptions {
  org?: string;
  /** Where `org` came from, as messages name it (default "--org"), e.g. "PKGKIT_ORG". */
  orgSource?: string;
  /** Use this instead of the computed content hash. */
  hash?: string;
  /** The tag template for every package, instead of each one's `tag` (`--tag`). */
  tag?: string;
  /** The commit trees are taken at (`--hash-commit`, default HEAD); at any other, nothing is dirty. */
  hashCommit?: string;
  /** A directory above the packages whose tree and changes name them (`--hash-path`), absolute. */
  hashPath?: string;
  /** Dirty even when clean: the tag gets the `-dirty-<content hash>` suffix (`--force-dirty`). */
  forceDirty?: boolean;
  /** The package file of each directory given, read as a build.yml (`--build-yml`), relative to the directory. */
  buildYml?: string;
  /** Build only these arches (each must be one the package declares). */
  arches?: Arch[];
  /** Build none of these, whatever the package declares (`--skip-platforms`); a package left with none is not built. */
  skipArches?: Arch[];
  /** Build with this Dockerfile, relative to each package directory, instead of the package's (`--dockerfile`). */
  dockerfile?: string;
  /** Build args over the packages' own (`--build-arg-file`); they do not change tags, as in LinuxKit. */
  buildArgs?: Record<string, string>;
  network?: boolean;
  disableCache?: boolean;
  disableContentTrust?: boolean;
  /** SOURCE_DATE_EPOCH for every package (`--source-date-epoch`, or the variable): see resolveSourceDateEpoch. */
  sourceDateEpoch?: number;
  /** Defaults for packages that do not set `org` or `arches` themselves. */
  workspace?: WorkspaceDefaults;
  /**
   * Only the tags are wanted (show-tag): git is not asked for what only a build uses, HEAD's date
   * (the GOPKGVERSION build arg) and remote.origin.url (the source label), which the packages then
   * lack. Two git processes fewer for a clean package; default false.
   */
  tagsOnly?: boolean;
  /**
   * Check each package's extra sources on disk (lib/contain.ts) before git is asked about them,
   * so a bad one is reported as such. The CLI, `apply` and the recipes do; tests of pure planning need not.
   */
  checkPaths?: boolean;
}

const flag = <T>(value: T, name: string): Setting<T> => ({ value, from: "flag", name });
const fromEnv = <T>(value: T, name: string): Setting<T> => ({ value, from: "env", name });
const fromFile = <T>(f: FileValue<T> | undefined, from: "file" | "workspace"): Setting<T> | undefined =>
  f && f.value !== undefined ? { value: f.value, from, name: f.file } : undefined;
const byDefault = <T>(value: T): Setting<T> => ({ value, from: "default", name: "default" });
const stringFlag = (flags: Flags, name: string) => (typeof flags[name] === "string" ? (flags[name] as string) : undefined);
const booleanFlag = (flags: Flags, name: string) => (typeof flags[name] === "boolean" ? (flags[name] as boolean) : undefined);
/** A comma-separated list: items trimmed, empty ones dropped. */
const list = (text: string | undefined) => (text === undefined ? [] : text.split(",").map((x) => x.trim()).filter(Boolean));

// --- org: --org > PKGKIT_ORG > LINUXKIT_PKG_ORG > --dev's $USER > package file > workspace > linuxkit

/**
 * The org of every package of the run: `--org` > PKGKIT_ORG > LINUXKIT_PKG_ORG (an empty variable
 * is unset) > with `--dev`, $USER (as LinuxKit's --dev); undefined when none is set.
 */
export function runOrg(flags: Flags, env: Env): Setting<string> | undefined {
  const given = stringFlag(flags, "org");
  if (given !== undefined) return flag(given, "--org");
  for (const name of ["PKGKIT_ORG", "LINUXKIT_PKG_ORG"]) if (env[name]) return fromEnv(env[name]!, name);
  if (flags.dev !== true) return undefined;
  if (!env.USER) throw new InputError(`--dev: the org is $USER, which is not set; set USER, or give --org <org>`);
  return { value: env.USER, from: "flag", name: "--dev ($USER)" };
}

/** Throws an InputError naming the source when `org` is not a valid org (credentials in it redacted). */
export function checkOrgSetting(org: Setting<string>): void {
  const problem = checkOrg(org.value);
  if (problem === undefined) return;
  if (org.from === "file" || org.from === "workspace") throw new InputError(`${org.name}: field "org": ${problem} (got ${JSON.stringify(redactOrg(org.value))})`);
  throw new InputError(`${org.name} ${JSON.stringify(redactOrg(org.value))}: ${problem}`);
}

/** A package's org: the run's (see runOrg) > its file's > its workspace's > linuxkit. Checked. */
export function resolveOrg(run: Setting<string> | undefined, file?: FileValue<string>, workspace?: FileValue<string>): Setting<string> {
  const org = run ?? fromFile(file, "file") ?? fromFile(workspace, "workspace") ?? byDefault(DEFAULT_ORG);
  checkOrgSetting(org);
  return org;
}

// --- hash: --hash > --dev's "dev" > the content hash git gives

/** `--hash` (else with `--dev`, "dev"): used instead of the computed content hash, for every package; checked to be a tag. */
export function resolveHash(flags: Flags): Setting<string> | undefined {
  const hash = stringFlag(flags, "hash");
  if (hash === undefined) return flags.dev === true ? flag("dev", "--dev") : undefined;
  checkHash(hash);
  return flag(hash, "--hash");
}

// --- how the hash is taken: --tag, --hash-commit, --hash-path, --force-dirty (flags only, as LinuxKit)

/** `--tag <template>`: checked to be a template pkgkit can apply (lib/tagtemplate.ts). */
export function resolveTagTemplate(flags: Flags): string | undefined {
  const tag = stringFlag(flags, "tag");
  if (tag === undefined) return undefined;
  const parsed = parseTagTemplate(tag);
  if (typeof parsed === "string") throw new InputError(`--tag ${JSON.stringify(tag)}: ${parsed}; expected ${TAG_TEMPLATE_FORM}`);
  return tag;
}

/** `--hash-commit <commit>`: a revision git can read, never an option. */
export function resolveHashCommit(flags: Flags): string | undefined {
  const commit = stringFlag(flags, "hash-commit");
  if (commit !== undefined && (commit === "" || commit.startsWith("-") || /[\s\0]/.test(commit)))
    throw new InputError(`--hash-commit ${JSON.stringify(commit)}: expected a commit, branch or tag name, e.g. HEAD~1`);
  return commit;
}

/** `--build-yml <file>`: a relative path (LinuxKit joins it to each package directory). */
export function resolveBuildYml(flags: Flags): string | undefined {
  const file = stringFlag(flags, "build-yml");
  if (file !== undefined && (file === "" || isAbsolute(file)))
    throw new InputError(`--build-yml ${JSON.stringify(file)}: expected a file name relative to each package directory, e.g. build-kernel.yml`);
  return file;
}

/** Throws an InputError naming --hash unless `hash` can be (part of) a tag. */
export function checkHash(hash: string): void {
  if (!tagRe.test(hash)) throw new InputError(`--hash ${JSON.stringify(hash)}: expected a tag: letters, digits, "_", "." and "-", at most 128 characters`);
}

// --- arches: --arches selects among the package's, which are its file's > its workspace's > amd64, arm64

/** `amd64` or LinuxKit's `linux/amd64` → the arch; undefined when it is neither. */
export function archOf(text: string): Arch | undefined {
  const arch = text.startsWith("linux/") ? text.slice("linux/".length) : text;
  return (ARCHES as string[]).includes(arch) ? (arch as Arch) : undefined;
}

/** A comma-separated list of arches, each `amd64` or `linux/amd64`; `source` names the flag for the error. */
function parseArches(text: string, source: string): Arch[] {
  const items = list(text);
  const arches = items.map(archOf);
  if (arches.length === 0 || arches.some((a) => a === undefined))
    throw new InputError(`${source} ${JSON.stringify(text)}: expected a comma-separated list of ${ARCHES.join(", ")}, each also as linux/<arch>`);
  return arches as Arch[];
}

/**
 * The arches to build: `--arches a,b` or LinuxKit's `--platforms linux/a,linux/b` (either
 * spelling in both; not both flags); undefined when neither is given.
 */
export function runArches(flags: Flags): Arch[] | undefined {
  const arches = stringFlag(flags, "arches");
  const platforms = stringFlag(flags, "platforms");
  if (arches !== undefined && platforms !== undefined) throw new InputError(`--arches and --platforms say the same thing; give one of them`);
  if (arches !== undefined) return parseArches(arches, "--arches");
  return platforms === undefined ? undefined : parseArches(platforms, "--platforms");
}

/** `--skip-platforms linux/a,...` (LinuxKit's): arches no package builds; not with --platforms or --arches, as in LinuxKit. */
export function runSkipArches(flags: Flags): Arch[] | undefined {
  const skip = stringFlag(flags, "skip-platforms");
  if (skip === undefined) return undefined;
  const selecting = ["platforms", "arches"].find((f) => stringFlag(flags, f) !== undefined);
  if (selecting) throw new InputError(`--skip-platforms and --${selecting} may not be used together: --${selecting} names every arch to build already`);
  return parseArches(skip, "--skip-platforms");
}

/** The arches a package declares: its file's > its workspace's > the default. */
export function declaredArches(file?: FileValue<Arch[]>, workspace?: FileValue<Arch[]>): Setting<Arch[]> {
  return fromFile(file, "file") ?? fromFile(workspace, "workspace") ?? byDefault(DEFAULT_ARCHES);
}

/**
 * The arches a package builds: `--arches` (each must be declared by a package asked for; a
 * dependency keeps those of them it has, else all it declares), else the declared ones without
 * those `--skip-platforms` names (maybe none: LinuxKit then skips the package, and so does pkgkit).
 */
export function resolveArches(run: Arch[] | undefined, declared: Setting<Arch[]>, pkg: { file: string; asked: boolean }, skip?: Arch[]): Setting<Arch[]> {
  if (!run) return skip?.some((a) => declared.value.includes(a)) ? flag(declared.value.filter((a) => !skip.includes(a)), "--skip-platforms") : declared;
  if (!pkg.asked) {
    const common = declared.value.filter((a) => run.includes(a));
    return common.length > 0 ? flag(common, "--arches") : declared;
  }
  const unknown = run.filter((a) => !declared.value.includes(a));
  if (unknown.length > 0) throw new InputError(`--arches ${unknown.join(",")}: ${pkg.file} builds only for ${declared.value.join(", ")}`);
  return flag(run, "--arches");
}

// --- network, disableCache, disableContentTrust: the flag (or code) > the package file > false

/** `--network` / `--no-network` > the package's `network` > false. */
export const resolveNetwork = (run: boolean | undefined, file?: FileValue<boolean>) => booleanSetting(run, "--network", file);
/** `--disable-cache` / `--enable-cache` > the package's `disableCache` > false. */
export const resolveDisableCache = (run: boolean | undefined, file?: FileValue<boolean>) => booleanSetting(run, "--disable-cache", file);
/** `--disable-content-trust` / `--enable-content-trust` > the package's `disableContentTrust` > false. */
export const resolveDisableContentTrust = (run: boolean | undefined, file?: FileValue<boolean>) => booleanSetting(run, "--disable-content-trust", file);

/**
 * Whether a package's push attaches attestations (SBOM, provenance) when it signs: its file's
 * `attest` > its workspace's `attest` > true. The run's `--sbom-scanner false` turns them off for
 * every package (a plan input, see PlanOptions.attestations).
 */
export const resolveAttest = (file?: FileValue<boolean>, workspace?: FileValue<boolean>): Setting<boolean> =>
  fromFile(file, "file") ?? fromFile(workspace, "workspace") ?? byDefault(true);

function booleanSetting(run: boolean | undefined, name: string, file?: FileValue<boolean>): Setting<boolean> {
  return run !== undefined ? flag(run, name) : (fromFile(file, "file") ?? byDefault(false));
}

// --- SOURCE_DATE_EPOCH: --source-date-epoch > SOURCE_DATE_EPOCH > the package's > the workspace's sourceDateEpoch > 0

const EPOCH_FORM = `whole seconds since 1970-01-01 UTC, from 0 to ${MAX_SOURCE_DATE_EPOCH}, e.g. 1700000000 (\`git log -1 --format=%ct\`)`;

/** `--source-date-epoch` > SOURCE_DATE_EPOCH (an empty variable is unset); undefined when neither is set. Checked. */
export function runSourceDateEpoch(flags: Flags, env: Env): Setting<number> | undefined {
  const given = stringFlag(flags, "source-date-epoch");
  const setting = given !== undefined ? flag(given, "--source-date-epoch") : env.SOURCE_DATE_EPOCH ? fromEnv(env.SOURCE_DATE_EPOCH, "SOURCE_DATE_EPOCH") : undefined;
  if (!setting) return undefined;
  const n = /^\d{1,12}$/.test(setting.value.trim()) ? Number(setting.value.trim()) : NaN;
  if (!(n <= MAX_SOURCE_DATE_EPOCH)) throw new InputError(`${setting.name} ${JSON.stringify(setting.value)}: expected ${EPOCH_FORM}`);
  return { ...setting, value: n };
}

/**
 * The epoch a package's image times are clamped to: the run's (see runSourceDateEpoch) > its
 * file's `sourceDateEpoch` > its workspace's > 0, so by default an image is a function of its
 * tag's inputs alone.
 */
export function resolveSourceDateEpoch(run: number | undefined, file?: FileValue<number>, workspace?: FileValue<number>): Setting<number> {
  return run !== undefined ? flag(run, "--source-date-epoch") : (fromFile(file, "file") ?? fromFile(workspace, "workspace") ?? byDefault(0));
}

const definedOnly = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * Flags and environment → the overrides packages resolve with (see lib/package.ts). `cwd` makes
 * `--hash-path` absolute.
 */
export function resolveOptions(flags: Flags, env: Env, cwd = "."): ResolveOptions {
  const arches = runArches(flags);
  const skipArches = runSkipArches(flags);
  const dockerfile = resolveDockerfile(flags);
  const org = runOrg(flags, env);
  const hashPath = stringFlag(flags, "hash-path");
  return {
    org: org?.value,
    ...(org && org.name !== "--org" ? { orgSource: org.name } : {}),
    hash: resolveHash(flags)?.value,
    ...definedOnly({
      tag: resolveTagTemplate(flags),
      hashCommit: resolveHashCommit(flags),
      hashPath: hashPath === undefined ? undefined : resolve(cwd, hashPath),
      forceDirty: booleanFlag(flags, "force-dirty"),
      buildYml: resolveBuildYml(flags),
    }),
    arches,
    ...(skipArches ? { skipArches } : {}),
    ...(dockerfile !== undefined ? { dockerfile } : {}),
    network: booleanFlag(flags, "network"),
    disableCache: booleanFlag(flags, "disable-cache"),
    disableContentTrust: booleanFlag(flags, "disable-content-trust"),
    ...definedOnly({ sourceDateEpoch: runSourceDateEpoch(flags, env)?.value }),
  };
}

// --- builder kind: --builder > detected (buildx when the docker CLI has it, else legacy)

/** The builder kinds pkgkit has (lib/builder.ts makes them). */
export const BUILDER_KIND_NAMES = ["buildx", "legacy"] as const;
/** `buildx` or `legacy`. */
export type BuilderKind = (typeof BUILDER_KIND_NAMES)[number];

/** `--builder`; undefined when not given (then the kind is detected, see detectBuilderKind). */
export function resolveBuilderKind(flags: Flags): Setting<BuilderKind> | undefined {
  const given = flags.builder;
  if (given === undefined) return undefined;
  if (!(BUILDER_KIND_NAMES as readonly unknown[]).includes(given)) throw new InputError(`--builder ${JSON.stringify(given)}: expected buildx or legacy`);
  return flag(given as BuilderKind, "--builder");
}

// --- builders (per-arch engines): --builders > PKGKIT_BUILDERS > the workspace's builders, as a whole

/**
 * Where a builder's engine is: an endpoint (`docker --host`: unix://, tcp://, ssh://) or the name
 * of a docker context (`docker --context`; `docker context ls` lists them).
 */
export type Engine = { host: string; tls?: EngineTls } | { context: string };

/**
 * Mutual TLS with a tcp:// engine, as files (docker's `--tlscacert`, `--tlscert`, `--tlskey`): the
 * CA that signed the engine's certificate, and the client certificate and key the engine trusts.
 * Without them the docker CLI reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH ({ca,cert,key}.pem).
 */
export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
  /** Where they were named, for messages: DOCKER_CERT_PATH, or a workspace file and field. */
  from?: string;
}

/** A builder as a workspace writes it: an endpoint or context name, or an endpoint with its TLS files. */
export type BuilderEntry = string | { host: string; tls?: EngineTls };

const ENDPOINT_RE = /^(unix|tcp|ssh):\/\/[^\s,]+$/;
/** Docker's own rule for context names. */
const CONTEXT_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;
/** The form of a `--builders` list, for messages. */
export const BUILDERS_FORM = "arch=<endpoint|context|buildx:<name>>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock,riscv64=buildx:k8s";

/**
 * Where an arch builds: in an engine (see Engine), or with a named buildx builder
 * (`buildx:<name>`, as `docker buildx ls` lists it; `docker buildx build --builder <name>`),
 * whatever its driver (lib/buildx-driver.ts finds it).
 */
export type BuilderTarget = Engine | { buildx: string };

const BUILDX_PREFIX = "buildx:";
/** buildx's own rule for builder names (a docker context's name is one too). */
const BUILDX_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

/** An endpoint, a context name or `buildx:<name>` → BuilderTarget, or what is wrong with it. */
export function parseBuilderTarget(value: string): BuilderTarget | { problem: string } {
  if (!value.startsWith(BUILDX_PREFIX)) return parseEngine(value);
  const name = value.slice(BUILDX_PREFIX.length);
  if (BUILDX_NAME_RE.test(name)) return { buildx: name };
  return { problem: `${JSON.stringify(value)}: expected buildx:<name>, the name of a buildx builder as \`docker buildx ls\` lists it (letters, digits, "_", ".", "+", "-")` };
}

/** How a builder target is written: the endpoint, the context name, or `buildx:<name>`. */
export const targetName = (t: BuilderTarget): string => ("buildx" in t ? `${BUILDX_PREFIX}${t.buildx}` : engineName(t));

/** An endpoint or a context name → Engine, or what is wrong with it. */
export function parseEngine(value: string): Engine | { problem: string } {
  if (value.trim() === "") return { problem: "no engine given; expected an endpoint (unix://, tcp://, ssh://) or a docker context name" };
  if (value.includes("://")) {
    if (redactUrlPasswords(value) !== value)
      return { problem: `${JSON.stringify(redactUrlPasswords(value))}: an engine endpoint must not hold a password; use an SSH key or agent (ssh://user@host), or TLS (tcp://)` };
    if (ENDPOINT_RE.test(value)) return { host: value };
    return { problem: `${JSON.stringify(value)} is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>` };
  }
  if (CONTEXT_RE.test(value)) return { context: value };
  return { problem: `${JSON.stringify(value)} is neither an engine endpoint (unix://, tcp://, ssh://) nor a docker context name (letters, digits, "_", ".", "+", "-")` };
}

/** The endpoint or context name of an engine, as given. */
export const engineName = (e: Engine): string => ("host" in e ? e.host : e.context);

/**
 * `arm64=ssh://arm-host,amd64=my-context,riscv64=buildx:k8s` → a BuilderTarget per arch. `source`
 * names where the text came from (`--builders`, `PKGKIT_BUILDERS`) for the error, an InputError.
 */
export function parseBuilders(text: string, source: string): Partial<Record<Arch, BuilderTarget>> {
  const engines: Partial<Record<Arch, BuilderTarget>> = {};
  const bad = (why: string) => new InputError(`${source} ${JSON.stringify(redactUrlPasswords(text))}: ${why}; expected ${BUILDERS_FORM}`);
  const entries = list(text);
  if (entries.length === 0) throw bad("no builder given");
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq < 0) throw bad(`${JSON.stringify(entry)} is not arch=<endpoint|context|buildx:<name>>`);
    const given = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    const arch = archOf(given);
    if (!arch) throw bad(`${JSON.stringify(given)} is not an arch pkgkit builds for (${ARCHES.join(", ")}, each also as linux/<arch>)`);
    if (engines[arch as Arch]) throw bad(`${arch} is given twice`);
    if (value === "") throw bad(`no engine for ${arch}`);
    const engine = parseBuilderTarget(value);
    if ("problem" in engine) throw bad(engine.problem);
    engines[arch as Arch] = engine;
  }
  return engines;
}

/**
 * Which arches build in an engine of their own or with a named buildx builder: `--builders` > PKGKIT_BUILDERS > LINUXKIT_BUILDERS
 * (an empty variable is unset) > the workspace's `builders`. The first one set applies as a whole,
 * except that, as in LinuxKit, `--builders` is merged over LINUXKIT_BUILDERS per arch (when
 * PKGKIT_BUILDERS is not set): `LINUXKIT_BUILDERS=linux/arm64=a,linux/riscv64=b --builders
 * linux/arm64=c` builds arm64 with c and riscv64 with b. Same syntax for the flags and the
 * variables (`arm64` or `linux/arm64`); a bad value names where it came from. A tcp:// engine
 * speaks mutual TLS with its workspace entry's `tls` files, else DOCKER_CERT_PATH's (withCertPath).
 * LinuxKit's values are docker context names, in each of which it runs a BuildKit container of its
 * own; `buildx:<name>` is pkgkit's, read from every source alike.
 */
export function resolveBuilders(flags: Flags, env: Env, workspace?: FileValue<Partial<Record<Arch, BuilderEntry>>>): Setting<Partial<Record<Arch, BuilderTarget>>> {
  const chosen = chooseBuilders(flags, env, workspace);
  return { ...chosen, value: withCertPath(chosen.value, env) };
}

function chooseBuilders(flags: Flags, env: Env, workspace?: FileValue<Partial<Record<Arch, BuilderEntry>>>): Setting<Partial<Record<Arch, BuilderTarget>>> {
  const given = stringFlag(flags, "builders");
  const linuxkit = !env.PKGKIT_BUILDERS && env.LINUXKIT_BUILDERS ? parseBuilders(env.LINUXKIT_BUILDERS, "LINUXKIT_BUILDERS") : undefined;
  if (given !== undefined) {
    const engines = parseBuilders(given, "--builders");
    return linuxkit ? flag({ ...linuxkit, ...engines }, "--builders over LINUXKIT_BUILDERS") : flag(engines, "--builders");
  }
  if (env.PKGKIT_BUILDERS) return fromEnv(parseBuilders(env.PKGKIT_BUILDERS, "PKGKIT_BUILDERS"), "PKGKIT_BUILDERS");
  if (linuxkit) return fromEnv(linuxkit, "LINUXKIT_BUILDERS");
  const written = fromFile(workspace, "workspace");
  if (!written) return byDefault({});
  const engines: Partial<Record<Arch, BuilderTarget>> = {};
  for (const [arch, entry] of Object.entries(written.value)) {
    const field = typeof entry === "string" ? `builders.${arch}` : `builders.${arch}.host`;
    const engine = typeof entry === "string" ? parseBuilderTarget(entry) : parseEngine(entry.host);
    // The workspace schema checks these when the file loads; a workspace made in code may not have been.
    if ("problem" in engine) throw new InputError(`${written.name}: field "${field}": ${engine.problem}`);
    const tls = typeof entry === "string" ? undefined : entry.tls;
    if (!tls || "buildx" in engine) {
      engines[arch as Arch] = engine;
      continue;
    }
    const problem = tlsProblem(engine, tls);
    if (problem) throw new InputError(`${written.name}: field "builders.${arch}.tls": ${problem}`);
    engines[arch as Arch] = { ...engine, tls: { ...tls, from: `${written.name}: field "builders.${arch}.tls"` } };
  }
  return { ...written, value: engines };
}

/**
 * tcp:// engines without TLS files of their own take DOCKER_CERT_PATH's ({ca,cert,key}.pem), as
 * docker flags of that engine's commands only: DOCKER_TLS_VERIFY would also reach the local
 * engine's `docker buildx`, which then fails on its unix socket (buildx 0.20).
 */
function withCertPath(engines: Partial<Record<Arch, BuilderTarget>>, env: Env): Partial<Record<Arch, BuilderTarget>> {
  const dir = env.DOCKER_CERT_PATH;
  if (!dir) return engines;
  const abs = resolve(dir);
  const tls = { ca: join(abs, "ca.pem"), cert: join(abs, "cert.pem"), key: join(abs, "key.pem"), from: "DOCKER_CERT_PATH" };
  return Object.fromEntries(
    Object.entries(engines).map(([arch, e]) => [arch, "host" in e && e.host.startsWith("tcp://") && !e.tls ? { ...e, tls } : e]),
  );
}

/** The form of a builder's `tls`, for messages. */
export const TLS_FORM = "expected { ca, cert, key }: paths of the CA's certificate, the client certificate and its key (PEM files)";

/** What is wrong with TLS files for `engine`: only a tcp:// endpoint speaks TLS, and it needs all three. */
export function tlsProblem(engine: Engine, tls: object): string | undefined {
  const given = tls as Readonly<Record<string, unknown>>;
  if (!("host" in engine) || !engine.host.startsWith("tcp://"))
    return `TLS files are for a tcp:// engine, not ${JSON.stringify(engineName(engine))}; an ssh:// engine authenticates with ssh keys (~/.ssh/config, the agent), a docker context carries its own TLS`;
  const unknown = Object.keys(given).filter((k) => !["ca", "cert", "key", "from"].includes(k));
  if (unknown.length > 0) return `unknown field ${unknown.map((k) => JSON.stringify(k)).join(", ")}; ${TLS_FORM}`;
  const missing = (["ca", "cert", "key"] as const).filter((k) => typeof given[k] !== "string" || given[k] === "");
  if (missing.length > 0) return `missing ${missing.join(", ")}; ${TLS_FORM}`;
  return undefined;
}

/** Where each arch's builder was given, as messages name it (see Settings.engineSources). */
function builderSources(setting: Setting<Partial<Record<Arch, BuilderTarget>>>): Partial<Record<Arch, string>> {
  return Object.fromEntries(
    Object.entries(setting.value).map(([arch, t]) => [
      arch,
      setting.from === "workspace" ? `${setting.name}: field "builders.${arch}"` : `${setting.name} "${arch}=${targetName(t!)}"`,
    ]),
  );
}

// --- registries: --registry-* > PKGKIT_REGISTRY_* > defaults; insecure: the flag's and the variable's

/** How long registry requests may take and how often they are retried, unless flags or environment say. */
export const REGISTRY_DEFAULTS = { timeout: "15s", total: "60s", retries: 3 };

/** `500ms`, `30s`, `5m`, `1h` (a bare number is seconds) → ms; undefined when not one, or outside 1 ms..24 h. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"]);
  return ms >= 1 && ms <= 86_400_000 ? ms : undefined;
}

/** Registry request bounds: each `--registry-timeout` etc. > PKGKIT_REGISTRY_* (an empty one is unset) > REGISTRY_DEFAULTS. */
export interface RegistryBounds {
  requestMs: Setting<number>;
  totalMs: Setting<number>;
  retries: Setting<number>;
}

/** `--registry-timeout` etc. > PKGKIT_REGISTRY_* > defaults; a bad value names the flag or variable it came from. */
export function registryBounds(flags: Flags, env: Env): RegistryBounds {
  const setting = (name: string, variable: string, fallback: string): Setting<string> => {
    const given = stringFlag(flags, name);
    if (given !== undefined) return flag(given, `--${name}`);
    return env[variable] ? fromEnv(env[variable]!, variable) : byDefault(fallback);
  };
  const duration = (name: string, variable: string, fallback: string): Setting<number> => {
    const s = setting(name, variable, fallback);
    const ms = parseDuration(s.value);
    if (ms === undefined) throw new InputError(`${s.name} ${JSON.stringify(s.value)}: expected a duration of 1ms to 24h, such as 500ms, 30s or 5m`);
    return { ...s, value: ms };
  };
  const retries = setting("registry-retries", "PKGKIT_REGISTRY_RETRIES", String(REGISTRY_DEFAULTS.retries));
  if (!/^\d{1,2}$/.test(retries.value.trim()))
    throw new InputError(`${retries.name} ${JSON.stringify(retries.value)}: expected a whole number of retries from 0 to 99, such as 3`);
  return {
    requestMs: duration("registry-timeout", "PKGKIT_REGISTRY_TIMEOUT", REGISTRY_DEFAULTS.timeout),
    totalMs: duration("registry-total-timeout", "PKGKIT_REGISTRY_TOTAL_TIMEOUT", REGISTRY_DEFAULTS.total),
    retries: { ...retries, value: Number(retries.value) },
  };
}

/** Registries allowed plain HTTP and unverified TLS: `--insecure-registry`'s and PKGKIT_INSECURE_REGISTRIES' together. */
export function insecureRegistries(flags: Flags, env: Env): string[] {
  return [...list(stringFlag(flags, "insecure-registry")), ...list(env.PKGKIT_INSECURE_REGISTRIES)];
}

/** How pkgkit reaches registries, resolved (see lib/session.ts, which makes the client). */
export interface RegistrySettings {
  /** `--registry-ca` files (checked when the client is made). */
  ca: string[];
  insecure: string[];
  bounds: RegistryBounds;
}

/** `--registry-ca`, `--insecure-registry` with PKGKIT_INSECURE_REGISTRIES, and the request bounds. */
export function resolveRegistry(flags: Flags, env: Env): RegistrySettings {
  return { ca: list(stringFlag(flags, "registry-ca")), insecure: insecureRegistries(flags, env), bounds: registryBounds(flags, env) };
}

// --- LinuxKit's build flags: --dockerfile, --build-arg-file, --nobuild, --manifest, --sbom-scanner, --progress, -v N, -q

/** `--dockerfile <path>`: relative to each package directory and inside it, as LinuxKit requires; undefined when not given. */
export function resolveDockerfile(flags: Flags): string | undefined {
  const given = stringFlag(flags, "dockerfile");
  if (given === undefined) return undefined;
  if (given === "" || given.startsWith("/") || given.split("/").includes(".."))
    throw new InputError(`--dockerfile ${JSON.stringify(given)}: expected a path relative to each package directory and inside it (no leading "/", no ".."), e.g. Dockerfile.dev`);
  return given;
}

/**
 * One `--build-arg-file`'s text → its build args: a `KEY=value` per line (both trimmed, as LinuxKit
 * reads them), blank lines skipped. LinuxKit's "@lkt:" values (another package's tag) are refused:
 * pkgkit folds dependencies into tags, so they belong in the package's own build args.
 */
export function parseBuildArgFile(text: string, file: string): Record<string, string> {
  const args: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const eq = line.indexOf("=");
    const where = `--build-arg-file ${file}: line ${i + 1}`;
    if (eq <= 0) throw new InputError(`${where}: ${JSON.stringify(line)}: expected KEY=value`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new InputError(`${where}: ${JSON.stringify(key)}: expected a build arg name (letters, digits and "_")`);
    if (value.startsWith("@lkt:"))
      throw new InputError(`${where}: ${key}=${value}: a package reference; put it in the package's build args (build.yml buildArgs or pkg.config.ts), where pkgkit folds its tag into the package's`);
    args[key] = value;
  });
  return args;
}

/** Every `--build-arg-file`, in order, later files overriding earlier ones (as LinuxKit); `read` gives a file's text. */
export function resolveBuildArgFiles(flags: Flags, read: (file: string) => string): Record<string, string> | undefined {
  const files = flags["build-arg-file"];
  const given = typeof files === "string" ? [files] : Array.isArray(files) ? files : [];
  if (given.length === 0) return undefined;
  return Object.assign({}, ...given.map((f) => parseBuildArgFile(read(f), f))) as Record<string, string>;
}

/**
 * How a push or build of LinuxKit's flags treats what exists: `--nobuild` (push only: build
 * nothing, push what the engine has), `--manifest=false` (push only: no multi-arch index);
 * `--force` conflicts with `--nobuild` and with `--pull`, as in LinuxKit.
 */
export function resolveBuildMode(flags: Flags): { nobuild: boolean; manifest: boolean } {
  const force = booleanFlag(flags, "force") === true;
  if (force && booleanFlag(flags, "nobuild")) throw new InputError("--force and --nobuild conflict: --force rebuilds, --nobuild builds nothing");
  if (force && booleanFlag(flags, "pull")) throw new InputError("--force and --pull conflict: --force rebuilds, --pull takes the registry's image instead of building");
  return { nobuild: booleanFlag(flags, "nobuild") === true, manifest: booleanFlag(flags, "manifest") !== false };
}

/**
 * `--sbom-scanner`: `false` turns attestations off: the builder's (buildx `--provenance=false
 * --sbom=false`) and those a push attaches (SBOM, provenance; see resolveAttest for the
 * package's own switch); any other value (a scanner image) changes nothing, as pkgkit makes its
 * SBOM itself. Returns whether attestations stay on.
 */
export function resolveAttestations(flags: Flags): Setting<boolean> {
  const scanner = stringFlag(flags, "sbom-scanner");
  return scanner === "false" ? flag(false, "--sbom-scanner") : byDefault(true);
}

/** LinuxKit's `--progress` values. */
export const PROGRESS_VALUES = ["auto", "plain", "tty"] as const;

/**
 * How much a command prints. From LinuxKit's `-v N` (0 quiet, 1 info, the default, 2 debug,
 * 3 trace), `-q`, `--progress plain` (show build output) and pkgkit's bare `-v` (print build output).
 * `buildOutput`: every line of build output; `notes`: why flags without effect were accepted
 * (both with `-v` alone or `-v 2`, `-v 3`).
 */
export interface Verbosity {
  quiet: boolean;
  buildOutput: boolean;
  notes: boolean;
}

/** `-q`, `-v [N]`, `--progress`; `-q` with `-v 1` or more is refused, as in LinuxKit. */
export function resolveVerbosity(flags: Flags): Verbosity {
  const v = flags.verbose;
  const level = v === true ? "bare" : typeof v === "string" ? Number(v) : undefined;
  if (typeof level === "number" && !(level >= 0 && level <= 3)) throw new InputError(`--verbose ${v}: expected 0 (quiet), 1 (the default), 2 or 3 (build output and notes), or -v alone (build output)`);
  const quiet = booleanFlag(flags, "quiet") === true;
  if (quiet && level !== undefined && level !== 0) throw new InputError(`-q and -v ${level === "bare" ? "" : level}`.trimEnd() + ": quiet and verbose at once; give one");
  const progress = stringFlag(flags, "progress");
  if (progress !== undefined && !(PROGRESS_VALUES as readonly string[]).includes(progress))
    throw new InputError(`--progress ${JSON.stringify(progress)}: expected ${PROGRESS_VALUES.join(", ")}`);
  const loud = level === "bare" || (typeof level === "number" && level >= 2);
  return { quiet: quiet || level === 0, buildOutput: loud || progress === "plain", notes: loud };
}

// --- release: --release (no other source)

/** `--release <tag>`: also point org/image:<tag> at each index; checked to be a tag. */
export function resolveRelease(flags: Flags): string | undefined {
  const release = stringFlag(flags, "release");
  if (release !== undefined && !tagRe.test(release))
    throw new InputError(`--release ${JSON.stringify(release)}: expected a tag: letters, digits, "_", "." and "-", at most 128 characters, e.g. v1.2.3`);
  return release;
}

// --- jobs: --jobs > one per core

/** `--jobs n`: steps running at once; undefined when not given (run() then uses one per core). */
export function resolveJobs(flags: Flags): number | undefined {
  const given = flags.jobs;
  if (given === undefined) return undefined;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1) throw new InputError(`--jobs ${JSON.stringify(given)}: expected a whole number of at least 1`);
  return n;
}

// --- a command's settings, resolved once

/** Every setting a command needs, resolved from its flags, the environment and the workspace. */
export interface Settings {
  /** How packages resolve: the run's overrides and the workspace's defaults. */
  packages: ResolveOptions;
  jobs?: number;
  /** `--builder`; absent: detected (lib/session.ts decides when). */
  builderKind?: BuilderKind;
  /** Arches that build in an engine of their own or with a named buildx builder; resolved when asked for (`builders`). */
  engines: Partial<Record<Arch, BuilderTarget>>;
  /** How messages name where each of `engines` was given: `--builders "arm64=..."`, `<file>: field "builders.arm64"`. */
  engineSources?: Partial<Record<Arch, string>>;
  /** Resolved when asked for (`registry`). */
  registry?: RegistrySettings;
}

/**
 * A command's flags + environment + the workspace (found once, by the caller) → its settings.
 * Settings a command does not use are not resolved, so a bad value in a variable it does not read
 * does not stop it: `builders` (builder kind and per-arch engines) and `registry` say which to resolve.
 */
export function resolveSettings(flags: Flags, env: Env, options: { workspace?: WorkspaceDefaults; builders?: boolean; registry?: boolean } = {}): Settings {
  const ws = options.workspace;
  const builders = options.builders ? resolveBuilders(flags, env, ws && { file: ws.file ?? ws.dir, value: ws.builders }) : undefined;
  return {
    packages: { ...resolveOptions(flags, env), ...(ws ? { workspace: ws } : {}) },
    jobs: resolveJobs(flags),
    ...(options.builders ? { builderKind: resolveBuilderKind(flags)?.value } : {}),
    engines: builders?.value ?? {},
    ...(builders ? { engineSources: builderSources(builders) } : {}),
    ...(options.registry ? { registry: resolveRegistry(flags, env) } : {}),
  };
}
