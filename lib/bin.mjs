#!/usr/bin/env node
// The pkgkit command. Node needs tsx to load TypeScript (ours and the users' pkg.config.ts);
// Deno and Bun load it natively.
if (typeof globalThis.Deno === "undefined" && typeof globalThis.Bun === "undefined") {
  const { register } = await import("tsx/esm/api");
  register();
  // Registered after tsx, so it sees (and adjusts) what tsx resolves.
  (await import("node:module")).register("./esm-hooks.mjs", import.meta.url);
}
const { main } = await import("./cli.ts");
await main();
