// Module hooks for the pkgkit bin on Node: a .ts file outside node_modules (a pkg.config.ts and
// what it imports) loads as an ES module even where no package.json says "type": "module", as in
// a LinuxKit repository. Otherwise tsx compiles it to CommonJS, and its require() of pkgkit
// would run into the CLI that is importing it (a require(esm) cycle).
//
// While the bin runs the bundle, pkgkit's public entry (lib/index.ts, which a pkg.config.ts imports)
// resolves to the one in the bin's build (lib/dist/bin-index.mjs stands for it): built from the same
// sources, it spares compiling them, and shares the CLI's modules.
//
// A config file the bin loaded compiled from its cache before this was registered (lib/bin-node.cjs,
// lib/config-cache.ts) resolves to that compiled module, so it is not loaded a second time.

/** @type {{ source: string, bundle: string } | undefined} */
let index;
/** @type {Record<string, string>} source file URL → compiled module URL */
let compiled = {};

/** @param {{ index?: { source: string, bundle: string }, compiled?: Record<string, string> }} [data] */
export function initialize(data) {
  index = data?.index;
  compiled = data?.compiled ?? {};
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (index && result.url === index.source) return { url: index.bundle, format: "module", shortCircuit: true };
  if (Object.hasOwn(compiled, result.url)) return { url: compiled[result.url], format: "module", shortCircuit: true };
  if (result.url.startsWith("file:") && result.url.endsWith(".ts") && !result.url.includes("/node_modules/"))
    return { ...result, format: "module" };
  return result;
}
