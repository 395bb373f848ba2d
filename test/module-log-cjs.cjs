// `node --require ./test/module-log-cjs.cjs ...`: appends the file URL of every CommonJS module
// Node compiles (what require() loads, and what lib/index.node.cjs compiles itself), which
// test/module-log.mjs's loader hook does not see (it sees ES modules, and a package's CommonJS
// entry imported from one), to $PKGKIT_MODULE_LOG, one a line. With tsx, pass both through
// NODE_OPTIONS: the process tsx starts inherits them.
"use strict";
const { appendFileSync } = require("node:fs");
const Module = require("node:module");
const { pathToFileURL } = require("node:url");

const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  appendFileSync(process.env.PKGKIT_MODULE_LOG, `${pathToFileURL(filename).href}\n`);
  return compile.call(this, content, filename);
};
