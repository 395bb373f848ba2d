#!/usr/bin/env node
// The pkgkit command. Node needs tsx to load TypeScript (ours and the users' pkg.config.ts);
// Deno and Bun load it natively.
if (typeof globalThis.Deno === "undefined" && typeof globalThis.Bun === "undefined") {
  const { register } = await import("tsx/esm/api");
  register();
}
const { main } = await import("./cli.ts");
await main();
