// `node --import ./test/module-log.mjs ...`: appends the URL of every ES module Node loads (a
// package's CommonJS entry included, not the files it requires) to the file $PKGKIT_MODULE_LOG,
// one a line. Written from the hooks thread as each load happens, so nothing is lost at exit.
import { register } from "node:module";

const hook = `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.PKGKIT_MODULE_LOG, url + "\\n");
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
