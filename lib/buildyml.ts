/**
 * LinuxKit's build.yml, read through the same schema as pkg.config.ts. Keys keep LinuxKit's
 * spelling (kebab-case, and `buildArgs` as a list of NAME=value); errors point at file:line:col.
 */
import { isMap, isScalar, type Document, type Node } from "yaml";
import { SpecError, type FieldProblem } from "./errors.ts";
import { makeDefinition, type PackageDefinition } from "./define.ts";
import { formatPath, unknownFieldMessage, type PackageSpec } from "./spec.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "./limits.ts";
import { parseYaml, type Locator } from "./yaml.ts";

/** build.yml key → spec field. The order is the order `migrate` writes fields in. */
const FIELDS: Record<string, string> = {
  image: "image",
  org: "org",
  arches: "arches",
  tag: "tag",
  dockerfile: "dockerfile",
  gitrepo: "gitrepo",
  network: "network",
  "disable-content-trust": "disableContentTrust",
  "disable-cache": "disableCache",
  "extra-sources": "extraSources",
  buildArgs: "buildArgs",
  labels: "labels",
  config: "config",
  depends: "depends",
  signer: "signer",
  attest: "attest",
};
/** LinuxKit's fields of Go type string, and of type []string. */
const STRING_FIELDS = new Set(["image", "org", "tag", "dockerfile", "gitrepo"]);
const STRING_LISTS = new Set(["arches", "extra-sources", "buildArgs"]);
const DEPENDS_FIELDS: Record<string, string> = { "docker-images": "dockerImages" };
const DOCKER_IMAGES_FIELDS: Record<string, string> = {
  list: "list",
  "from-file": "fromFile",
  target: "target",
  "target-dir": "targetDir",
};
const toYamlKey = (fields: Record<string, string>, specKey: string) =>
  Object.keys(fields).find((k) => fields[k] === specKey) ?? specKey;

/** Load a build.yml; `dir` is the package directory when it is not the file's (LinuxKit's --build-yml). */
export async function loadBuildYml(file: string, dir?: string): Promise<PackageDefinition> {
  return parseBuildYml(readTextLimited(file, MAX_CONFIG_BYTES, "a build.yml"), file, dir);
}

/** At most this many problems are reported (each is looked up in the document). */
const MAX_PROBLEMS = 20;

export function parseBuildYml(text: string, file: string, dir?: string): PackageDefinition {
  const parsed = parseYaml(text);
  if ("problems" in parsed) throw new SpecError(file, parsed.problems.map((p) => ({ field: "", ...p })));
  const { doc, value, at } = parsed;
  if (!isMap(doc.contents)) {
    throw new SpecError(file, [{ field: "", message: "expected a YAML mapping of fields, e.g. `image: app`", ...at(doc.contents?.range?.[0]) }]);
  }
  const problems: FieldProblem[] = [];
  const raw = renameKeys(doc, value, problems, at);
  if (problems.length === 0) {
    try {
      return makeDefinition(raw, file, dir);
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      problems.push(...err.problems.slice(0, MAX_PROBLEMS).map((p) => locate(doc, p, at)));
      if (err.problems.length > MAX_PROBLEMS) problems.push({ field: "", message: `and ${err.problems.length - MAX_PROBLEMS} more problems` });
    }
  }
  throw new SpecError(file, problems);
}

/** Turn LinuxKit's keys into spec fields, reporting unknown keys where they stand. */
function renameKeys(doc: Document, js: unknown, problems: FieldProblem[], at: Locator): Record<string, unknown> {
  const rename = (obj: unknown, fields: Record<string, string>, yamlPath: (string | number)[]) => {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return obj;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      // As Go's yaml.v3 reads LinuxKit's fields: a null (`arches:` with no value) leaves the default.
      if (v === null && fields[k]) continue;
      const specKey = fields[k];
      if (!specKey) {
        if (problems.length >= MAX_PROBLEMS) continue;
        const keyNode = (doc.getIn(yamlPath, true) as { items?: { key: Node }[] } | undefined)?.items?.find((p) => isScalar(p.key) && p.key.value === k)?.key;
        problems.push({
          field: formatPath([...yamlPath, k]),
          // Suggestions at the top level only, as for pkg.config.ts.
          message: unknownFieldMessage(k, Object.keys(fields), yamlPath.length === 0),
          ...at(keyNode?.range?.[0]),
        });
        continue;
      }
      out[specKey] = v;
    }
    return out;
  };
  const top = rename(js, FIELDS, []) as Record<string, unknown>;
  // Go's yaml.v3 puts a scalar's text into a string field whatever it looks like: `tag: 1.0` is "1.0", `arches: [386]` holds "386".
  const text = (path: (string | number)[], v: unknown) => {
    const node = doc.getIn(path, true);
    return (typeof v === "number" || typeof v === "boolean") && isScalar(node) ? (node.source ?? String(v)) : v;
  };
  for (const [key, field] of Object.entries(FIELDS)) {
    if (!(field in top)) continue;
    const v = top[field];
    if (STRING_FIELDS.has(key)) top[field] = text([key], v);
    else if (STRING_LISTS.has(key) && Array.isArray(v)) top[field] = v.map((x, i) => text([key, i], x));
  }
  if (top.depends !== undefined) {
    const depends = rename(top.depends, DEPENDS_FIELDS, ["depends"]) as Record<string, unknown>;
    if (depends?.dockerImages !== undefined)
      depends.dockerImages = rename(depends.dockerImages, DOCKER_IMAGES_FIELDS, ["depends", "docker-images"]);
    top.depends = depends;
  }
  // LinuxKit writes build args as a list of NAME=value strings.
  if (Array.isArray(top.buildArgs)) {
    const args: Record<string, unknown> = {};
    top.buildArgs.forEach((entry, i) => {
      const eq = typeof entry === "string" ? entry.indexOf("=") : -1;
      if (eq <= 0) {
        if (problems.length >= MAX_PROBLEMS) return;
        const node = doc.getIn(["buildArgs", i], true) as Node | undefined;
        problems.push({ field: `buildArgs[${i}]`, message: `expected "NAME=value" (got ${JSON.stringify(entry)})`, ...at(node?.range?.[0]) });
      } else args[entry.slice(0, eq)] = entry.slice(eq + 1);
    });
    top.buildArgs = args;
  }
  return top;
}

/** Map a schema problem (spec field path) back to the YAML node it came from. */
function locate(doc: Document, p: FieldProblem, at: Locator): FieldProblem {
  const specPath = p.path ?? [];
  const yamlPath: (string | number)[] = [];
  let fields: Record<string, string> | undefined = FIELDS;
  for (const k of specPath) {
    if (typeof k === "number") yamlPath.push(k);
    else {
      yamlPath.push(fields ? toYamlKey(fields, String(k)) : String(k));
      fields = k === "depends" ? DEPENDS_FIELDS : k === "dockerImages" ? DOCKER_IMAGES_FIELDS : undefined;
    }
  }
  // buildArgs are a list in build.yml: point at the NAME=value entry.
  if (yamlPath[0] === "buildArgs" && typeof yamlPath[1] === "string") {
    const list = doc.getIn(["buildArgs"]) as { items?: { value?: unknown }[] } | undefined;
    const idx = list?.items?.findIndex((n) => String(isScalar(n) ? n.value : "").startsWith(`${yamlPath[1]}=`)) ?? -1;
    yamlPath.splice(1, 1, ...(idx >= 0 ? [idx] : []));
  }
  let node: Node | undefined;
  for (let n = yamlPath.length; n >= 0 && !node; n--) node = doc.getIn(yamlPath.slice(0, n), true) as Node | undefined;
  return { ...p, field: formatPath(yamlPath), ...at(node?.range?.[0]) };
}

/** The pkg.config.ts equivalent of a build.yml: only the fields it sets, in LinuxKit's order. */
export function toConfigSource(spec: PackageSpec, setFields: string[], importFrom = "pkgkit"): string {
  const body = Object.values(FIELDS)
    .filter((k) => setFields.includes(k))
    .map((k) => `  ${k}: ${literal((spec as Record<string, unknown>)[k], "  ")},`)
    .join("\n");
  return `import { definePackage } from ${JSON.stringify(importFrom)};\n\nexport default definePackage({\n${body}\n});\n`;
}

/** The spec fields a build.yml sets explicitly (defaults excluded). */
export function fieldsSetIn(text: string): string[] {
  const parsed = parseYaml(text);
  return "doc" in parsed && isMap(parsed.doc.contents)
    ? parsed.doc.contents.items
        .filter((p) => !(isScalar(p.value) && p.value.value === null) && p.value !== null)
        .map((p) => FIELDS[String(isScalar(p.key) ? p.key.value : "")])
        .filter((k): k is string => !!k)
    : [];
}

function literal(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    const items = v.map((x) => literal(x, `${indent}  `));
    const flat = `[${items.join(", ")}]`;
    return flat.length < 70 && !flat.includes("\n") ? flat : `[\n${items.map((i) => `${indent}  ${i},`).join("\n")}\n${indent}]`;
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    if (entries.length === 0) return "{}";
    const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    return `{\n${entries.map(([k, x]) => `${indent}  ${key(k)}: ${literal(x, `${indent}  `)},`).join("\n")}\n${indent}}`;
  }
  return JSON.stringify(v);
}
