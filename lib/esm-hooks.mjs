// Module hooks for the pkgkit bin on Node: a .ts file outside node_modules (a pkg.config.ts and
// what it imports) loads as an ES module even where no package.json says "type": "module", as in
// a LinuxKit repository. Otherwise tsx compiles it to CommonJS, and its require() of pkgkit
// would run into the CLI that is importing it (a require(esm) cycle).
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.startsWith("file:") && result.url.endsWith(".ts") && !result.url.includes("/node_modules/"))
    return { ...result, format: "module" };
  return result;
}
