#!/usr/bin/env node
// The pkgkit command. Deno and Bun load the TypeScript sources natively. On Node, the bundle
// lib/dist/cli.mjs (see bundle.mjs) is used while it was built from the sources on disk; TypeScript
// support (tsx) is registered only when a .ts file must be loaded: the sources, or a user's pkg.config.ts.
import { readFileSync } from "node:fs";
import { SOURCES_RECORD, sourcesUnchanged } from "./bundle-sources.cjs";

let typeScriptReady;
/** @param {URL | undefined} bundle the fresh bundle, whose public entry then stands in for the sources' */
async function loadTypeScript(bundle) {
  typeScriptReady ??= (async () => {
    const { register } = await import("tsx/esm/api");
    register();
    // Registered after tsx, so it sees (and adjusts) what tsx resolves.
    const index = bundle && { source: new URL("./index.ts", import.meta.url).href, bundle: new URL("./index.mjs", bundle).href };
    (await import("node:module")).register("./esm-hooks.mjs", { parentURL: import.meta.url, data: { index } });
  })();
  return typeScriptReady;
}

/** The bundle, if it exists and the source files it was built from are on disk as they were then. */
function freshBundle() {
  if (process.env.PKGKIT_NO_BUNDLE) return undefined;
  let record;
  try {
    record = JSON.parse(readFileSync(SOURCES_RECORD, "utf8"));
  } catch {
    return undefined;
  }
  if (!sourcesUnchanged(new URL("../", import.meta.url), record)) return undefined;
  return new URL("./dist/cli.mjs", import.meta.url);
}

let cli;
if (typeof globalThis.Deno !== "undefined" || typeof globalThis.Bun !== "undefined") {
  cli = await import("./cli/main.ts");
} else {
  const bundle = freshBundle();
  // load.ts calls this before importing a pkg.config.ts.
  globalThis[Symbol.for("pkgkit.loadTypeScript")] = () => loadTypeScript(bundle);
  if (!bundle) await loadTypeScript(undefined);
  cli = await import(bundle ? bundle.href : "./cli/main.ts");
}
// Not awaited: a config file whose top-level await never settles must not keep this module
// pending, or Bun spins instead of emitting beforeExit, which load.ts waits for to report it.
cli.main();
