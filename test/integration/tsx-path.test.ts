// `tsx pkg.config.ts <command>`, the headline usage, as a user runs it: pkgkit reached through
// node_modules/pkgkit, in a repository with no package.json (tsx compiles the config to CommonJS,
// so `import "pkgkit"` is `require("pkgkit")`) or with "type": "module" (an ES module import).
// While the bundle (lib/dist/, lib/bundle.mjs) is fresh, pkgkit loads from it and none of its
// sources loads; otherwise (sources edited, PKGKIT_NO_BUNDLE) from the sources as before. Either
// way the output and exit codes are the same. Not timed: bench/startup.ts times it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundledCopy, lsTree, must, ROOT, sh, tmpRepo } from "../helpers.ts";

const TSX = join(ROOT, "node_modules/.bin/tsx");
const LAYOUTS = ["commonjs", "module"] as const;
type Layout = (typeof LAYOUTS)[number];

/** A repository whose node_modules/pkgkit is `pkg` (the checkout, or a copy of it); "module" adds a package.json saying so. */
function layoutRepo(layout: Layout, files: Record<string, string>, pkg = ROOT) {
  const repo = tmpRepo({
    ".gitignore": "node_modules\n",
    ...(layout === "module" ? { "package.json": '{ "type": "module" }\n' } : {}),
    ...files,
  });
  mkdirSync(join(repo.dir, "node_modules"));
  symlinkSync(pkg, join(repo.dir, "node_modules/pkgkit"));
  return repo;
}

const imports = 'import { definePackage } from "pkgkit";\n';
const FILES = {
  "ts/pkg.config.ts": `${imports}export default definePackage({ image: "ts", org: "tsxpath" });\n`,
  "ts/Dockerfile": "FROM scratch\n",
  // Packages that depend on each other: app's config imports base's, whose definition is a build arg.
  "base/pkg.config.ts": `${imports}export default definePackage({ image: "base", org: "tsxpath", arches: ["amd64"] });\n`,
  "base/Dockerfile": "FROM scratch\n",
  "app/pkg.config.ts": `${imports}import base from "../base/pkg.config.ts";\nexport default definePackage({ image: "app", org: "tsxpath", arches: ["amd64"], buildArgs: { BASE: base } });\n`,
  "app/Dockerfile": "ARG BASE\nFROM scratch\n",
  "bad/pkg.config.ts": `${imports}export default definePackage({ image: "bad", arches: ["x86"] });\n`,
};

const logs = mkdtempSync(join(tmpdir(), "pkgkit-tsxpath-"));
test.after(() => rmSync(logs, { recursive: true, force: true }));
let runs = 0;

/**
 * Run `tsx <args>` in `dir`, logging every module Node loads: ES modules through
 * test/module-log.mjs's hook, CommonJS ones (what require() loads) through test/module-log-cjs.cjs.
 * NODE_OPTIONS reaches the process tsx starts.
 */
function tsx(dir: string, args: string[], env: Record<string, string> = {}) {
  const log = join(logs, `${++runs}.txt`);
  writeFileSync(log, "");
  const r = sh([TSX, ...args], dir, {
    NODE_OPTIONS: `--require ${join(ROOT, "test/module-log-cjs.cjs")} --import ${join(ROOT, "test/module-log.mjs")}`,
    PKGKIT_MODULE_LOG: log,
    PKGKIT_NO_BUNDLE: "",
    ...env,
  });
  const loaded = readFileSync(log, "utf8").trim().split("\n");
  return { ...r, loaded };
}
/** The files of `pkg` a run loaded, as paths from it. */
const within = (loaded: string[], pkg: string) => [...new Set(loaded.filter((u) => u.startsWith(`file://${pkg}/`)).map((u) => u.slice(`file://${pkg}/`.length)))];
const sources = (files: string[]) => files.filter((f) => /^(lib|recipes)\/.*\.ts$/.test(f));

for (const layout of LAYOUTS) {
  test(`${layout}: on a fresh bundle, tsx pkg.config.ts loads pkgkit once, from the bundle's CommonJS build, and none of its sources`, () => {
    const repo = layoutRepo(layout, FILES);
    try {
      const r = tsx(repo.dir, ["ts/pkg.config.ts", "show-tag"]);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stdout, `tsxpath/ts:${lsTree(repo.dir, "ts")}\n`);
      const files = within(r.loaded, ROOT);
      assert.equal(sources(files), [], "no source of pkgkit");
      // One copy of pkgkit: its CommonJS build, the CLI in it, whichever way the config imports it.
      assert.ok(files.includes("lib/dist/index.cjs"), files.join(" "));
      assert.ok(files.includes(layout === "commonjs" ? "lib/index.node.cjs" : "lib/index.node.mjs"), files.join(" "));
      assert.equal(files.filter((f) => f.startsWith("lib/dist/") && f !== "lib/dist/index.cjs"), [], "no ES module of the bundle beside it");
      // The packages pkgkit bundles (zod, yaml, fflate, zx) load from the bundle, not as packages.
      assert.equal(r.loaded.filter((u) => /\/node_modules\/(zod|yaml|fflate|zx)\//.test(u)), []);
      // The same run from the sources: the check sees them where they are loaded.
      const s = tsx(repo.dir, ["ts/pkg.config.ts", "show-tag"], { PKGKIT_NO_BUNDLE: "1" });
      assert.is(s.stdout, r.stdout);
      const fromSources = within(s.loaded, ROOT);
      assert.ok(fromSources.includes("lib/index.ts") && fromSources.includes("lib/cli/main.ts"), fromSources.join(" "));
      assert.equal(fromSources.filter((f) => f.startsWith("lib/dist/")), [], "PKGKIT_NO_BUNDLE: no file of the bundle");
    } finally {
      repo.rm();
    }
  });

  test(`${layout}: the bundle and the sources give the same output and exit codes (show-tag, plan, --help, a bad spec, errors, dependent packages)`, () => {
    const repo = layoutRepo(layout, FILES);
    try {
      const cases: [string, string[]][] = [
        ["show-tag", ["ts/pkg.config.ts", "show-tag"]],
        ["show-tag --json", ["ts/pkg.config.ts", "show-tag", "--json", "--hash", "dev"]],
        ["plan", ["ts/pkg.config.ts", "plan", "--hash", "h"]],
        ["plan --json", ["ts/pkg.config.ts", "plan", "--json", "--hash", "h"]],
        ["--help", ["ts/pkg.config.ts", "--help"]],
        ["plan --help", ["ts/pkg.config.ts", "plan", "--help"]],
        ["no command", ["ts/pkg.config.ts"]],
        ["unknown option", ["ts/pkg.config.ts", "show-tag", "--orgg", "x"]],
        ["unknown command", ["ts/pkg.config.ts", "bulid"]],
        ["a bad spec", ["bad/pkg.config.ts", "show-tag"]],
        ["a package that depends on another: show-tag", ["app/pkg.config.ts", "show-tag"]],
        ["a package that depends on another: plan", ["app/pkg.config.ts", "plan", "--json"]],
        ["the package depended on", ["base/pkg.config.ts", "show-tag"]],
      ];
      const outcome = (args: string[], env: Record<string, string>) => {
        const r = tsx(repo.dir, args, env);
        return { code: r.code, stdout: r.stdout, stderr: r.stderr, bundle: within(r.loaded, ROOT).some((f) => f.startsWith("lib/dist/")) };
      };
      const seen = new Map<string, { code: number; stdout: string; stderr: string }>();
      for (const [name, args] of cases) {
        const bundle = outcome(args, {});
        const source = outcome(args, { PKGKIT_NO_BUNDLE: "1" });
        assert.ok(bundle.bundle && !source.bundle, `${name}: the bundle ran, then the sources`);
        assert.equal({ ...bundle, bundle: true }, { ...source, bundle: true }, `${name}: the same from the bundle as from the sources`);
        const { bundle: _, ...result } = bundle;
        seen.set(name, result);
      }
      // And what that is.
      const tag = (dir: string) => lsTree(repo.dir, dir);
      assert.equal(seen.get("show-tag"), { code: 0, stdout: `tsxpath/ts:${tag("ts")}\n`, stderr: "" });
      assert.is(seen.get("--help")!.code, 0);
      assert.ok(seen.get("--help")!.stdout.startsWith("usage: ts/pkg.config.ts <command> [options]"), seen.get("--help")!.stdout);
      assert.is(seen.get("no command")!.code, 2);
      assert.is(seen.get("unknown option")!.code, 2);
      assert.ok(seen.get("unknown option")!.stderr.startsWith("pkgkit: unknown option --orgg\n"), seen.get("unknown option")!.stderr);
      assert.is(seen.get("unknown command")!.code, 2);
      assert.equal(seen.get("a bad spec"), {
        code: 2,
        stdout: "",
        stderr: `pkgkit: ${join(repo.dir, "bad/pkg.config.ts")}: field "arches[0]": "x86" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64\n`,
      });
      // app's tag folds in base's (so it is not its tree's): as the bin, from the sources, gives it.
      const appTag = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", "app"], repo.dir, { PKGKIT_NO_BUNDLE: "1" });
      assert.match(appTag, /^tsxpath\/app:[0-9a-f]{40}\n$/);
      assert.is.not(appTag, `tsxpath/app:${tag("app")}\n`);
      assert.is(seen.get("a package that depends on another: show-tag")!.stdout, appTag);
      const plan = JSON.parse(seen.get("a package that depends on another: plan")!.stdout) as { packages: { name: string }[] };
      assert.equal(plan.packages.map((p) => `${p.name}\n`), [`tsxpath/base:${tag("base")}\n`, appTag], "the plan builds base, then app");
    } finally {
      repo.rm();
    }
  });
}

test("the bin on a config importing \"pkgkit\" (both layouts): the public entry of the bin's own build (or its light entry, for a config compiled from the cache), which its CLI shares, not the CommonJS build", () => {
  for (const layout of LAYOUTS) {
    const repo = layoutRepo(layout, FILES);
    try {
      const log = join(logs, `${++runs}.txt`);
      writeFileSync(log, "");
      const r = sh([process.execPath, "--require", join(ROOT, "test/module-log-cjs.cjs"), "--import", join(ROOT, "test/module-log.mjs"), join(ROOT, "lib/bin.mjs"), "show-tag", "ts", "app"], repo.dir, { PKGKIT_MODULE_LOG: log, PKGKIT_NO_BUNDLE: "" });
      assert.is(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^tsxpath/ts:${lsTree(repo.dir, "ts")}\\ntsxpath/app:[0-9a-f]{40}\\n$`));
      const loaded = readFileSync(log, "utf8").trim().split("\n");
      const files = within(loaded, ROOT);
      // The bin's build ran (its entry noted itself, see test/module-log.mjs), and the config got
      // pkgkit from it: definePackage alone, lib/config-cache.ts gives the compiled config
      // lib/dist/bin-define.mjs.
      assert.ok(loaded.includes("bundle:lib/bin-entry.ts"), loaded.join(" "));
      assert.ok(files.includes("lib/dist/bin-index.mjs") || files.includes("lib/dist/bin-define.mjs"), files.join(" "));
      assert.equal(files.filter((f) => /^lib\/dist\/(cli|index|define)\.mjs$/.test(f)), [], `${layout}: not the ES module build`);
      assert.not.ok(files.includes("lib/dist/index.cjs"), `${layout}: no second copy of pkgkit`);
      assert.equal(sources(files), [], layout);
    } finally {
      repo.rm();
    }
  }
});

test("package.json's exports: Node gets the shims (import, require), Bun and Deno their own (import; Bun's require lib/index.ts as before); types lib/index.ts", () => {
  const repo = layoutRepo("module", {});
  try {
    writeFileSync(join(repo.dir, "resolve.mjs"), 'import { createRequire } from "node:module";\nconsole.log(import.meta.resolve("pkgkit"));\nconsole.log(createRequire(import.meta.url).resolve("pkgkit"));\n');
    const [esm, cjs] = must([process.execPath, "resolve.mjs"], repo.dir).trim().split("\n");
    assert.is(esm, `file://${ROOT}/lib/index.node.mjs`);
    assert.is(cjs, join(ROOT, "lib/index.node.cjs"));
    writeFileSync(join(repo.dir, "resolve.ts"), 'console.log(import.meta.resolve("pkgkit"));\n');
    writeFileSync(join(repo.dir, "resolve-bun.ts"), 'console.log(import.meta.resolve("pkgkit"));\nconsole.log(require.resolve("pkgkit"));\n');
    const bun = must([join(ROOT, "node_modules/.bin/bun"), "resolve-bun.ts"], repo.dir);
    // An ES module with a top-level await (lib/index.deno-bun.mjs) is no use to require().
    assert.is(bun, `file://${ROOT}/lib/index.deno-bun.mjs\n${join(ROOT, "lib/index.ts")}\n`);
    const deno = must([join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--quiet", "resolve.ts"], repo.dir);
    assert.is(deno, `file://${ROOT}/lib/index.deno-bun.mjs\n`);
    const exports = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, Record<string, unknown>> }).exports["."]!;
    assert.is(exports.types, "./lib/index.ts");
  } finally {
    repo.rm();
  }
});

test("a stale bundle never runs: sources edited, tsx pkg.config.ts loads them (a copy of the package, both layouts)", () => {
  const copy = bundledCopy("pkgkit-tsxpath-copy-");
  const repos: { rm(): void }[] = [];
  try {
    // Which runs shows in the output: the bundle's CommonJS build says so when it loads, and a
    // stand-in for its ES module CLI (what lib/index.ts imported by path takes) prints its own line.
    const marker = "the bundle's CommonJS build\n";
    writeFileSync(join(copy, "lib/dist/index.cjs"), `${readFileSync(join(copy, "lib/dist/index.cjs"), "utf8")}\nprocess.stdout.write(${JSON.stringify(marker)});\n`);
    writeFileSync(join(copy, "lib/dist/cli.mjs"), 'export async function main() {}\nexport async function runPackageFile(defs) { console.log(`the bundle\'s CLI: ${defs.map((d) => d.spec.image)}`); }\n');
    const source = join(copy, "lib/registry/types.ts");
    const bytes = readFileSync(source);
    for (const layout of LAYOUTS) {
      const repo = layoutRepo(layout, { "ts/pkg.config.ts": FILES["ts/pkg.config.ts"], "ts/Dockerfile": "FROM scratch\n" }, copy);
      repos.push(repo);
      const run = () => {
        const r = tsx(repo.dir, ["ts/pkg.config.ts", "show-tag"]);
        assert.is(r.code, 0, r.stderr);
        return { stdout: r.stdout, files: within(r.loaded, copy) };
      };
      const tagLine = `tsxpath/ts:${lsTree(repo.dir, "ts")}\n`;
      const fresh = run();
      assert.is(fresh.stdout, marker + tagLine, `${layout}, fresh: the bundle runs`);
      assert.equal(sources(fresh.files), [], `${layout}, fresh: no source`);
      writeFileSync(source, Buffer.concat([bytes, Buffer.from(" ")]));
      const stale = run();
      assert.is(stale.stdout, tagLine, `${layout}, lib/registry/types.ts edited: the sources run`);
      assert.equal(stale.files.filter((f) => f.startsWith("lib/dist/")), [], `${layout}, stale: no file of the bundle`);
      assert.ok(stale.files.includes("lib/index.ts") && stale.files.includes("lib/registry/types.ts"), stale.files.join(" "));
      writeFileSync(source, bytes);
      assert.is(run().stdout, marker + tagLine, `${layout}: the sources back as built, the bundle is fresh again`);
      // The sources' own entry, imported by path (not through the package's exports), takes the
      // bundle's CLI too while it is fresh.
      writeFileSync(join(repo.dir, "ts/pkg.config.ts"), FILES["ts/pkg.config.ts"].replace('"pkgkit"', JSON.stringify(join(copy, "lib/index.ts"))));
      repo.commit();
      const byPath = run();
      assert.is(byPath.stdout, "the bundle's CLI: ts\n", `${layout}: lib/index.ts imported by path`);
      assert.ok(byPath.files.includes("lib/index.ts") && !byPath.files.includes("lib/cli/main.ts"), byPath.files.join(" "));
      writeFileSync(source, Buffer.concat([bytes, Buffer.from(" ")]));
      assert.is(run().stdout, `tsxpath/ts:${lsTree(repo.dir, "ts")}\n`, `${layout}: by path, stale: the sources' CLI`);
      // PKGKIT_NO_BUNDLE: the sources, fresh or not.
      assert.is(tsx(repo.dir, ["ts/pkg.config.ts", "show-tag"], { PKGKIT_NO_BUNDLE: "1" }).stdout, `tsxpath/ts:${lsTree(repo.dir, "ts")}\n`);
      writeFileSync(source, bytes);
    }
  } finally {
    for (const r of repos) r.rm();
    rmSync(copy, { recursive: true, force: true });
  }
});

test.run();
