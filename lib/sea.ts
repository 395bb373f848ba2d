/**
 * The entry of pkgkit as one executable (`npm run compile`: `bun build --compile` of this file),
 * which needs neither Node nor a node_modules. A user's pkg.config.ts is still loaded at run time,
 * by the runtime compiled in; its `import ... from "pkgkit"` (and the package's other public
 * entries) resolve to the modules compiled into the executable, so the definitions it makes are
 * the ones the CLI reads, whatever is or is not installed beside the file.
 *
 * @module
 */
import * as cli from "./cli/main.ts";

declare const require: (id: string) => object;

declare const Bun: {
  plugin(plugin: { name: string; setup(builder: { module(specifier: string, load: () => { exports: object; loader: "object" }): void }): void }): void;
};

const entries: Record<string, () => object> = {
  pkgkit: () => require("./index.ts"),
  "pkgkit/recipes": () => require("../recipes/index.ts"),
  "pkgkit/registry": () => require("./registry/index.ts"),
  "pkgkit/cli": () => cli,
};
Bun.plugin({
  name: "pkgkit-embedded",
  setup(builder) {
    for (const [specifier, load] of Object.entries(entries)) builder.module(specifier, () => ({ exports: load(), loader: "object" }));
  },
});
// Statically imported, not awaited at the top: `--bytecode` needs a module without top-level await.
void cli.main();
