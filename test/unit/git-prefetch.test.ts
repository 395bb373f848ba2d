// Git asked while the package files load (prefetchGitStates, used by graphFromArgs): each query
// runs once, and where the prefetch does not fit (a dependency, an extra source, a failure) the
// answer and the error are those of resolveGraph asking git itself. Real git on throwaway
// repositories; the shell is the real one, wrapped to count what it runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { graphFromArgs } from "../../recipes/packages.ts";
import { prefetchGitStates, resolveGraph, type ResolveOptions } from "../../lib/package.ts";
import { loadPackages } from "../../lib/load.ts";
import { defaultShell, type Shell } from "../../lib/shell.ts";
import { lsTree, tmpRepo } from "../helpers.ts";

const real = await defaultShell();
/** The real shell, counting the git subcommands it runs (argv: git -C <dir> <subcommand> ...). */
function counting(): Shell & { git: string[] } {
  const git: string[] = [];
  return {
    name: real.name,
    git,
    exec(argv, options) {
      if (argv[0] === "git") git.push(argv.find((a, i) => i > 2 && !a.startsWith("-")) ?? "?");
      return real.exec(argv, options);
    },
  };
}

const yml = (image: string, more = "") => `image: ${image}\norg: ex\n${more}`;

test("build.yml packages: each git query runs once, the prefetch's answer is the one used", async () => {
  const repo = tmpRepo({ "a/build.yml": yml("a"), "a/Dockerfile": "FROM scratch\n", "b/build.yml": yml("b"), "b/Dockerfile": "FROM scratch\n" });
  const dirs = [join(repo.dir, "a"), join(repo.dir, "b")];
  for (const [options, queries] of [
    [{ tagsOnly: true }, ["diff", "ls-files", "ls-tree", "rev-parse"]],
    [{}, ["config", "diff", "ls-files", "ls-tree", "rev-parse", "show"]],
  ] as [ResolveOptions, string[]][]) {
    const shell = counting();
    const { roots } = await graphFromArgs(dirs, options, repo.dir, shell);
    assert.equal(roots.map((p) => p.tag), [lsTree(repo.dir, "a"), lsTree(repo.dir, "b")]);
    assert.equal([...shell.git].sort(), queries, JSON.stringify(options));
  }
  repo.rm();
});

test("a dependency (@lkt:pkg) or an extra source: git is asked about them too, and the tags are resolveGraph's own", async () => {
  const repo = tmpRepo({
    "pkg/base/build.yml": yml("base"),
    "pkg/base/Dockerfile": "FROM scratch\n",
    "pkg/app/build.yml": yml("app", "buildArgs:\n  - BASE=@lkt:pkg:../base\n"),
    "pkg/app/Dockerfile": "ARG BASE\nFROM ${BASE}\n",
    "pkg/extra/build.yml": yml("extra", "extra-sources:\n  - ../common:/common\n"),
    "pkg/extra/Dockerfile": "FROM scratch\n",
    "pkg/common/file": "shared\n",
  });
  repo.write("pkg/common/file", "shared, edited\n"); // the extra source is dirty: so is the package
  for (const dir of ["pkg/app", "pkg/extra"]) {
    const abs = join(repo.dir, dir);
    const shell = counting();
    const [got] = (await graphFromArgs([abs], { tagsOnly: true }, repo.dir, shell)).roots;
    const [want] = (await resolveGraph(real, await loadPackages([abs]), { tagsOnly: true })).roots;
    assert.equal(got!.tag, want!.tag, dir);
    assert.equal([got!.dirty, got!.buildArgs], [want!.dirty, want!.buildArgs], dir);
    // The prefetch (the package alone) and resolveGraph's own query (with what it depends on).
    assert.is(shell.git.filter((q) => q === "ls-tree").length, 2, `${dir}: ${shell.git.join(" ")}`);
  }
  repo.rm();
});

test("outside git, and at a --hash-commit that is not one: the error is the one resolveGraph's own query gives", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-no-git-"));
  writeFileSync(join(dir, "build.yml"), yml("loose"));
  const repo = tmpRepo({ "a/build.yml": yml("a"), "a/Dockerfile": "FROM scratch\n" });
  for (const [d, options] of [
    [dir, { tagsOnly: true }],
    [join(repo.dir, "a"), { hashCommit: "no-such-commit" }],
  ] as [string, ResolveOptions][]) {
    const viaPrefetch = await graphFromArgs([d], options, d, counting()).then(() => "no error", (e: Error) => `${e.name}: ${e.message}`);
    const own = await resolveGraph(real, await loadPackages([d]), options).then(() => "no error", (e: Error) => `${e.name}: ${e.message}`);
    assert.is(viaPrefetch, own);
    assert.not.equal(own, "no error");
  }
  rmSync(dir, { recursive: true, force: true });
  repo.rm();
});

test("prefetchGitStates asks nothing with --hash-path (git is asked about another directory) or no directories", () => {
  const shell = counting();
  assert.is(prefetchGitStates(shell, ["a"], { hashPath: "/" }), undefined);
  assert.is(prefetchGitStates(shell, [], {}), undefined);
  assert.equal(shell.git, []);
});

test.run();
