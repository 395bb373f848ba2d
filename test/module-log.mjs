// `node --import ./test/module-log.mjs ...`: appends the URL of every ES module Node loads (a
// package's CommonJS entry included, not the files it requires) to the file $PKGKIT_MODULE_LOG,
// one a line. Written from the hooks thread as each load happens, so nothing is lost at exit.
//
// At exit two more kinds follow. The CommonJS files require() loaded (require.cache): the bin's
// build requires the packages it does not bundle. And the bin's build (lib/dist/bin.cjs) is one
// file holding pkgkit's modules and those of the packages bundled in, each of which notes its name
// once it has run (lib/bundle.mjs, pkgkit.evaluated): those names, each as `bundle:<path from the
// package root>` (lib/bin-entry.ts, its entry, among them whenever it ran). And Node's own modules
// loaded in this thread (process.moduleLoadList), each as `builtin:<name>` (`builtin:crypto`).
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const hook = `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.PKGKIT_MODULE_LOG, url + "\\n");
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);

const requireCache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  const evaluated = globalThis[Symbol.for("pkgkit.evaluated")] ?? [];
  const builtins = process.moduleLoadList.flatMap((m) => (/^NativeModule (?!internal\/)/.test(m) ? [`builtin:${m.slice("NativeModule ".length)}`] : []));
  const lines = [...Object.keys(requireCache).map((file) => pathToFileURL(file).href), ...evaluated.map((name) => `bundle:${name}`), ...builtins];
  if (lines.length) appendFileSync(process.env.PKGKIT_MODULE_LOG, lines.map((l) => `${l}\n`).join(""));
});
