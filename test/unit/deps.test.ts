// Dependencies between packages: tags that follow them, cycles, LinuxKit's @lkt: values.
// Real git on throwaway repositories, no engine.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeDefinition, type PackageDefinition } from "../../lib/define.ts";
import { formatGraph, graphJson, resolveGraph, resolvePackages, indexRef, type Package, type ResolveOptions } from "../../lib/package.ts";
import { loadPackages } from "../../lib/load.ts";
import { defaultShell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";
import { lsTree, ROOT, tmpRepo } from "../helpers.ts";

const shell = await defaultShell();
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const importLine = `import { definePackage } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\n`;

async function errorOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: Error) => e);
  if (!err) throw new Error("expected an error");
  assert.instance(err, InputError);
  return err.message;
}

/**
 * Seven packages: a diamond (base ← left, right ← top), a chain (tool ← tool2 ← tool3) and a
 * lone package with literal build args. Definitions refer to each other as objects, as imports do.
 */
function workspace() {
  const names = ["base", "left", "right", "top", "tool", "tool2", "tool3", "lone"];
  const repo = tmpRepo(Object.fromEntries(names.map((n) => [`pkgs/${n}/Dockerfile`, `FROM scratch\n# ${n}\n`])));
  const def = (name: string, buildArgs: Record<string, unknown> = {}) =>
    makeDefinition({ image: name, org: "ex", buildArgs }, join(repo.dir, "pkgs", name, "pkg.config.ts"));
  const base = def("base");
  const left = def("left", { BASE: base, FLAVOUR: "sour" });
  const right = def("right", { BASE: () => base });
  const top = def("top", { L: left, R: right });
  const tool = def("tool");
  const tool2 = def("tool2", { TOOL: tool });
  const tool3 = def("tool3", { TOOL2: tool2 });
  const lone = def("lone", { VERSION: "1.2" });
  const defs = { base, left, right, top, tool, tool2, tool3, lone };
  const tags = async (options: ResolveOptions = {}) => {
    const pkgs = await resolvePackages(shell, Object.values(defs), options);
    return Object.fromEntries(Object.keys(defs).map((k, i) => [k, pkgs[i]!])) as Record<keyof typeof defs, Package>;
  };
  return { repo, defs, tags };
}

const changed = (a: Record<string, Package>, b: Record<string, Package>) =>
  Object.keys(a).filter((k) => a[k]!.tag !== b[k]!.tag).sort();

test("a committed change in a leaf changes exactly the tags of the packages depending on it", async () => {
  const { repo, tags } = workspace();
  const before = await tags();
  repo.write("pkgs/base/Dockerfile", "FROM scratch\n# base, edited\n");
  repo.commit();
  const afterBase = await tags();
  assert.equal(changed(before, afterBase), ["base", "left", "right", "top"]);
  repo.write("pkgs/tool/extra", "x\n");
  repo.commit();
  assert.equal(changed(afterBase, await tags()), ["tool", "tool2", "tool3"]);
  repo.rm();
});

test("a change in a dependent leaves what it depends on alone", async () => {
  const { repo, tags } = workspace();
  const before = await tags();
  repo.write("pkgs/top/Dockerfile", "FROM scratch\n# top, edited\n");
  repo.commit();
  assert.equal(changed(before, await tags()), ["top"]);
  repo.write("pkgs/tool2/Dockerfile", "FROM scratch\n# tool2, edited\n");
  repo.commit();
  const after = await tags();
  assert.equal(changed(before, after), ["tool2", "tool3", "top"]);
  repo.rm();
});

test("clean packages without dependencies keep git ls-tree's hash, build args or not", async () => {
  const { repo, tags } = workspace();
  const t = await tags();
  for (const name of ["base", "tool", "lone"] as const) assert.is(t[name].tag, lsTree(repo.dir, `pkgs/${name}`), name);
  for (const name of ["left", "right", "top", "tool2", "tool3"] as const) assert.is.not(t[name].tag, lsTree(repo.dir, `pkgs/${name}`), name);
  repo.rm();
});

test("the documented rule: sha1(tree + sorted NAME=value lines, dependencies as org/image:tag)", async () => {
  const { repo, tags } = workspace();
  const t = await tags();
  const base = `ex/base:${lsTree(repo.dir, "pkgs/base")}`;
  assert.is(t.left.tag, sha1(`${lsTree(repo.dir, "pkgs/left")}\nBASE=${base}\nFLAVOUR=sour`));
  assert.is(t.top.tag, sha1(`${lsTree(repo.dir, "pkgs/top")}\nL=${indexRef(t.left)}\nR=${indexRef(t.right)}`));
  assert.equal(t.left.buildArgs, { BASE: base, FLAVOUR: "sour" });
  assert.equal(t.left.dependencies, [{ arg: "BASE", id: join(repo.dir, "pkgs/base"), dir: join(repo.dir, "pkgs/base"), ref: base }]);
  assert.equal(t.lone.dependencies, []);
  assert.is(t.base.id, join(repo.dir, "pkgs/base"));
  repo.rm();
});

test("a dirty package makes its dependents dirty, says why, and keeps the committed part of their tags", async () => {
  const { repo, tags } = workspace();
  const clean = await tags();
  repo.write("pkgs/base/notes", "one\n");
  const d1 = await tags();
  assert.match(d1.base.tag, new RegExp(`^${clean.base.tag}-dirty-[0-9a-f]{7}$`));
  for (const name of ["left", "right", "top"] as const) {
    assert.ok(d1[name].dirty, name);
    assert.match(d1[name].tag, new RegExp(`^${clean[name].tag}-dirty-[0-9a-f]{7}$`), name);
  }
  assert.equal(d1.base.dirtyReasons, ["uncommitted changes in pkgs/base"]);
  assert.equal(d1.left.dirtyReasons, [`build arg BASE is ${indexRef(d1.base)}, which is dirty`]);
  assert.equal(d1.top.dirtyReasons, [`build arg L is ${indexRef(d1.left)}, which is dirty`, `build arg R is ${indexRef(d1.right)}, which is dirty`]);
  assert.equal(changed(clean, d1), ["base", "left", "right", "top"]);
  assert.is(d1.left.buildArgs.BASE, indexRef(d1.base), "the build arg is the actual (dirty) reference");
  // left has no changes of its own: its suffix is sha256("" + "\n" + its build-arg lines as they are now).
  assert.is(d1.left.tag, `${clean.left.tag}-dirty-${sha256(`\nBASE=${indexRef(d1.base)}\nFLAVOUR=sour`).slice(0, 7)}`);

  repo.write("pkgs/base/notes", "two\n");
  const d2 = await tags();
  assert.equal(changed(d1, d2), ["base", "left", "right", "top"], "another dirty state, other tags");
  repo.write("pkgs/left/notes", "x\n");
  const d3 = await tags();
  assert.equal(changed(d2, d3), ["left", "top"]);
  assert.equal(d3.left.dirtyReasons, ["uncommitted changes in pkgs/left", `build arg BASE is ${indexRef(d3.base)}, which is dirty`]);
  repo.rm();
});

test("--hash replaces every hash, and dependencies resolve to it too", async () => {
  const { repo, tags } = workspace();
  const t = await tags({ hash: "dev", org: "127.0.0.1:5000/demo" });
  assert.ok(Object.values(t).every((p) => p.tag === "dev" && !p.dirty));
  assert.equal(t.top.buildArgs, { L: "127.0.0.1:5000/demo/left:dev", R: "127.0.0.1:5000/demo/right:dev" });
  repo.rm();
});

test("the tag template of a dependency applies to the reference a dependent gets", async () => {
  const repo = tmpRepo({ "a/Dockerfile": "FROM scratch\n", "b/Dockerfile": "FROM scratch\n" });
  const a = makeDefinition({ image: "a", tag: "v1-{{.Hash}}" }, join(repo.dir, "a/pkg.config.ts"));
  const b = makeDefinition({ image: "b", buildArgs: { A: a } }, join(repo.dir, "b/pkg.config.ts"));
  const [pa, pb] = await resolvePackages(shell, [a, b]);
  assert.is(pa!.tag, `v1-${lsTree(repo.dir, "a")}`);
  assert.is(pb!.tag, sha1(`${lsTree(repo.dir, "b")}\nA=linuxkit/a:v1-${lsTree(repo.dir, "a")}`));
  repo.rm();
});

test("dependencies not asked for are resolved too: in the graph, not in the roots", async () => {
  const { repo, defs } = workspace();
  const g = await resolveGraph(shell, [defs.top]);
  assert.equal(g.roots.map((p) => p.image), ["top"]);
  assert.equal(g.packages.map((p) => p.image), ["base", "left", "right", "top"], "dependencies first, then by directory");
  repo.rm();
});

test("--arches applies strictly to the packages asked for, not to their dependencies", async () => {
  const repo = tmpRepo({ "a/Dockerfile": "FROM scratch\n", "b/Dockerfile": "FROM scratch\n" });
  const a = makeDefinition({ image: "a", arches: ["amd64"] }, join(repo.dir, "a/pkg.config.ts"));
  const b = makeDefinition({ image: "b", arches: ["amd64", "s390x"], buildArgs: { A: a } }, join(repo.dir, "b/pkg.config.ts"));
  const g = await resolveGraph(shell, [b], { arches: ["s390x"] });
  assert.equal(g.roots[0]!.arches, ["s390x"]);
  assert.equal(g.packages[0]!.arches, ["amd64"], "the dependency keeps what it declares");
  assert.is(await errorOf(resolveGraph(shell, [a, b], { arches: ["s390x"] })), `--arches s390x: ${join(repo.dir, "a/pkg.config.ts")} builds only for amd64`);
  repo.rm();
});

const cycleCases: [string, string[]][] = [
  ["2 packages", ["a", "b"]],
  ["3 packages", ["a", "b", "c"]],
];
for (const [name, members] of cycleCases) {
  test(`a dependency cycle of ${name} is an error naming each member's file and build arg`, async () => {
    const repo = tmpRepo(Object.fromEntries(members.map((m) => [`${m}/Dockerfile`, "FROM scratch\n"])));
    const defs: PackageDefinition[] = [];
    // Functions read the definitions only once all exist, as imports between files would.
    members.forEach((m, i) => {
      const next = members[(i + 1) % members.length]!;
      defs.push(makeDefinition({ image: m, buildArgs: { [next.toUpperCase()]: () => defs[(i + 1) % members.length]! } }, join(repo.dir, m, "pkg.config.ts")));
    });
    const message = await errorOf(resolvePackages(shell, [defs[members.length - 1]!]));
    assert.is(
      message,
      `dependency cycle: ${members.length} packages depend on each other, so none can be tagged first; remove one of these build args:\n` +
        members.map((m, i) => `  ${join(repo.dir, m, "pkg.config.ts")}: field "buildArgs.${members[(i + 1) % members.length]!.toUpperCase()}" → ${join(repo.dir, members[(i + 1) % members.length]!, "pkg.config.ts")}`).join("\n"),
    );
    repo.rm();
  });
}

test("a package depending on itself is a cycle of one", async () => {
  const repo = tmpRepo({ "a/Dockerfile": "FROM scratch\n" });
  const self: PackageDefinition = makeDefinition({ image: "a", buildArgs: { ME: () => self } }, join(repo.dir, "a/pkg.config.ts"));
  assert.match(await errorOf(resolvePackages(shell, [self])), "dependency cycle: a package depends on itself");
  repo.rm();
});

for (const [name, members] of cycleCases) {
  test(`pkg.config.ts files importing each other in a cycle of ${name}: the error lists each file`, async () => {
    const files: Record<string, string> = {};
    members.forEach((m, i) => {
      const next = members[(i + 1) % members.length]!;
      files[`${m}/pkg.config.ts`] = `${importLine}import dep from "../${next}/pkg.config.ts";\nexport default definePackage({ image: "${m}", buildArgs: { DEP: dep } });\n`;
    });
    const repo = tmpRepo(files);
    const message = await errorOf(loadPackages(members.map((m) => join(repo.dir, m))));
    const ring = [...members, members[0]!].map((m) => join(repo.dir, m, "pkg.config.ts"));
    assert.is(
      message,
      `dependency cycle: these package files import each other, so one is used before it is defined:\n  ${ring.join("\n  → ")}\nA package cannot depend on itself, directly or through others; remove one of these imports.`,
    );
    repo.rm();
  });
}

test("typed imports between pkg.config.ts files: the dependency's reference, with functions too", async () => {
  const repo = tmpRepo({
    "base/pkg.config.ts": `${importLine}export default definePackage({ image: "base", org: "ex" });\n`,
    "app/pkg.config.ts": `${importLine}import base from "../base/pkg.config.ts";\nexport default definePackage({ image: "app", org: "ex", buildArgs: { BASE: base, LATER: () => base } });\n`,
  });
  const [app] = await resolvePackages(shell, await loadPackages([join(repo.dir, "app")]));
  const base = `ex/base:${lsTree(repo.dir, "base")}`;
  assert.equal(app!.buildArgs, { BASE: base, LATER: base });
  assert.is(app!.tag, sha1(`${lsTree(repo.dir, "app")}\nBASE=${base}\nLATER=${base}`));
  // The same package, loaded by its directory and reached by import, is one node.
  const g = await resolveGraph(shell, await loadPackages([join(repo.dir, "base"), join(repo.dir, "app")]));
  assert.is(g.packages.length, 2);
  repo.rm();
});

test("a function that returns something else than a package: the file, the field, what it returned", async () => {
  const repo = tmpRepo({ "a/Dockerfile": "FROM scratch\n" });
  const a = makeDefinition({ image: "a", buildArgs: { B: () => "b" } }, join(repo.dir, "a/pkg.config.ts"));
  assert.is(
    await errorOf(resolvePackages(shell, [a])),
    `${join(repo.dir, "a/pkg.config.ts")}: field "buildArgs.B": expected the function to return a package, the default export of another pkg.config.ts (got string)`,
  );
  repo.rm();
});

test("build.yml: @lkt:pkg:<path> is the package's reference and folds in like an import", async () => {
  const repo = tmpRepo({
    "pkg/base/build.yml": "image: base\norg: ex\n",
    "pkg/base/Dockerfile": "FROM scratch\n",
    "pkg/app/build.yml": "image: app\norg: ex\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n  - PLAIN=1\n",
    "pkg/app/Dockerfile": "ARG BASE\nFROM ${BASE}\n",
  });
  const [app] = await resolvePackages(shell, await loadPackages([join(repo.dir, "pkg/app")]));
  const base = `ex/base:${lsTree(repo.dir, "pkg/base")}`;
  assert.equal(app!.buildArgs, { BASE: base, PLAIN: "1" });
  assert.is(app!.tag, sha1(`${lsTree(repo.dir, "pkg/app")}\nBASE=${base}\nPLAIN=1`));
  repo.write("pkg/base/Dockerfile", "FROM scratch\n# changed\n");
  repo.commit();
  const [again] = await resolvePackages(shell, await loadPackages([join(repo.dir, "pkg/app")]));
  assert.is.not(again!.tag, app!.tag);
  repo.rm();
});

test("build.yml: @lkt:pkgs:<glob> gives one build arg per package, % replaced by ORG_IMAGE, as LinuxKit", async () => {
  const repo = tmpRepo({
    "pkg/deps/alpine-base/build.yml": "image: alpine-base\n",
    "pkg/deps/tools/pkg.config.ts": `${importLine}export default definePackage({ image: "tools", org: "my-org" });\n`,
    "pkg/deps/.hidden/build.yml": "image: hidden\n",
    // Its own directory matches its glob, and is skipped.
    "pkg/deps/sibling/build.yml": "image: sibling\nbuildArgs:\n  - SIB_%=@lkt:pkgs:../*\n",
    "pkg/app/build.yml": "image: app\nbuildArgs:\n  - DEP_%=@lkt:pkgs:../deps/*\n",
  });
  const [app, sibling] = await resolvePackages(shell, await loadPackages([join(repo.dir, "pkg/app"), join(repo.dir, "pkg/deps/sibling")]));
  const alpine = `linuxkit/alpine-base:${lsTree(repo.dir, "pkg/deps/alpine-base")}`;
  const tools = `my-org/tools:${lsTree(repo.dir, "pkg/deps/tools")}`;
  assert.equal(sibling!.buildArgs, { SIB_LINUXKIT_ALPINE_BASE: alpine, SIB_MY_ORG_TOOLS: tools });
  assert.equal(app!.buildArgs, { DEP_LINUXKIT_ALPINE_BASE: alpine, DEP_LINUXKIT_SIBLING: indexRef(sibling!), DEP_MY_ORG_TOOLS: tools });
  assert.equal(app!.dependencies.map((d) => d.arg), ["DEP_LINUXKIT_ALPINE_BASE", "DEP_LINUXKIT_SIBLING", "DEP_MY_ORG_TOOLS"]);
  assert.is(app!.tag, sha1(`${lsTree(repo.dir, "pkg/app")}\n${Object.entries(app!.buildArgs).map(([k, v]) => `${k}=${v}`).join("\n")}`));
  repo.rm();
});

test("@lkt: values that name nothing: the file, the field, the value and what was expected", async () => {
  const repo = tmpRepo({
    "p/build.yml": "image: p\nbuildArgs:\n  - X_%=@lkt:pkgs:../nothing/*\n",
    "q/build.yml": "image: q\nbuildArgs:\n  - BASE=@lkt:pkg:../empty\n",
    "empty/README": "not a package\n",
  });
  assert.is(
    await errorOf(resolvePackages(shell, await loadPackages([join(repo.dir, "p")]))),
    `${join(repo.dir, "p/build.yml")}: field "buildArgs["X_%"]": "@lkt:pkgs:../nothing/*": no directory matches ${join(repo.dir, "nothing/*")}`,
  );
  assert.is(
    await errorOf(resolvePackages(shell, await loadPackages([join(repo.dir, "q")]))),
    `${join(repo.dir, "q/build.yml")}: field "buildArgs.BASE": "@lkt:pkg:../empty": ${join(repo.dir, "empty")}: no pkg.config.ts or build.yml found; create one (see \`pkgkit --help\`)`,
  );
  repo.rm();
});

test("workspace defaults: org and arches for packages inside it that do not set them", async () => {
  const repo = tmpRepo({ "ws/a/Dockerfile": "FROM scratch\n", "ws/b/Dockerfile": "FROM scratch\n", "out/c/Dockerfile": "FROM scratch\n" });
  const a = makeDefinition({ image: "a" }, join(repo.dir, "ws/a/pkg.config.ts"));
  const b = makeDefinition({ image: "b", org: "own", arches: ["arm64"], buildArgs: { A: a } }, join(repo.dir, "ws/b/pkg.config.ts"));
  const c = makeDefinition({ image: "c", buildArgs: { A: a } }, join(repo.dir, "out/c/pkg.config.ts"));
  const workspace = { dir: join(repo.dir, "ws"), org: "wsorg", arches: ["s390x" as const] };
  const [pa, pb, pc] = await resolvePackages(shell, [a, b, c], { workspace });
  assert.is(pa!.repository, "wsorg/a");
  assert.equal(pa!.arches, ["s390x"]);
  assert.is(pb!.repository, "own/b", "the file wins over the workspace");
  assert.equal(pb!.arches, ["arm64"]);
  assert.is(pc!.repository, "linuxkit/c", "outside the workspace directory: no defaults");
  assert.equal(pc!.arches, ["amd64", "arm64"]);
  assert.is(pc!.buildArgs.A, `wsorg/a:${lsTree(repo.dir, "ws/a")}`);
  const [flag] = await resolvePackages(shell, [a], { workspace, org: "flag" });
  assert.is(flag!.repository, "flag/a", "the command line wins over the workspace");
  repo.rm();
});

test("--build-arg-file args: over a package's literal build args without changing any tag; one naming a dependency's build arg is refused", async () => {
  const { repo, defs, tags } = workspace();
  const before = await tags();
  const after = await tags({ buildArgs: { FLAVOUR: "sweet", EXTRA: "1" } });
  assert.equal(Object.fromEntries(Object.entries(after).map(([k, p]) => [k, p.tag])), Object.fromEntries(Object.entries(before).map(([k, p]) => [k, p.tag])));
  assert.equal(after.left.buildArgs, { BASE: indexRef(after.base), FLAVOUR: "sweet", EXTRA: "1" });
  assert.equal(after.lone.buildArgs, { VERSION: "1.2", FLAVOUR: "sweet", EXTRA: "1" });
  assert.is(await errorOf(resolvePackages(shell, [defs.left], { buildArgs: { BASE: "other/base:1" } })),
    `--build-arg-file sets BASE, which ${defs.left.file} gives another package's tag; pkgkit sets it from that package (rename the arg in the file)`);
  repo.rm();
});

test("build args fold in sorted by name, whatever order the file declares them in", async () => {
  const repo = tmpRepo({ "base/Dockerfile": "FROM scratch\n", "app/Dockerfile": "FROM scratch\n" });
  const base = makeDefinition({ image: "base", org: "ex" }, join(repo.dir, "base/pkg.config.ts"));
  const app = makeDefinition({ image: "app", org: "ex", buildArgs: { ZED: "z", BASE: base, ALPHA: "a", MID: "m" } }, join(repo.dir, "app/pkg.config.ts"));
  const [p] = await resolvePackages(shell, [app]);
  const ref = `ex/base:${lsTree(repo.dir, "base")}`;
  assert.is(p!.tag, sha1(`${lsTree(repo.dir, "app")}\nALPHA=a\nBASE=${ref}\nMID=m\nZED=z`));
  repo.rm();
});

test("pkgkit graph: the resolved graph as data (nodes, edges to what each depends on) and for people (dependencies first, marked when not asked for; literal build args not listed)", async () => {
  const { repo, defs } = workspace();
  repo.write("pkgs/base/notes", "dirty\n");
  const g = await resolveGraph(shell, [defs.top, defs.lone]);
  const [base, left, lone, right, top] = g.packages;
  assert.equal(g.packages.map((p) => p.image), ["base", "left", "lone", "right", "top"], "dependencies first, then by directory");
  const node = (p: Package, selected: boolean) => ({ id: p.id, ref: indexRef(p), dir: p.dir, file: p.file, tag: p.tag, dirty: p.dirty, dirtyReasons: p.dirtyReasons, selected });
  assert.equal(graphJson(g), {
    nodes: [node(base!, false), node(left!, false), node(lone!, true), node(right!, false), node(top!, true)],
    edges: [
      { from: left!.id, to: base!.id, arg: "BASE" },
      { from: right!.id, to: base!.id, arg: "BASE" },
      { from: top!.id, to: left!.id, arg: "L" },
      { from: top!.id, to: right!.id, arg: "R" },
    ],
  });
  assert.is(formatGraph(g, repo.dir), [
    `${indexRef(base!)}  pkgs/base  (dependency, not selected)`,
    "    dirty: uncommitted changes in pkgs/base",
    `${indexRef(left!)}  pkgs/left  (dependency, not selected)`,
    `    BASE → ${indexRef(base!)}`,
    `    dirty: build arg BASE is ${indexRef(base!)}, which is dirty`,
    `${indexRef(lone!)}  pkgs/lone`,
    `${indexRef(right!)}  pkgs/right  (dependency, not selected)`,
    `    BASE → ${indexRef(base!)}`,
    `    dirty: build arg BASE is ${indexRef(base!)}, which is dirty`,
    `${indexRef(top!)}  pkgs/top`,
    `    L → ${indexRef(left!)}`,
    `    R → ${indexRef(right!)}`,
    `    dirty: build arg L is ${indexRef(left!)}, which is dirty`,
    `    dirty: build arg R is ${indexRef(right!)}, which is dirty`,
  ].join("\n"));
  assert.is(formatGraph({ packages: [lone!], roots: [lone!] }, lone!.dir), `${indexRef(lone!)}  .`, "run in the package's own directory");
  repo.rm();
});

test("checkPaths: every package's extra sources are checked before git is asked, dependencies' too, naming the file and the field", async () => {
  const repo = tmpRepo({ "base/Dockerfile": "FROM scratch\n", "app/Dockerfile": "FROM scratch\n" });
  const base = makeDefinition({ image: "base", extraSources: ["../missing:/m"] }, join(repo.dir, "base/pkg.config.ts"));
  const app = makeDefinition({ image: "app", buildArgs: { BASE: base } }, join(repo.dir, "app/pkg.config.ts"));
  assert.is(
    await errorOf(resolveGraph(shell, [app], { checkPaths: true })),
    `${join(repo.dir, "base/pkg.config.ts")}: field "extraSources[0]": "../missing:/m": the source ${join(repo.dir, "missing")} does not exist; expected a directory`,
  );
  repo.rm();
});

test("workspace defaults reach a package at the workspace's own directory, not one in a sibling directory whose name starts alike; its signer too", async () => {
  const repo = tmpRepo({ "ws/Dockerfile": "FROM scratch\n", "ws-other/b/Dockerfile": "FROM scratch\n" });
  const atRoot = makeDefinition({ image: "a" }, join(repo.dir, "ws/pkg.config.ts"));
  const sibling = makeDefinition({ image: "b" }, join(repo.dir, "ws-other/b/pkg.config.ts"));
  const workspace = { dir: join(repo.dir, "ws"), org: "wsorg", signer: "sigstore" as const };
  const [a, b] = await resolvePackages(shell, [atRoot, sibling], { workspace });
  assert.is(a!.repository, "wsorg/a");
  assert.is(a!.workspaceSigner, "sigstore");
  assert.is(b!.repository, "linuxkit/b", "ws-other is not inside ws");
  assert.not.ok("workspaceSigner" in b!, "outside: no workspace signer");
  const [plain] = await resolvePackages(shell, [atRoot], { workspace: { dir: join(repo.dir, "ws"), org: "wsorg" } });
  assert.not.ok("workspaceSigner" in plain!, "a workspace without a signer gives none");
  repo.rm();
});

test.run();
