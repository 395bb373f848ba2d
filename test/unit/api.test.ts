// The public API as `deno doc` reads it (the tool `npm run api` makes the reference with): the
// three entry points ("pkgkit", "pkgkit/recipes", "pkgkit/registry") export the curated names,
// each with a doc comment; each entry point has a module doc; the names a newcomer starts from have
// an example, and the examples typecheck against the API as it is.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT, sh } from "../helpers.ts";
import { runtime } from "../../lib/runtime.ts";

const ENTRIES = { pkgkit: "lib/index.ts", "pkgkit/recipes": "recipes/index.ts", "pkgkit/registry": "lib/registry/index.ts" };
const WITH_EXAMPLE = ["definePackage", "defineWorkspace", "plan", "run"];

interface JsDoc {
  doc?: string;
  tags?: { kind: string; doc?: string }[];
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
    "imageRef", "withArch", "formatRef", "parseImageRef", "ImageRef",
    "plan", "formatPlan", "Plan", "Step", "PlanOptions", "parsePlanFile", "selectPlan", "planByArch", "PlanMatrix",
    "run", "Result", "StepResult", "Reporter", "RunOptions",
    "resolveSettings", "Settings", "createSession", "completeSession", "Session", "SessionParts", "SessionNeeds",
    "buildxBuilder", "legacyBuilder", "detectBuilder", "Builder", "createRegistry", "Registry", "createSigner", "Signer", "SignerConfig", "defaultShell", "directShell", "Shell",
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

// tsc answers the same whichever runtime asks it: once, under Node, keeps the unit suites fast.
if (runtime === "node") test("the @examples typecheck against the entry points (tsc, the project's settings)", () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-api-"));
  try {
    const files: string[] = [];
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write("package.json", JSON.stringify({ type: "module" }));
    // What definePackage's example imports.
    write("pkg/base/pkg.config.ts", 'import { definePackage } from "pkgkit";\nexport default definePackage({ image: "base" });\n');
    const symbols = new Map(Object.values(ENTRIES).flatMap((path) => entry(path).symbols.map((s) => [s.name, s] as const)));
    for (const s of symbols.values())
      for (const [i, example] of docsOf(s).flatMap((d) => d.tags ?? []).filter((t) => t.kind === "example").entries()) {
        const code = /```ts\n([\s\S]*?)```/.exec(example.doc ?? "")?.[1];
        assert.ok(code, `${s.name}: its @example should be a \`\`\`ts block`);
        files.push(`pkg/app/${s.name}-${i}.ts`);
        write(files.at(-1)!, `${code}export {};\n`);
      }
    assert.ok(files.length >= WITH_EXAMPLE.length, `examples found: ${files.join(", ")}`);
    const paths = Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, [join(ROOT, path)]]));
    write("tsconfig.json", JSON.stringify({
      extends: join(ROOT, "tsconfig.json"),
      compilerOptions: { paths, typeRoots: [join(ROOT, "node_modules/@types")] },
      files,
    }));
    const r = sh([join(ROOT, "node_modules/.bin/tsc"), "-p", join(dir, "tsconfig.json")]);
    assert.is(r.stdout + r.stderr, "", "tsc should find nothing wrong with the examples");
    assert.is(r.code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
