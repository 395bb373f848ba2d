/**
 * Workspaces: the packages under a directory, found without being named one by one, and the
 * optional root config `pkgkit.config.ts`:
 *
 *   export default defineWorkspace({ org: "example", arches: ["amd64"], packages: ["pkgs/*"] });
 *
 * `org` and `arches` are defaults for the packages inside the workspace directory that do not set
 * them; `packages` lists package directories as globs relative to it ("!" excludes); `builders`
 * gives arches an engine of their own (endpoint or docker context: a remote builder) or a named
 * buildx builder (`buildx:<name>`), unless
 * `--builders` or PKGKIT_BUILDERS say otherwise; `signer` signs the packages inside it that name no
 * signer themselves, unless the run says otherwise (`--signer`, `--key`, `--keyless`; before
 * pkgkit.yml, see lib/sign/config.ts). Package files are found with one `git ls-files` (so
 * .gitignore applies; outside git, a directory walk), never under node_modules.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import * as z from "zod/mini";
import { InputError, SpecError } from "./errors.ts";
import { BUILD_YML, CONFIG_FILE, importDefault } from "./load.ts";
import { ARCHES, archesSchema, orgSchema, problemsOf, sourceDateEpochSchema, type Arch } from "./spec.ts";
import { parseBuilderTarget, parseEngine, TLS_FORM, tlsProblem, type BuilderEntry, type WorkspaceDefaults } from "./options.ts";
import { globToRegExp, isGlob } from "./glob.ts";
import { callerFile, canonical } from "./runtime.ts";
import type { Shell } from "./shell.ts";

export const WORKSPACE_FILE = "pkgkit.config.ts";
export const WORKSPACE_KIND = "pkgkit.workspace";

const ENTRY_FORM = 'expected an engine endpoint, a docker context name or buildx:<name>, e.g. "ssh://user@arm-host", or { host: "tcp://host:2376", tls: { ca, cert, key } }';

/** A builder entry: an engine as a string, or `{ host, tls? }` with TLS files relative to the workspace directory. */
const builderEntrySchema = z.custom<BuilderEntry>(() => true).check((ctx) => {
  const issue = (message: string, path: string[] = []): void => void ctx.issues.push({ code: "custom", input: ctx.value, path, message });
  const v = ctx.value as unknown;
  if (typeof v === "string") {
    const engine = parseBuilderTarget(v);
    if ("problem" in engine) issue(engine.problem);
    return;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return issue(ENTRY_FORM);
  const { host, tls, ...rest } = v as Record<string, unknown>;
  for (const key of Object.keys(rest)) issue(`unknown field; expected host and tls`, [key]);
  if (typeof host !== "string") return issue('expected an engine endpoint, e.g. "tcp://host:2376"', ["host"]);
  const engine = parseEngine(host);
  if ("problem" in engine) return issue(engine.problem, ["host"]);
  if (tls === undefined) return;
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) return issue(TLS_FORM, ["tls"]);
  const problem = tlsProblem(engine, tls as Record<string, unknown>);
  if (problem) issue(problem, ["tls"]);
});

export const workspaceSchema = z.strictObject({
  org: z.optional(orgSchema),
  arches: z.optional(archesSchema),
  signer: z.optional(z.enum(["notary", "sigstore"], { error: 'expected "notary" (Docker Content Trust) or "sigstore"' })),
  /** false: pushes of the packages inside attach no attestations, unless a package says `attest: true`. */
  attest: z.optional(z.boolean({ error: "expected true or false" })),
  packages: z.optional(
    z.array(z.string({ error: "expected a glob string" }).check(z.minLength(1, { error: "expected a non-empty glob" })), {
      error: 'expected "packages" to be a list of directory globs, e.g. ["pkgs/*"]',
    }),
  ),
  builders: z.optional(
    z
      .record(
        z.string(),
        builderEntrySchema,
        { error: 'expected "builders" to map arches to engines, e.g. { arm64: "ssh://user@arm-host" }' },
      )
      .check((ctx) => {
        for (const arch of Object.keys(ctx.value))
          if (!(ARCHES as string[]).includes(arch))
            ctx.issues.push({ code: "custom", input: ctx.value, path: [arch], message: `${JSON.stringify(arch)} is not a GOARCH name pkgkit builds for; expected one of ${ARCHES.join(", ")}` });
      }),
  ),
  /** SOURCE_DATE_EPOCH for the packages inside it that set none (see lib/options.ts resolveSourceDateEpoch). */
  sourceDateEpoch: z.optional(sourceDateEpochSchema),
});
/**
 * The fields `defineWorkspace` takes: `org`, `arches`, `signer`, `packages` (directory globs),
 * `builders` (typed by arch for editor help; the schema checks the keys itself, for its messages),
 * `sourceDateEpoch`.
 */
export type WorkspaceInput = Omit<z.input<typeof workspaceSchema>, "builders"> & { builders?: Partial<Record<Arch, BuilderEntry>> };

/** A validated workspace, as `defineWorkspace` returns it: the defaults it gives the packages inside its directory. */
export interface WorkspaceDefinition {
  readonly kind: typeof WORKSPACE_KIND;
  /** The pkgkit.config.ts that declared it, absolute. */
  readonly file: string;
  /** The workspace directory, absolute. */
  readonly dir: string;
  readonly org?: string;
  readonly arches?: Arch[];
  /** Engine (endpoint or docker context, or a tcp:// endpoint with TLS files) or `buildx:<name>` per arch, as written. */
  readonly builders?: Partial<Record<Arch, BuilderEntry>>;
  readonly signer?: "notary" | "sigstore";
  readonly attest?: boolean;
  readonly sourceDateEpoch?: number;
  readonly packages?: string[];
}

export function isWorkspaceDefinition(v: unknown): v is WorkspaceDefinition {
  return typeof v === "object" && v !== null && (v as WorkspaceDefinition).kind === WORKSPACE_KIND;
}

/** Validate a workspace declared in `file`. Throws SpecError naming the file and fields. */
export function makeWorkspace(raw: unknown, file: string): WorkspaceDefinition {
  const result = workspaceSchema.safeParse(raw);
  if (!result.success) throw new SpecError(file, problemsOf(result.error.issues, raw, Object.keys(workspaceSchema.shape)));
  return Object.freeze({ kind: WORKSPACE_KIND, file, dir: dirname(file), ...result.data });
}

/**
 * Declare a workspace: the default export of a `pkgkit.config.ts` at the root of a tree of
 * packages. Validated now (SpecError names the file and each bad field); runs nothing. Its
 * `org` and `arches` are defaults for the packages inside its directory that do not set them.
 *
 * @example
 * ```ts
 * // pkgkit.config.ts
 * import { defineWorkspace } from "pkgkit";
 *
 * export default defineWorkspace({
 *   org: "example",
 *   arches: ["amd64", "arm64"],
 *   packages: ["pkgs/*", "!pkgs/experimental"],
 *   builders: { arm64: "ssh://builder@arm-host", riscv64: { host: "tcp://riscv-host:2376", tls: { ca: "ca.pem", cert: "cert.pem", key: "key.pem" } } },
 * });
 * ```
 */
export function defineWorkspace(input: WorkspaceInput): WorkspaceDefinition {
  return makeWorkspace(input, callerFile(import.meta.url) ?? WORKSPACE_FILE);
}

/** The defaults a workspace gives the packages inside it. */
export const workspaceDefaults = (w: WorkspaceDefinition): WorkspaceDefaults => ({ dir: w.dir, file: w.file, org: w.org, arches: w.arches, signer: w.signer, attest: w.attest, builders: w.builders && buildersFrom(w.dir, w.builders), sourceDateEpoch: w.sourceDateEpoch });

/** The builders with their TLS files made absolute, relative to the workspace directory `dir`. */
function buildersFrom(dir: string, builders: Partial<Record<Arch, BuilderEntry>>): Partial<Record<Arch, BuilderEntry>> {
  return Object.fromEntries(
    Object.entries(builders).map(([arch, entry]) => {
      if (typeof entry === "string" || !entry.tls) return [arch, entry];
      const { ca, cert, key } = entry.tls;
      return [arch, { ...entry, tls: { ca: resolve(dir, ca), cert: resolve(dir, cert), key: resolve(dir, key) } }];
    }),
  );
}

/** The nearest pkgkit.config.ts in `dir` or above it, up to the top of its git repository. */
export async function findWorkspace(dir: string): Promise<WorkspaceDefinition | undefined> {
  for (let d = canonical(resolve(dir)); ; d = dirname(d)) {
    const file = join(d, WORKSPACE_FILE);
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) {
      const exported = await importDefault(file);
      if (!isWorkspaceDefinition(exported))
        throw new SpecError(file, [{ field: "", message: "expected `export default defineWorkspace({ ... })`" }]);
      return exported;
    }
    if (statSync(join(d, ".git"), { throwIfNoEntry: false }) || dirname(d) === d) return undefined;
  }
}

const PACKAGE_FILES = [CONFIG_FILE, BUILD_YML];

/**
 * Every directory under `root` holding a pkg.config.ts or build.yml, absolute and sorted:
 * tracked and untracked files that .gitignore does not exclude (one `git ls-files`), none under
 * node_modules. Outside git, a directory walk that skips node_modules and hidden directories.
 */
export async function findPackageDirs(shell: Shell, root: string): Promise<string[]> {
  const pathspecs = PACKAGE_FILES.flatMap((f) => [f, `*/${f}`]);
  const r = await shell.exec(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ...pathspecs], {
    env: { GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C" },
  });
  let files: string[];
  if (r.code === 0) files = r.stdout.split("\0").filter(Boolean).map((f) => join(root, f));
  else if (/not a git repository/i.test(r.stderr)) files = walk(root);
  else throw new InputError(`${root}: git ls-files failed: ${r.stderr.trim()}`);
  const dirs = files
    .filter((f) => PACKAGE_FILES.includes(basename(f)) && !relative(root, f).split(sep).includes("node_modules"))
    // --cached lists tracked files that were deleted since.
    .filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile())
    .map(dirname);
  return [...new Set(dirs)].sort();
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== "node_modules" && !e.name.startsWith(".")) walk(join(dir, e.name), out);
    else if (e.isFile() && PACKAGE_FILES.includes(e.name)) out.push(join(dir, e.name));
  }
  return out;
}

/** `dir` relative to `base`, slash-separated, "." for `base` itself: what globs match against. */
const relativePath = (base: string, dir: string) => relative(base, dir).split(sep).join("/") || ".";

/** Directories matching any of `patterns` (relative to `base`) and none of the "!" ones. */
export function matchDirs(base: string, dirs: string[], patterns: string[]): string[] {
  const include = patterns.filter((p) => !p.startsWith("!")).map(globToRegExp);
  const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => globToRegExp(p.slice(1)));
  return dirs.filter((d) => {
    const rel = relativePath(base, d);
    return include.some((re) => re.test(rel)) && !exclude.some((re) => re.test(rel));
  });
}

export interface Selection {
  /** Package directories: as given for plain arguments, absolute for found ones. */
  dirs: string[];
  workspace?: WorkspaceDefinition;
  /** True when the packages were found (no arguments, or globs) rather than named. */
  found: boolean;
}

/**
 * What the command-line arguments name. None: the workspace's packages (its `packages` globs, or
 * every package file) under `cwd`. A glob: the package directories under `cwd` it matches,
 * listed in the workspace or not. Anything else: that directory. The workspace is the one around
 * `cwd`, looked for unless `options.workspace` gives it.
 */
export async function selectPackageDirs(args: string[], options: { cwd: string; shell: Shell; workspace?: WorkspaceDefinition | null }): Promise<Selection> {
  const cwd = canonical(resolve(options.cwd));
  // Given by a caller that looked for it already (null: there is none).
  const workspace = options.workspace === undefined ? await findWorkspace(cwd) : (options.workspace ?? undefined);
  // Plain directories keep the spelling given (for messages) where it means the same directory.
  const plain = (arg: string) => (resolve(arg) === resolve(cwd, arg) ? arg : resolve(cwd, arg));
  const globs = args.filter(isGlob);
  if (args.length > 0 && globs.length === 0) return { dirs: args.map(plain), workspace, found: false };

  if (args.length === 0) {
    const root = workspace?.dir ?? cwd;
    let dirs = await findPackageDirs(options.shell, root);
    if (workspace?.packages) {
      const listed = matchDirs(root, dirs, workspace.packages);
      const unmatched = workspace.packages.filter((p) => !p.startsWith("!") && matchDirs(root, dirs, [p]).length === 0);
      if (unmatched.length > 0)
        throw new SpecError(workspace.file, unmatched.map((p) => ({ field: `packages[${workspace.packages!.indexOf(p)}]`, message: `${JSON.stringify(p)} matches no directory holding a ${CONFIG_FILE} or ${BUILD_YML}` })));
      dirs = listed;
    }
    dirs = dirs.filter((d) => d === cwd || d.startsWith(cwd + sep) || cwd === sep);
    if (dirs.length === 0)
      throw new InputError(`no ${CONFIG_FILE} or ${BUILD_YML} found under ${cwd} (files .gitignore excludes and node_modules are skipped${workspace?.packages ? `; ${workspace.file} lists ${workspace.packages.join(", ")}` : ""}); name a package directory, e.g. \`pkgkit build examples/hello\``);
    return { dirs, workspace, found: true };
  }

  const found = await findPackageDirs(options.shell, cwd);
  const dirs: string[] = [];
  for (const arg of args) {
    if (!isGlob(arg)) {
      dirs.push(plain(arg));
      continue;
    }
    const matched = matchDirs(cwd, found, [arg]);
    if (matched.length === 0)
      throw new InputError(`${arg}: no package directory matches; a glob matches directories under ${cwd} holding a ${CONFIG_FILE} or ${BUILD_YML} (files .gitignore excludes and node_modules are skipped)`);
    dirs.push(...matched);
  }
  return { dirs: [...new Set(dirs)], workspace, found: true };
}
