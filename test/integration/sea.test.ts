// pkgkit as one executable (lib/sea.ts, compiled by lib/compile.mjs with `bun build --compile`):
// it loads pkg.config.ts files at run time, their `import "pkgkit"` resolving to the modules
// compiled in, and prints what the Node bin prints.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";

const out = mkdtempSync(join(tmpdir(), "pkgkit-sea-"));
const exe = join(out, "pkgkit");
must([process.execPath, join(ROOT, "lib/compile.mjs"), exe]);

const base = 'import { definePackage } from "pkgkit";\nexport default definePackage({ image: "base", org: "sea" });\n';
const app =
  'import { definePackage } from "pkgkit";\nimport { MediaTypes } from "pkgkit/registry";\nimport base from "../base/pkg.config.ts";\n' +
  'export default definePackage({ image: MediaTypes.ociIndex ? "app" : "none", org: "sea", buildArgs: { BASE: base } });\n';
const repo = tmpRepo({
  "base/pkg.config.ts": base,
  "base/Dockerfile": "FROM scratch\n",
  "app/pkg.config.ts": app,
  "app/Dockerfile": "ARG BASE\nFROM ${BASE}\n",
  "bad/pkg.config.ts": 'import { definePackage } from "pkgkit";\nexport default definePackage({ image: "bad", org: "sea", arches: ["s390"] });\n',
  "bad/Dockerfile": "FROM scratch\n",
  ".gitignore": "node_modules\n",
});
test.after(() => {
  repo.rm();
  rmSync(out, { recursive: true, force: true });
});

const run = (args: string[], cwd: string) => sh([exe, ...args], cwd);

test("on examples/: show-tag and plan --json print what the Node bin prints", () => {
  const cwd = join(ROOT, "examples");
  for (const args of [["show-tag", "hello", "hello-yml"], ["plan", "--json", "hello", "hello-yml"]]) {
    const [sea, node] = [run(args, cwd), pkgkit(args, { cwd })];
    assert.is(sea.code, 0, `${args.join(" ")}: ${sea.stderr}`);
    assert.is(sea.stdout, node.stdout, args.join(" "));
  }
  assert.match(run(["show-tag", "hello"], cwd).stdout, /^pkgkit-examples\/hello:[0-9a-f]{40}\n$/);
});

test("a pkg.config.ts's pkgkit imports resolve to the executable's own modules, not to a node_modules beside it", () => {
  // The Node bin needs pkgkit installed beside the files: a link to this checkout.
  mkdirSync(join(repo.dir, "node_modules"));
  symlinkSync(ROOT, join(repo.dir, "node_modules/pkgkit"));
  const expected = pkgkit(["show-tag", "app", "base"], { cwd: repo.dir });
  assert.is(expected.code, 0, expected.stderr);
  assert.match(expected.stdout, /^sea\/app:[0-9a-f]{40}\nsea\/base:[0-9a-f]{40}\n$/);
  const badExpected = pkgkit(["show-tag", "bad"], { cwd: repo.dir });

  // Without any node_modules, and with a pkgkit there that fails on import: the same output.
  rmSync(join(repo.dir, "node_modules"), { recursive: true });
  assert.is(run(["show-tag", "app", "base"], repo.dir).stdout, expected.stdout);
  mkdirSync(join(repo.dir, "node_modules/pkgkit"), { recursive: true });
  writeFileSync(join(repo.dir, "node_modules/pkgkit/package.json"), '{ "name": "pkgkit", "type": "module", "exports": "./index.js" }\n');
  writeFileSync(join(repo.dir, "node_modules/pkgkit/index.js"), 'throw new Error("the installed pkgkit was loaded");\n');
  const sea = run(["show-tag", "app", "base"], repo.dir);
  assert.is(sea.code, 0, sea.stderr);
  assert.is(sea.stdout, expected.stdout);

  // Bad input: the same message and exit code.
  const bad = run(["show-tag", "bad"], repo.dir);
  assert.is(bad.code, 2);
  assert.is(bad.stderr, badExpected.stderr);
});

test.run();
