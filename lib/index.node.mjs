// Written by lib/bundle.mjs from the exports of its build of lib/index.ts: edit lib/index.ts, then
// run `node lib/bundle.mjs`. test/unit/entry-shims.test.ts checks these names are lib/index.ts's.
//
// `import "pkgkit"` on Node (package.json exports: "node", "import"). While the bundle was built
// from the sources on disk (lib/bundle.mjs), the bundle's public entry: in the bin, the one inside
// the bin's own build (lib/dist/bin-index.mjs stands for it), so that a config file shares the
// CLI's modules; elsewhere (`tsx pkg.config.ts`), the CommonJS build with the CLI in it, loaded as
// one file (lib/index.node.cjs). Otherwise the sources (lib/index.ts, which tsx compiles). Deno
// and Bun have entries of their own (lib/index.deno-bun.mjs).
import { createRequire } from "node:module";
import { bundleIsFresh, binIsMain } from "./bundle-sources.cjs";

const pkgkit = !bundleIsFresh()
  ? await import("./index.ts")
  : binIsMain()
    ? await import("./dist/bin-index.mjs")
    : createRequire(import.meta.url)("./index.node.cjs");

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
