// Workspaces: finding package files (git ls-files, .gitignore, node_modules), pkgkit.config.ts,
// globs. Real git on throwaway repositories, no engine.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { globToRegExp } from "../../lib/glob.ts";
import { findPackageDirs, makeWorkspace, selectPackageDirs } from "../../lib/workspace.ts";
import { graphFromArgs } from "../../recipes/packages.ts";
import { defaultShell, type Shell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";
import { lsTree, ROOT, specErrorOf, tmpRepo } from "../helpers.ts";

const shell = await defaultShell();
const lib = JSON.stringify(join(ROOT, "lib/index.ts"));
const pkg = (image: string, extra = "") => `import { definePackage } from ${lib};\n${extra}export default definePackage({ image: ${JSON.stringify(image)} });\n`;
const workspaceFile = (body: string) => `import { defineWorkspace } from ${lib};\nexport default defineWorkspace(${body});\n`;

async function errorOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: Error) => e);
  if (!err) throw new Error("expected an error");
  assert.instance(err, InputError);
  return err.message;
}

test("globs: * and ? within a segment, ** across, classes, alternatives", () => {
  const cases: [string, string[], string[]][] = [
    ["pkgs/*", ["pkgs/a", "pkgs/b-c"], ["pkgs", "pkgs/a/b", "other/a"]],
    ["./pkgs/*/", ["pkgs/a"], ["pkgs/a/b"]],
    ["pkgs/**", ["pkgs", "pkgs/a", "pkgs/a/b"], ["pkgsx", "other"]],
    ["**/app", ["app", "a/app", "a/b/app"], ["a/app2", "xapp"]],
    ["a/**/z", ["a/z", "a/b/z", "a/b/c/z"], ["a/bz", "z"]],
    ["p?", ["p1", "pa"], ["p", "p12"]],
    ["p[0-2]", ["p0", "p2"], ["p3"]],
    ["p[!0-2]", ["p3"], ["p0"]],
    ["{tools,pkgs}/*", ["tools/a", "pkgs/b"], ["other/c"]],
    ["a.b+c", ["a.b+c"], ["aXb+c", "a.bbc"]],
  ];
  for (const [pattern, yes, no] of cases) {
    const re = globToRegExp(pattern);
    for (const p of yes) assert.ok(re.test(p), `${pattern} should match ${p}`);
    for (const p of no) assert.not.ok(re.test(p), `${pattern} should not match ${p}`);
  }
});

test("package files: tracked and untracked ones, not those .gitignore excludes, none under node_modules", async () => {
  const repo = tmpRepo({
    ".gitignore": "ignored/\n",
    "a/pkg.config.ts": pkg("a"),
    "b/build.yml": "image: b\n",
    "both/pkg.config.ts": pkg("both"),
    "both/build.yml": "image: both\n",
    "deep/er/c/build.yml": "image: c\n",
    "gone/build.yml": "image: gone\n",
    "node_modules/dep/build.yml": "image: nm\n",
    "x/node_modules/dep/pkg.config.ts": pkg("nm"),
    "notes/build.yml.txt": "not a package file\n",
  });
  repo.write("untracked/build.yml", "image: u\n");
  repo.write("ignored/build.yml", "image: i\n");
  unlinkSync(join(repo.dir, "gone/build.yml"));
  const counting: Shell & { calls: number } = { name: shell.name, calls: 0, exec(argv, o) { this.calls++; return shell.exec(argv, o); } };
  const dirs = await findPackageDirs(counting, repo.dir);
  assert.equal(dirs, ["a", "b", "both", "deep/er/c", "untracked"].map((d) => join(repo.dir, d)));
  assert.is(counting.calls, 1, "one git process");
  repo.rm();
});

test("outside git: a directory walk, skipping node_modules and hidden directories", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-nogit-"));
  const files: [string, string][] = [["a/build.yml", "image: a\n"], ["node_modules/n/build.yml", "image: n\n"], [".cache/c/build.yml", "image: c\n"], ["b/c/pkg.config.ts", pkg("c")]];
  for (const [p, t] of files) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), t);
  }
  assert.equal(await findPackageDirs(shell, dir), [join(dir, "a"), join(dir, "b/c")]);
  rmSync(dir, { recursive: true });
});

test("arguments: none is every package under the current directory; globs match package directories; plain ones pass", async () => {
  const repo = tmpRepo({
    "pkgs/a/build.yml": "image: a\n",
    "pkgs/b/build.yml": "image: b\n",
    "pkgs/sub/c/build.yml": "image: c\n",
    "tools/t/build.yml": "image: t\n",
  });
  const sel = (args: string[], cwd = repo.dir) => selectPackageDirs(args, { cwd, shell }).then((s) => s.dirs);
  assert.equal(await sel([]), ["pkgs/a", "pkgs/b", "pkgs/sub/c", "tools/t"].map((d) => join(repo.dir, d)));
  assert.equal(await sel([], join(repo.dir, "pkgs/sub")), [join(repo.dir, "pkgs/sub/c")]);
  assert.equal(await sel(["pkgs/*"]), [join(repo.dir, "pkgs/a"), join(repo.dir, "pkgs/b")]);
  assert.equal(await sel(["pkgs/**", "tools/t"]), ["pkgs/a", "pkgs/b", "pkgs/sub/c", "tools/t"].map((d) => join(repo.dir, d)));
  assert.equal(await sel(["tools/t"]), [join(repo.dir, "tools/t")], "plain directories are taken as they are, from the directory given");
  assert.equal(await sel(["tools/nothing"]), [join(repo.dir, "tools/nothing")], "and not looked up: loading reports what is missing");
  assert.is(
    await errorOf(sel(["nothing/*"])),
    `nothing/*: no package directory matches; a glob matches directories under ${repo.dir} holding a pkg.config.ts or build.yml (files .gitignore excludes and node_modules are skipped)`,
  );
  const empty = tmpRepo({ "README": "x\n" });
  assert.match(await errorOf(sel([], empty.dir)), `no pkg.config.ts or build.yml found under ${empty.dir}`);
  empty.rm();
  repo.rm();
});

test("pkgkit.config.ts: package globs (with ! exclusions), defaults, and dependencies outside the globs still resolved", async () => {
  const repo = tmpRepo({
    "pkgkit.config.ts": workspaceFile(`{ org: "wsorg", arches: ["amd64"], packages: ["pkgs/*", "!pkgs/skip"], sourceDateEpoch: 1700000000 }`),
    "pkgs/app/pkg.config.ts": pkg("app", `import base from "../../shared/base/pkg.config.ts";\n`).replace(`image: "app"`, `image: "app", buildArgs: { BASE: base }`),
    "pkgs/lib/build.yml": "image: lib\norg: own\narches: [arm64]\n",
    "pkgs/skip/build.yml": "image: skip\n",
    "shared/base/pkg.config.ts": pkg("base"),
    "other/x/build.yml": "image: x\n",
  });
  const sub = join(repo.dir, "pkgs");
  const g = await graphFromArgs([], {}, repo.dir, shell);
  assert.equal(g.roots.map((p) => p.image), ["app", "lib"]);
  assert.equal(g.packages.map((p) => p.image), ["base", "app", "lib"], "base is resolved, though no glob lists it");
  const [app, lib] = g.roots;
  assert.is(app!.repository, "wsorg/app");
  assert.equal(app!.arches, ["amd64"]);
  assert.is(app!.buildArgs.BASE, `wsorg/base:${lsTree(repo.dir, "shared/base")}`);
  assert.is(lib!.repository, "own/lib");
  assert.equal(lib!.arches, ["arm64"]);
  assert.equal([app!.sourceDateEpoch, lib!.sourceDateEpoch], [1700000000, 1700000000], "the workspace's SOURCE_DATE_EPOCH");
  // From a subdirectory: the same workspace (found upwards), its packages under that directory.
  assert.equal((await graphFromArgs([], {}, sub, shell)).roots.map((p) => p.image), ["app", "lib"]);
  // Named and globbed directories get the workspace defaults too.
  assert.is((await graphFromArgs(["other/x"], {}, repo.dir, shell)).roots[0]!.repository, "wsorg/x");
  assert.equal((await graphFromArgs(["pkgs/s*"], {}, repo.dir, shell)).roots.map((p) => p.image), ["skip"], "a glob argument is not limited to the workspace list");
  repo.rm();
});

test("found packages come in dependency order; named ones in the order given", async () => {
  const repo = tmpRepo({
    "a/pkg.config.ts": pkg("a", `import z from "../z/pkg.config.ts";\n`).replace(`image: "a"`, `image: "a", buildArgs: { Z: z }`),
    "z/pkg.config.ts": pkg("z"),
  });
  assert.equal((await graphFromArgs([], {}, repo.dir, shell)).roots.map((p) => p.image), ["z", "a"]);
  assert.equal((await graphFromArgs(["*"], {}, repo.dir, shell)).roots.map((p) => p.image), ["z", "a"]);
  assert.equal((await graphFromArgs(["a", "z"], {}, repo.dir, shell)).roots.map((p) => p.image), ["a", "z"]);
  repo.rm();
});

test("a workspace glob that matches nothing is an error naming the file and the entry", async () => {
  const repo = tmpRepo({ "pkgkit.config.ts": workspaceFile(`{ packages: ["pkgs/*", "pkgz/*"] }`), "pkgs/a/build.yml": "image: a\n" });
  assert.is(
    await errorOf(graphFromArgs([], {}, repo.dir, shell)),
    `${join(repo.dir, "pkgkit.config.ts")}: field "packages[1]": "pkgz/*" matches no directory holding a pkg.config.ts or build.yml`,
  );
  repo.rm();
});

const FILE = "/ws/pkgkit.config.ts";
const bad: [string, unknown, string][] = [
  ["typo of a field", { packges: ["a/*"] }, `${FILE}: field "packges": unknown field; did you mean "packages"? Known fields: org, arches, signer, packages, builders, sourceDateEpoch`],
  ["bad arch", { arches: ["x86"] }, `${FILE}: field "arches[0]": "x86" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64`],
  ["bad org", { org: "Bad Org" }, `${FILE}: field "org": "Bad Org" is not a valid org: use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/`],
  ["bad signer", { signer: "gpg" }, `${FILE}: field "signer": expected "notary" (Docker Content Trust) or "sigstore" (got "gpg")`],
  ["packages not a list", { packages: "pkgs/*" }, `${FILE}: field "packages": expected "packages" to be a list of directory globs, e.g. ["pkgs/*"] (got "pkgs/*")`],
];
for (const [name, raw, message] of bad) {
  test(`bad pkgkit.config.ts: ${name}`, () => {
    assert.is(specErrorOf(() => makeWorkspace(raw, FILE)), message);
  });
}

test("defineWorkspace: fields as given, the file and its directory", () => {
  const w = makeWorkspace({ org: "example", arches: ["arm64"], signer: "sigstore", packages: ["pkgs/*"] }, FILE);
  assert.equal({ ...w }, { kind: "pkgkit.workspace", file: FILE, dir: "/ws", org: "example", arches: ["arm64"], signer: "sigstore", packages: ["pkgs/*"] });
});

test.run();
