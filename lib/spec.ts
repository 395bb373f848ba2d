/**
 * The package spec: what a `pkg.config.ts` (via `definePackage`) or a LinuxKit `build.yml`
 * declares. One zod schema validates both; every error names the field, what was given and the
 * expected form.
 */
import * as z from "zod/mini";
import { ARCHES, checkImage, checkOrg, redactOrg, tagRe, type Arch } from "./names.ts";
export { ARCHES, PLATFORMS, platformKey, platformString, type Arch } from "./names.ts";
import { type FieldProblem } from "./errors.ts";
import { signerSpecSchema } from "./sign/schema.ts";
import { DEFAULT_TAG_TEMPLATE, parseTagTemplate, renderTag, TAG_TEMPLATE_FORM } from "./tagtemplate.ts";

export const DEFAULT_ARCHES: Arch[] = ["amd64", "arm64"];
/** LinuxKit's default org. */
export const DEFAULT_ORG = "linuxkit";

// "%" is LinuxKit's stem for "@lkt:pkgs:" build args; checked against the value below.
/** Part of the message for an undefined build-arg value; load.ts recognises it. */
export const UNDEFINED_IMPORT_HINT = "an imported package is undefined while package files import each other in a cycle";

const buildArgName = /^[A-Za-z_%][A-Za-z0-9_%]*$/;
// Label keys: reverse-DNS style or plain; no spaces, no `=`.
const labelKey = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** A path inside the package directory: relative, no `..` escaping it. */
function relativeInside(what: string) {
  return z.string({ error: `expected ${what}: a path relative to the package directory, as a string` }).check(
    z.minLength(1, { error: `expected ${what}: a non-empty relative path` }),
    z.refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), {
      error: `expected ${what} inside the package directory: a relative path without ".."`,
    }),
  );
}

const EXTRA_SOURCE_FORM = 'expected "<src>:<dst>" (e.g. "../common:/common") or { src: "../common", dst: "/common" }';
const extraSource = z.union(
  [
    z.strictObject({ src: z.string().check(z.minLength(1)), dst: z.string().check(z.minLength(1)) }),
    z.string().check(z.regex(/^[^:]+:[^:]+$/, { error: EXTRA_SOURCE_FORM })),
  ],
  { error: EXTRA_SOURCE_FORM },
);
const dstOf = (s: z.output<typeof extraSource>) => (typeof s === "string" ? s.slice(s.indexOf(":") + 1) : s.dst);

/**
 * An extra source's destination as a path relative to the build context ("." for its root). As
 * in LinuxKit, "/common" and "common" both name <context>/common; a ".." that climbs above the
 * context's root gives undefined.
 */
export function contextPath(dst: string): string | undefined {
  const parts: string[] = [];
  for (const part of dst.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.length ? parts.join("/") : ".";
}

/** An image pinned by digest, as `depends.dockerImages` requires (LinuxKit refuses an image without one). */
export const PINNED_IMAGE = { re: /@sha256:[0-9a-f]{64}$/, form: 'an image reference with a digest, e.g. "alpine@sha256:<64 hex>"' };

const dockerImages = z
  .strictObject({
    list: z.optional(z.array(z.string().check(z.regex(PINNED_IMAGE.re, { error: `expected ${PINNED_IMAGE.form}` })))),
    fromFile: z.optional(relativeInside('"fromFile"')),
    target: z.optional(relativeInside('"target"')),
    targetDir: z.optional(relativeInside('"targetDir"')),
  })
  .check(
    z.superRefine((v, ctx) => {
      if ((v.list === undefined) === (v.fromFile === undefined))
        ctx.addIssue({ code: "custom", message: 'expected exactly one of "list" or "fromFile"' });
      if ((v.target === undefined) === (v.targetDir === undefined))
        ctx.addIssue({ code: "custom", message: 'expected exactly one of "target" or "targetDir"' });
    }),
  );

/** `org`, also a workspace default. */
export const orgSchema = z
  .string({ error: 'expected "org" to be a string, e.g. "example" or "127.0.0.1:5000/example"' })
  .check(z.refine((v) => !checkOrg(v), { error: (i) => `${JSON.stringify(redactOrg(String(i.input)))} is not a valid org: ${checkOrg(String(i.input))}`, params: { secret: true } }));

/** `arches`, also a workspace default. */
export const archesSchema = z
  .array(z.enum(ARCHES as [Arch, ...Arch[]], { error: (i) => `${JSON.stringify(i.input)} is not a GOARCH name pkgkit builds for; expected one of ${ARCHES.join(", ")}` }), {
    error: 'expected "arches" to be a list of GOARCH names, e.g. ["amd64", "arm64"]',
  })
  .check(
    z.minLength(1, { error: 'expected at least one arch, e.g. ["amd64"]' }),
    z.refine((a) => new Set(a).size === a.length, { error: "expected each arch once; remove the duplicate" }),
  );

/** The latest SOURCE_DATE_EPOCH: what a tar header's 11 octal digits hold (2242-03-16). */
export const MAX_SOURCE_DATE_EPOCH = 8 ** 11 - 1;

/** `sourceDateEpoch`, also a workspace default: whole seconds since 1970. */
export const sourceDateEpochSchema = z
  .number({ error: "expected whole seconds since 1970-01-01 UTC, e.g. 1700000000" })
  .check(
    z.int({ error: "expected whole seconds since 1970-01-01 UTC, e.g. 1700000000" }),
    z.gte(0, { error: "expected whole seconds since 1970-01-01 UTC (0 or more)" }),
    z.lte(MAX_SOURCE_DATE_EPOCH, { error: `expected at most ${MAX_SOURCE_DATE_EPOCH} (2242-03-16), the latest time a tar header holds` }),
  );

export const packageSpecSchema = z.strictObject({
  image: z
    .string({ error: 'expected "image" to be a string, e.g. "app"' })
    .check(z.refine((v) => !checkImage(v), { error: (i) => `"${String(i.input)}" is not a valid image name: ${checkImage(String(i.input))}` })),
  org: z.optional(orgSchema),
  arches: z._default(archesSchema, DEFAULT_ARCHES),
  gitrepo: z.optional(
    z
      .string({ error: 'expected "gitrepo" to be a URL string, e.g. "https://github.com/example/app"' })
      .check(z.url({ error: 'expected "gitrepo" to be a URL, e.g. "https://github.com/example/app"' })),
  ),
  network: z._default(z.boolean({ error: "expected true or false" }), false),
  disableContentTrust: z._default(z.boolean({ error: "expected true or false" }), false),
  disableCache: z._default(z.boolean({ error: "expected true or false" }), false),
  /** false: a push attaches no SBOM and provenance attestations, though it signs. */
  attest: z._default(z.boolean({ error: "expected true or false" }), true),
  tag: z._default(
    z.string({ error: `expected a tag template string: ${TAG_TEMPLATE_FORM}` }).check(
      z.superRefine((t, ctx) => {
        const parsed = parseTagTemplate(t);
        const problem =
          typeof parsed === "string"
            ? parsed
            : !tagRe.test(renderTag(parsed, "0"))
              ? "the tag it makes is not an image tag (letters, digits, \"_\", \".\" and \"-\", at most 128 characters)"
              : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: `${problem}; expected ${TAG_TEMPLATE_FORM}`, input: t });
      }),
    ),
    DEFAULT_TAG_TEMPLATE,
  ),
  dockerfile: z._default(relativeInside('"dockerfile"'), "Dockerfile"),
  buildArgs: z._default(
    z
      .record(
        z.string().check(z.regex(buildArgName, { error: "expected a build-arg name: letters, digits and _, not starting with a digit" })),
        z.union([z.string(), z.custom<PackageDefinition>(isPackageDefinition), z.custom<() => PackageDefinition>((v) => typeof v === "function")], {
          error: (i) =>
            `expected a string, a package (the default export of another pkg.config.ts, imported) or a function returning one, e.g. () => base${
              i.input === undefined ? `; ${UNDEFINED_IMPORT_HINT}` : ""
            }`,
        }),
        { error: 'expected "buildArgs" to be an object of NAME: "value" pairs' },
      )
      .check(z.superRefine(checkLinuxKitArgs)),
    {},
  ),
  extraSources: z._default(
    z.array(extraSource, { error: 'expected "extraSources" to be a list' }).check(
      z.superRefine((list, ctx) =>
        list.forEach((s, i) => {
          if (contextPath(dstOf(s)) === undefined)
            ctx.addIssue({ code: "custom", path: [i], input: s, message: `expected the destination ${JSON.stringify(dstOf(s))} inside the build context: a path such as "/common", whose ".." never climbs above the context's root` });
        }),
      ),
    ),
    [],
  ),
  labels: z._default(
    z.record(
      z.string().check(z.regex(labelKey, { error: 'expected a label key such as "org.example.team"' })),
      z.string({ error: "expected a string value" }),
      { error: 'expected "labels" to be an object of "key": "value" pairs' },
    ),
    {},
  ),
  /** LinuxKit's image config: marshalled to JSON as the `org.mobyproject.config` label. */
  config: z.optional(z.record(z.string(), z.unknown(), { error: 'expected "config" to be an object (LinuxKit image config)' })),
  depends: z.optional(z.strictObject({ dockerImages })),
  /** Who signs this package's images on push: "notary" or "sigstore", optionally with settings. */
  signer: z.optional(signerSpecSchema),
  /** SOURCE_DATE_EPOCH: image times after it are clamped to it (flag and variable override it; default 0). */
  sourceDateEpoch: z.optional(sourceDateEpochSchema),
});

/** A build-arg value: a string, another package, or a function returning one (for import order). */
export type BuildArgValue = string | PackageDefinition | (() => PackageDefinition);

export const PACKAGE_KIND = "pkgkit.package";

/** A validated package, as `definePackage` returns it and `loadPackage` reads it from pkg.config.ts or build.yml. */
export interface PackageDefinition {
  readonly kind: typeof PACKAGE_KIND;
  readonly spec: PackageSpec;
  /** The file that declared it (pkg.config.ts or build.yml), absolute. */
  readonly file: string;
  /** The package directory, absolute. */
  readonly dir: string;
  /** The fields the file sets; the others hold defaults (which a workspace may override). */
  readonly fields: readonly (keyof PackageSpec)[];
}

export function isPackageDefinition(v: unknown): v is PackageDefinition {
  return typeof v === "object" && v !== null && (v as PackageDefinition).kind === PACKAGE_KIND;
}

/** LinuxKit's special build-arg values, "@lkt:pkg:<path>" and "@lkt:pkgs:<glob>". */
export const LKT_PKG = "@lkt:pkg:";
export const LKT_PKGS = "@lkt:pkgs:";

function checkLinuxKitArgs(args: Record<string, unknown>, ctx: z.core.$RefinementCtx) {
  for (const [name, value] of Object.entries(args)) {
    const text = typeof value === "string" ? value : undefined;
    const problem = (message: string) => ctx.addIssue({ code: "custom", path: [name], message, input: value });
    if (text?.startsWith(LKT_PKGS)) {
      if (!name.includes("%"))
        problem(`expected the name of a "${LKT_PKGS}<glob>" build arg to contain "%", which stands for each matched package's ORG_IMAGE, e.g. DEP_%`);
      if (text.length === LKT_PKGS.length) problem(`expected "${LKT_PKGS}<glob>": a glob of package directories, e.g. "${LKT_PKGS}../deps/*"`);
    } else if (name.includes("%")) {
      problem(`"%" in a build-arg name is only for "${LKT_PKGS}<glob>" values, where it stands for each matched package's ORG_IMAGE`);
    } else if (text?.startsWith(LKT_PKG)) {
      if (text.length === LKT_PKG.length) problem(`expected "${LKT_PKG}<path>": the directory of another package, e.g. "${LKT_PKG}../base"`);
    } else if (text?.startsWith("@lkt:")) {
      problem(`expected "${LKT_PKG}<path>" or "${LKT_PKGS}<glob>", LinuxKit's package references`);
    }
  }
}

/** The fields `definePackage` takes: what a pkg.config.ts writes (README, "Fields"). */
export type PackageSpecInput = z.input<typeof packageSpecSchema>;
/** The validated spec, defaults applied and extra sources normalised. */
export type PackageSpec = Omit<z.output<typeof packageSpecSchema>, "extraSources"> & {
  extraSources: { src: string; dst: string }[];
};

const KNOWN_FIELDS = Object.keys(packageSpecSchema.shape);

/** Validate raw input. Returns the spec, or the list of problems (never throws). */
export function parseSpec(raw: unknown): { spec: PackageSpec } | { problems: FieldProblem[] } {
  const result = packageSpecSchema.safeParse(raw);
  if (result.success) {
    const extraSources = result.data.extraSources.map((s) =>
      typeof s === "string" ? { src: s.slice(0, s.indexOf(":")), dst: s.slice(s.indexOf(":") + 1) } : s,
    );
    return { spec: { ...result.data, extraSources } };
  }
  return { problems: problemsOf(result.error.issues, raw, KNOWN_FIELDS) };
}

/** zod issues as field problems: the field, what is wrong, what was given; suggestions for unknown fields. */
export function problemsOf(issues: z.core.$ZodIssue[], raw: unknown, knownFields: string[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        problems.push({
          field: formatPath([...issue.path, key]),
          message: issue.path.length === 0 ? unknownFieldMessage(key, knownFields) : "unknown field.",
          path: [...issue.path, key],
        });
      }
      continue;
    }
    if (issue.code === "invalid_key") {
      const key = String(issue.path[issue.path.length - 1]);
      problems.push({ field: formatPath(issue.path), message: `${JSON.stringify(key)} is not a valid name: ${issue.issues[0]?.message ?? issue.message}`, path: issue.path });
      continue;
    }
    const given = valueAt(raw, issue.path);
    // An issue marked secret says what it may of the value itself.
    const secret = issue.code === "custom" && (issue.params as { secret?: boolean } | undefined)?.secret === true;
    const message =
      issue.code === "invalid_type" && given === undefined
        ? `is required: ${issue.message}`
        : `${issue.message}${secret || issue.message.startsWith(describeValue(given)) ? "" : ` (got ${describeValue(given)})`}`;
    problems.push({ field: formatPath(issue.path), message, path: issue.path });
  }
  return problems;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** A value as a message shows it: JSON, cut at 60 characters; "nothing" for undefined. */
function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, k) => {
    if (typeof k === "number") return `${out}[${k}]`;
    if (!out) return String(k);
    return /^[A-Za-z_$][\w$-]*$/.test(String(k)) ? `${out}.${String(k)}` : `${out}[${JSON.stringify(String(k))}]`;
  }, "");
}

/** "unknown field", a suggestion when `key` looks like a typo of a known one, and the known ones. */
export function unknownFieldMessage(key: string, known: string[], suggest = true): string {
  const near = suggest ? closest(key, known) : undefined;
  return `unknown field${near ? `; did you mean "${near}"?` : "."} Known fields: ${known.join(", ")}`;
}

/** The known field closest to a misspelt one, if any is close enough to be a typo. */
function closest(word: string, candidates: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(norm(word), norm(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
