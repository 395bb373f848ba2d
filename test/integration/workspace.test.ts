// Workspaces through the pkgkit bin: no directory or a glob, typed dependencies, @lkt: values,
// `pkgkit graph`, cycles. Exit codes and output as a user sees them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { lsTree, must, pkgkit, ROOT, tmpRepo } from "../helpers.ts";

const tsx = join(ROOT, "node_modules/.bin/tsx");
const importLine = `import { definePackage } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\n`;
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

/** base ← left, right ← top (a diamond); top ← tool (a chain on top of it), lone; and a build.yml using @lkt:. */
function workspace() {
  const cfg = (image: string, imports: Record<string, string> = {}, extra = "") =>
    importLine +
    Object.entries(imports).map(([name, dir]) => `import ${name} from "../${dir}/pkg.config.ts";\n`).join("") +
    `export default definePackage({ image: "${image}", org: "ex"${extra} });\n`;
  return tmpRepo({
    ".gitignore": "scratch/\n",
    "pkgs/base/pkg.config.ts": cfg("base"),
    "pkgs/left/pkg.config.ts": cfg("left", { base: "base" }, ", buildArgs: { BASE: base }"),
    "pkgs/right/pkg.config.ts": cfg("right", { base: "base" }, ", buildArgs: { BASE: () => base }"),
    "pkgs/top/pkg.config.ts": cfg("top", { left: "left", right: "right" }, ", buildArgs: { L: left, R: right }"),
    "pkgs/tool/pkg.config.ts": cfg("tool", { top: "top" }, ", buildArgs: { TOP: top }"),
    "pkgs/lone/pkg.config.ts": cfg("lone", {}, `, buildArgs: { VERSION: "1" }`),
    "pkgs/yml/build.yml": "image: yml\norg: ex\nbuildArgs:\n  - TOOL=@lkt:pkg:../tool\n  - DEP_%=@lkt:pkgs:../{base,lone}\n",
    "pkgs/yml/Dockerfile": "ARG TOOL\nFROM ${TOOL}\n",
    "scratch/build.yml": "image: ignored\n",
    "node_modules/dep/build.yml": "image: vendored\n",
  });
}

const tagsOf = (stdout: string) => Object.fromEntries(stdout.trim().split("\n").map((l) => /^ex\/([^:]+):(.+)$/.exec(l)!.slice(1, 3) as [string, string]));

test("show-tag with no directory: every package of the workspace, dependencies first, .gitignore and node_modules skipped", () => {
  const repo = workspace();
  const r = pkgkit(["show-tag"], { cwd: repo.dir });
  assert.is(r.code, 0, r.stderr);
  const images = r.stdout.trim().split("\n").map((l) => l.split(":")[0]);
  assert.equal(images, ["ex/base", "ex/left", "ex/lone", "ex/right", "ex/top", "ex/tool", "ex/yml"]);
  const t = tagsOf(r.stdout);
  assert.is(t.base, lsTree(repo.dir, "pkgs/base"));
  assert.is(t.lone, lsTree(repo.dir, "pkgs/lone"));
  assert.is(t.left, sha1(`${lsTree(repo.dir, "pkgs/left")}\nBASE=ex/base:${t.base}`));
  assert.is(t.yml, sha1(`${lsTree(repo.dir, "pkgs/yml")}\nDEP_EX_BASE=ex/base:${t.base}\nDEP_EX_LONE=ex/lone:${t.lone}\nTOOL=ex/tool:${t.tool}`));

  // A committed change in the leaf: new tags for it and everything above it, none for the others.
  repo.write("pkgs/base/Dockerfile", "FROM scratch\n");
  repo.commit();
  const after = tagsOf(pkgkit(["show-tag"], { cwd: repo.dir }).stdout);
  assert.equal(Object.keys(t).filter((k) => t[k] !== after[k]), ["base", "left", "right", "top", "tool", "yml"]);
  repo.write("pkgs/tool/Dockerfile", "FROM scratch\n");
  repo.commit();
  const again = tagsOf(pkgkit(["show-tag"], { cwd: repo.dir }).stdout);
  assert.equal(Object.keys(t).filter((k) => after[k] !== again[k]), ["tool", "yml"]);
  repo.rm();
});

test("a quoted directory glob, and no directory from a subdirectory", () => {
  const repo = workspace();
  const r = pkgkit(["show-tag", "pkgs/[lr]*"], { cwd: repo.dir });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").map((l) => l.split(":")[0]), ["ex/left", "ex/lone", "ex/right"]);
  const sub = pkgkit(["show-tag"], { cwd: join(repo.dir, "pkgs/top") });
  assert.equal(sub.stdout.trim().split("\n").map((l) => l.split(":")[0]), ["ex/top"]);
  const none = pkgkit(["show-tag", "nope/*"], { cwd: repo.dir });
  assert.is(none.code, 2);
  assert.match(none.stderr, "pkgkit: nope/*: no package directory matches");
  repo.rm();
});

test("graph: readable text, and --json with nodes (ref, dir, tag) and edges (dependent → dependency)", () => {
  const repo = workspace();
  const tags = tagsOf(pkgkit(["show-tag"], { cwd: repo.dir }).stdout);
  const ref = (n: string) => `ex/${n}:${tags[n]}`;
  const text = pkgkit(["graph", "pkgs/top"], { cwd: repo.dir });
  assert.is(text.code, 0, text.stderr);
  assert.is(
    text.stdout,
    [
      `${ref("base")}  pkgs/base  (dependency, not selected)`,
      `${ref("left")}  pkgs/left  (dependency, not selected)`,
      `    BASE → ${ref("base")}`,
      `${ref("right")}  pkgs/right  (dependency, not selected)`,
      `    BASE → ${ref("base")}`,
      `${ref("top")}  pkgs/top`,
      `    L → ${ref("left")}`,
      `    R → ${ref("right")}`,
      "",
    ].join("\n"),
  );
  const json = JSON.parse(pkgkit(["graph", "--json"], { cwd: repo.dir }).stdout);
  const dir = (n: string) => join(repo.dir, "pkgs", n);
  assert.equal(json.nodes[0], { id: dir("base"), ref: ref("base"), dir: dir("base"), file: join(dir("base"), "pkg.config.ts"), tag: tags.base, dirty: false, dirtyReasons: [], selected: true });
  assert.equal(json.nodes.map((n: { ref: string }) => n.ref), ["base", "left", "lone", "right", "top", "tool", "yml"].map(ref));
  assert.equal(json.edges, [
    { from: dir("left"), to: dir("base"), arg: "BASE" },
    { from: dir("right"), to: dir("base"), arg: "BASE" },
    { from: dir("top"), to: dir("left"), arg: "L" },
    { from: dir("top"), to: dir("right"), arg: "R" },
    { from: dir("tool"), to: dir("top"), arg: "TOP" },
    { from: dir("yml"), to: dir("tool"), arg: "TOOL" },
    { from: dir("yml"), to: dir("base"), arg: "DEP_EX_BASE" },
    { from: dir("yml"), to: dir("lone"), arg: "DEP_EX_LONE" },
  ]);
  repo.rm();
});

test("graph shows why a dependent is dirty", () => {
  const repo = workspace();
  repo.write("pkgs/right/notes", "uncommitted\n");
  const out = pkgkit(["graph", "pkgs/top"], { cwd: repo.dir }).stdout;
  assert.match(out, /\n {4}dirty: uncommitted changes in pkgs\/right\n/);
  assert.match(out, /\n {4}dirty: build arg R is ex\/right:[0-9a-f]{40}-dirty-[0-9a-f]{7}, which is dirty\n?$/);
  repo.rm();
});

test("plan with no directory: build args carry the dependencies' references", () => {
  const repo = workspace();
  // Planning a build checks each package's Dockerfile (lib/contain.ts).
  for (const p of ["base", "left", "right", "top", "tool", "lone"]) repo.write(`pkgs/${p}/Dockerfile`, "FROM scratch\n");
  const r = pkgkit(["plan", "--json", "--arches", "amd64"], { cwd: repo.dir });
  assert.is(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  assert.equal(plan.packages.map((p: { name: string }) => p.name.split(":")[0]), ["ex/base", "ex/left", "ex/lone", "ex/right", "ex/top", "ex/tool", "ex/yml"]);
  const tags = tagsOf(pkgkit(["show-tag"], { cwd: repo.dir }).stdout);
  const top = plan.steps.find((s: { package: string }) => s.package.startsWith("ex/top:"));
  assert.ok(top.command.argv.includes(`L=ex/left:${tags.left}-amd64`), top.command.argv.join(" "));
  repo.rm();
});

test("a config file run directly resolves what it imports", () => {
  const repo = workspace();
  const tags = tagsOf(pkgkit(["show-tag"], { cwd: repo.dir }).stdout);
  assert.is(must([tsx, join(repo.dir, "pkgs/left/pkg.config.ts"), "show-tag"], repo.dir), `ex/left:${tags.left}\n`);
  repo.rm();
});

test("cycles, exit 2: between imports, and through functions; each member named", () => {
  const repo = tmpRepo({
    "a/pkg.config.ts": `${importLine}import b from "../b/pkg.config.ts";\nexport default definePackage({ image: "a", buildArgs: { B: b } });\n`,
    "b/pkg.config.ts": `${importLine}import a from "../a/pkg.config.ts";\nexport default definePackage({ image: "b", buildArgs: { A: a } });\n`,
    "c/pkg.config.ts": `${importLine}import d from "../d/pkg.config.ts";\nexport default definePackage({ image: "c", buildArgs: { D: () => d } });\n`,
    "d/pkg.config.ts": `${importLine}import e from "../e/pkg.config.ts";\nexport default definePackage({ image: "d", buildArgs: { E: () => e } });\n`,
    "e/pkg.config.ts": `${importLine}import c from "../c/pkg.config.ts";\nexport default definePackage({ image: "e", buildArgs: { C: () => c } });\n`,
  });
  const f = (m: string) => join(repo.dir, m, "pkg.config.ts");
  const imports = pkgkit(["show-tag", "a", "b"], { cwd: repo.dir });
  assert.is(imports.code, 2);
  assert.is(imports.stderr, `pkgkit: dependency cycle: these package files import each other, so one is used before it is defined:\n  ${f("a")}\n  → ${f("b")}\n  → ${f("a")}\nA package cannot depend on itself, directly or through others; remove one of these imports.\n`);
  const functions = pkgkit(["graph", "c"], { cwd: repo.dir });
  assert.is(functions.code, 2);
  assert.is(
    functions.stderr,
    `pkgkit: dependency cycle: 3 packages depend on each other, so none can be tagged first; remove one of these build args:\n` +
      `  ${f("c")}: field "buildArgs.D" → ${f("d")}\n  ${f("d")}: field "buildArgs.E" → ${f("e")}\n  ${f("e")}: field "buildArgs.C" → ${f("c")}\n`,
  );
  repo.rm();
});

test("help: graph is a command; commands take directories or globs", () => {
  const r = pkgkit(["graph", "--help"]);
  assert.is(r.code, 0);
  assert.ok(r.stdout.startsWith("usage: pkgkit graph [options] [<dir|glob>...]"), r.stdout);
  assert.match(pkgkit([]).stdout, "\n  graph     print the packages and the dependencies between them");
});

test.run();
