#!/usr/bin/env node
// The pkgkit command. Deno and Bun load the TypeScript sources natively. On Node, the bundle
// lib/dist/cli.mjs (see bundle.mjs) is used while it is up to date; TypeScript support (tsx) is
// registered only when a .ts file must be loaded: the sources, or a user's pkg.config.ts.
import { readdirSync, statSync } from "node:fs";

let typeScriptReady;
async function loadTypeScript() {
  typeScriptReady ??= (async () => {
    const { register } = await import("tsx/esm/api");
    register();
    // Registered after tsx, so it sees (and adjusts) what tsx resolves.
    (await import("node:module")).register("./esm-hooks.mjs", import.meta.url);
  })();
  return typeScriptReady;
}

/** The bundle, if it exists and is newer than every source file it was built from. */
function freshBundle() {
  if (process.env.PKGKIT_NO_BUNDLE) return undefined;
  const bundle = new URL("./dist/cli.mjs", import.meta.url);
  const built = statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return undefined;
  // Every source under lib/ (sign/, registry/, ...) and recipes/.
  for (const dir of ["./", "../recipes/"]) {
    const url = new URL(dir, import.meta.url);
    for (const f of readdirSync(url, { recursive: true }))
      if (f.endsWith(".ts") && !f.startsWith("dist/") && statSync(new URL(f, url)).mtimeMs > built) return undefined;
  }
  return bundle;
}

let cli;
if (typeof globalThis.Deno !== "undefined" || typeof globalThis.Bun !== "undefined") {
  cli = await import("./cli/main.ts");
} else {
  const bundle = freshBundle();
  // load.ts calls this before importing a pkg.config.ts.
  globalThis[Symbol.for("pkgkit.loadTypeScript")] = loadTypeScript;
  if (!bundle) await loadTypeScript();
  cli = await import(bundle ? bundle.href : "./cli/main.ts");
}
// Not awaited: a config file whose top-level await never settles must not keep this module
// pending, or Bun spins instead of emitting beforeExit, which load.ts waits for to report it.
cli.main();
