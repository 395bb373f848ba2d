// The architecture as a test: lib/ and recipes/ import downward only (README, "Architecture"), the
// import graph has no cycle (type-only imports count), and only the CLI (lib/cli/) calls
// process.exit or writes to the console. A new module fails here until it is given a layer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Lowest first. A module may import its own layer and those below. */
const LAYERS: [name: string, modules: string[]][] = [
  ["base", [
    "lib/errors.ts", "lib/version.ts", "lib/limits.ts", "lib/retry.ts", "lib/runtime.ts", "lib/concurrency.ts", "lib/glob.ts",
    "lib/yaml.ts", "lib/pemfile.ts", "lib/shell.ts", "lib/scratch.ts", "lib/registry/digest.ts", "lib/gzip.ts", "lib/user-cache.cjs", "lib/node-crypto.ts",
  ]],
  ["spec, names, options", ["lib/names.ts", "lib/tagtemplate.ts", "lib/spec.ts", "lib/define.ts", "lib/sign/schema.ts", "lib/options.ts"]],
  ["adapters: Builder, Registry, Signer", ["lib/builder-kind.ts", "lib/buildx-driver.ts", "lib/engine-api.ts", "lib/engine-errors.ts", "lib/builder.ts", "lib/image.ts", "lib/layer-tar.ts", "lib/registry/*", "lib/sign/*",
    "lib/attest/*"]],
  ["doctor checks", ["lib/doctor/*"]],
  ["package", ["lib/load.ts", "lib/config-cache.ts", "lib/buildyml.ts", "lib/git.ts", "lib/contain.ts", "lib/graph.ts", "lib/package.ts", "lib/workspace.ts", "lib/attest/package-subject.ts"]],
  ["plan", ["lib/plan/*", "lib/apply.ts"]],
  ["run", ["lib/run.ts", "lib/push.ts", "lib/context.ts", "lib/sign/run.ts"]],
  ["session", ["lib/session.ts"]],
  ["recipes", ["recipes/*"]],
  ["cli", ["lib/cli/*"]],
  ["entry", ["lib/index.ts", "lib/define-entry.ts", "lib/bin-entry.ts", "lib/index.node.mjs", "lib/index.node.cjs", "lib/bin.mjs", "lib/bin.cjs", "lib/bin-node.cjs", "lib/sea.ts", "lib/esm-hooks.mjs", "lib/bundle-sources.cjs", "lib/code-cache.cjs",
    "lib/index.deno-bun.mjs", "lib/recipes.deno-bun.mjs", "lib/registry.deno-bun.mjs", "lib/cli.deno-bun.mjs", "lib/deno-bun-fresh.mjs"]],
];
/** Build scripts, not modules of the program. */
const SCRIPTS = new Set(["lib/bundle.mjs", "lib/compile.mjs"]);

/** The layer of a module: an exact entry wins over a folder's `*`. */
function layerOf(module: string): number | undefined {
  const exact = LAYERS.findIndex(([, ms]) => ms.includes(module));
  if (exact >= 0) return exact;
  const folder = LAYERS.findIndex(([, ms]) => ms.some((m) => m.endsWith("/*") && dirname(module) === m.slice(0, -2)));
  return folder >= 0 ? folder : undefined;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ts|mjs)$/.test(f) && !f.startsWith("dist/"))
    .map((f) => `${dir}/${f}`)
    .sort();
}
const MODULES = [...sources("lib"), ...sources("recipes")].filter((m) => !SCRIPTS.has(m));

const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");

/** Relative imports of a module (static, type-only, re-exports, dynamic), as paths from the root. */
function importsOf(module: string): string[] {
  const text = withoutComments(readFileSync(join(ROOT, module), "utf8"));
  const found = [...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?\bfrom\s*["'](\.[^"']+)["']|\bimport\s*\(\s*["'](\.[^"']+)["']\s*\)/g)];
  return found.map((m) => normalize(join(dirname(module), m[1] ?? m[2]!)));
}
const GRAPH = new Map(MODULES.map((m) => [m, importsOf(m)]));

test("every module of lib/ and recipes/ has a layer", () => {
  const unplaced = MODULES.filter((m) => layerOf(m) === undefined);
  assert.equal(unplaced, [], `give these a layer in test/unit/layers.test.ts (and the README's Architecture section): ${unplaced.join(", ")}`);
});

test("imports run downward only: no module imports from a layer above its own", () => {
  const upward: string[] = [];
  for (const [from, targets] of GRAPH)
    for (const to of targets) {
      const [a, b] = [layerOf(from)!, layerOf(to)];
      if (b !== undefined && b > a) upward.push(`${from} (${LAYERS[a]![0]}) imports ${to} (${LAYERS[b]![0]})`);
    }
  assert.equal(upward, []);
});

test("the import graph has no cycle, type-only imports included", () => {
  // Tarjan's strongly connected components; any with more than one module is a cycle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of GRAPH.get(v) ?? []) {
      if (!GRAPH.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do component.push((w = stack.pop()!));
      while (w !== v);
      if (component.length > 1 || GRAPH.get(v)!.includes(v)) cycles.push(component.sort());
    }
  };
  for (const m of MODULES) if (!index.has(m)) visit(m);
  assert.equal(cycles, []);
});

test("only the CLI calls process.exit or writes to the console", () => {
  const offenders = sources("lib")
    .filter((m) => !m.startsWith("lib/cli/") && !SCRIPTS.has(m))
    .flatMap((m) =>
      withoutComments(readFileSync(join(ROOT, m), "utf8"))
        .split("\n")
        .flatMap((line, i) => (/\bprocess\.exit\s*\(|\bconsole\.\w+\s*\(|\bprocess\.(stdout|stderr)\.write\b/.test(line) ? [`${m}:${i + 1}: ${line.trim()}`] : [])),
    );
  assert.equal(offenders, []);
});

test("the checks above see what they check: a planted upward import, cycle and console call are found", () => {
  // The layer of a recipe above the plan; a plan module importing a recipe would be upward.
  assert.ok(layerOf("recipes/push.ts")! > layerOf("lib/plan/plan.ts")!);
  assert.ok(layerOf("lib/cli/main.ts")! > layerOf("recipes/push.ts")!);
  assert.equal(importsOf("lib/cli/entry.ts").map((m) => relative("lib", m)).sort(), ["cli/main.ts", "define.ts", "runtime.ts"]);
  assert.ok(withoutComments('x(); // console.log("a")\n').indexOf("console") < 0);
});

test.run();
