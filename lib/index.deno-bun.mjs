// Written by lib/bundle.mjs from the exports of its Deno and Bun build of lib/index.ts: edit
// that, then run `node lib/bundle.mjs`. test/unit/entry-shims.test.ts checks these names are its.
//
// `import "pkgkit"` on Deno and Bun (package.json exports: "deno", "bun"): that entry of
// lib/dist/deno-bun/ while it was built from the sources on disk (see lib/bundle.mjs), else the
// sources, which Deno and Bun compile themselves. Every entry decides alike (lib/deno-bun-fresh.mjs,
// once a process), so that a process has one copy of each module: the CLI that runs a config file
// is the one its definePackage came from.
// On Bun, the bytecode build of the same entries (lib/dist/deno-bun/bun.js) comes first, while the
// Bun running it is the one that built it.
import { bunEntry, denoBunBundleIsFresh } from "./deno-bun-fresh.mjs";

// Named by expressions, not string literals: Deno would read every module of both (the bundle's
// chunks and the sources) before running anything, whichever is taken.
const at = (path) => new URL(path, import.meta.url).href;
const pkgkit = denoBunBundleIsFresh() ? ((await bunEntry("index")) ?? (await import(at("./dist/deno-bun/index.mjs")))) : await import(at("./index.ts"));

export const {
  ExitCode,
  InputError,
  PkgkitError,
  SpecError,
  StalePlanError,
  archRef,
  buildxBuilder,
  completeSession,
  createRegistry,
  createSession,
  createSigner,
  defaultShell,
  definePackage,
  defineWorkspace,
  detectBuilder,
  directShell,
  formatPlan,
  formatRef,
  imageRef,
  indexRef,
  legacyBuilder,
  loadPackages,
  parseImageRef,
  parsePlanFile,
  plan,
  planByArch,
  resolvePackages,
  resolveSettings,
  run,
  selectPlan,
  withArch,
} = pkgkit;
