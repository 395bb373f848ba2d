// The public API as `deno doc` reads it (the tool `npm run api` makes the reference with): every
// name the three entry points export ("pkgkit", "pkgkit/recipes", "pkgkit/registry") has a doc
// comment, each entry point a module doc, and the names a newcomer starts from an example.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../helpers.ts";

const ENTRIES = { pkgkit: "lib/index.ts", "pkgkit/recipes": "recipes/index.ts", "pkgkit/registry": "lib/registry/index.ts" };
const WITH_EXAMPLE = ["definePackage", "defineWorkspace", "plan", "run"];

interface JsDoc {
  doc?: string;
  tags?: { kind: string }[];
}
interface Declaration {
  location: { filename: string; line: number; col: number };
  kind: string;
  jsDoc?: JsDoc;
  /** A "reference" declaration: a name another entry point declared first. */
  def?: { target?: { filename: string; line: number; col: number } };
}
interface DocNode {
  module_doc?: JsDoc;
  symbols: { name: string; declarations: Declaration[] }[];
}

const output = execFileSync(join(ROOT, "node_modules/.bin/deno"), ["doc", "--quiet", "--json", ...Object.values(ENTRIES)], {
  cwd: ROOT,
  encoding: "utf8",
  maxBuffer: 64 * 1024 * 1024,
});
const nodes: Record<string, DocNode> = JSON.parse(output).nodes;
const entry = (path: string): DocNode => {
  const node = nodes[pathToFileURL(join(ROOT, path)).href];
  if (!node) throw new Error(`deno doc --json has no node for ${path}; it has ${Object.keys(nodes).join(", ")}`);
  return node;
};

// A name exported by two entry points is declared in the first and referenced from the other.
const at = (l: { filename: string; line: number; col: number }) => `${l.filename}:${l.line}:${l.col}`;
const declared = new Map<string, JsDoc | undefined>();
for (const node of Object.values(nodes))
  for (const s of node.symbols) for (const d of s.declarations) if (d.kind !== "reference") declared.set(at(d.location), d.jsDoc);
const docsOf = (s: DocNode["symbols"][number]): JsDoc[] =>
  s.declarations.flatMap((d) => {
    const doc = d.kind === "reference" && d.def?.target ? declared.get(at(d.def.target)) : d.jsDoc;
    return doc ? [doc] : [];
  });

// The curated public API. Adding or dropping a name is a decision about users' code: make it here too.
const PUBLIC: Record<keyof typeof ENTRIES, string[]> = {
  pkgkit: [
    "definePackage", "defineWorkspace", "Arch", "PackageDefinition", "PackageSpecInput", "WorkspaceDefinition", "WorkspaceInput",
    "loadPackages", "resolvePackages", "archRef", "indexRef", "Package", "ResolveOptions",
    "imageRef", "formatRef", "parseImageRef", "ImageRef",
    "plan", "formatPlan", "Plan", "Step", "PlanOptions", "parsePlanFile", "selectPlan", "planByArch", "PlanMatrix",
    "run", "Result", "StepResult", "Reporter", "RunOptions",
    "buildxBuilder", "legacyBuilder", "detectBuilder", "Builder", "createRegistry", "Registry", "createSigner", "Signer", "SignerConfig", "defaultShell", "Shell",
    "PkgkitError", "InputError", "SpecError", "StalePlanError", "ExitCode",
  ],
  "pkgkit/recipes": [
    "packagesFromDirs", "packagesFromDefinitions", "graphFromArgs",
    "observeBuild", "planBuild", "buildPackages", "BuildOptions", "observePush", "planPush", "pushPackages", "PushOptions",
    "checkPlan", "applyPlan", "ApplyOptions", "resolveSigning", "verifyPackages", "Signing", "SigningOptions",
    "consoleReporter", "summarize", "ConsoleReporterOptions",
  ],
  "pkgkit/registry": [
    "createRegistry", "createMemoryRegistry", "MemoryCall", "MemoryFault", "MemoryRegistry", "RegistryError", "RegistryErrorKind",
    "MediaTypes", "Blob", "Descriptor", "Manifest", "Platform", "Registry", "RegistryOptions", "UploadOutcome",
  ],
};

test("the entry points export the curated names, no more, no fewer", () => {
  for (const [name, path] of Object.entries(ENTRIES))
    assert.equal(entry(path).symbols.map((s) => s.name).sort(), [...PUBLIC[name as keyof typeof ENTRIES]].sort(), name);
});

test("every name the entry points export has a doc comment", () => {
  const undocumented = Object.entries(ENTRIES).flatMap(([name, path]) =>
    entry(path).symbols.filter((s) => !docsOf(s).some((d) => d.doc?.trim())).map((s) => `${name}: ${s.name}`),
  );
  assert.equal(undocumented, []);
});

test("each entry point has a module doc (@module) saying what it is for", () => {
  for (const [name, path] of Object.entries(ENTRIES)) assert.ok(entry(path).module_doc?.doc?.startsWith(`${name}: `), `${path}: its module doc should start with "${name}: "`);
});

test(`${WITH_EXAMPLE.join(", ")} have an @example`, () => {
  const symbols = entry(ENTRIES.pkgkit).symbols;
  for (const name of WITH_EXAMPLE) {
    const s = symbols.find((x) => x.name === name);
    assert.ok(s, `"pkgkit" should export ${name}`);
    assert.ok(docsOf(s).some((d) => d.tags?.some((t) => t.kind === "example")), `${name}: no @example`);
  }
});

test.run();
