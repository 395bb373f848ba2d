// The pkgkit bin and config files run as a user runs them: exit codes, messages, help, migrate.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lsTree, must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";

const tsx = join(ROOT, "node_modules/.bin/tsx");
// Package files in temp repos import "pkgkit" as users do; point that at this checkout.
const importLine = `import { definePackage } from ${JSON.stringify(join(ROOT, "lib/index.ts"))};\n`;

test("--help on every command, exit 0; no command prints usage and exits 2", () => {
  for (const cmd of ["build", "plan", "apply", "show-tag", "graph", "migrate"]) {
    const r = pkgkit([cmd, "--help"]);
    assert.is(r.code, 0, cmd);
    assert.ok(r.stdout.startsWith(`usage: pkgkit ${cmd} [options]`), r.stdout);
  }
  const none = pkgkit([]);
  assert.is(none.code, 2);
  assert.match(none.stdout, "commands:\n  build");
  const help = sh([tsx, join(ROOT, "examples/hello/pkg.config.ts"), "--help"]);
  assert.is(help.code, 0);
  assert.match(help.stdout, "usage: examples/hello/pkg.config.ts <command> [options]");
  assert.not.match(help.stdout, "migrate");
  assert.not.match(help.stdout, /^ {2}apply/m, "a package file has no apply: plans name their packages");
});

test("unknown command and unknown option: exit 2 with the usage", () => {
  const r = pkgkit(["bulid", "x"]);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('pkgkit: unknown command "bulid"\nusage: pkgkit <command>'), r.stderr);
  const o = pkgkit(["build", "--orgg", "x", "examples/hello"]);
  assert.is(o.code, 2);
  assert.ok(o.stderr.startsWith("pkgkit: unknown option --orgg\nusage: pkgkit build [options] [<dir|glob>...]"), o.stderr);
});

test("show-tag prints org/image:tag per package, equal to git ls-tree on a clean tree; --json too", () => {
  const repo = tmpRepo({
    "a/pkg.config.ts": `${importLine}export default definePackage({ image: "a", org: "example" });\n`,
    "a/Dockerfile": "FROM scratch\n",
    "b/build.yml": "image: b\norg: example\n",
    "b/Dockerfile": "FROM scratch\n",
  });
  const r = pkgkit(["show-tag", "a", "b"], { cwd: repo.dir });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `example/a:${lsTree(repo.dir, "a")}\nexample/b:${lsTree(repo.dir, "b")}\n`);
  const env = pkgkit(["show-tag", "b"], { cwd: repo.dir, env: { PKGKIT_ORG: "127.0.0.1:5000/demo" } });
  assert.is(env.stdout, `127.0.0.1:5000/demo/b:${lsTree(repo.dir, "b")}\n`);
  const flag = pkgkit(["show-tag", "--org", "flag", "b"], { cwd: repo.dir, env: { PKGKIT_ORG: "env" } });
  assert.is(flag.stdout, `flag/b:${lsTree(repo.dir, "b")}\n`);
  const json = JSON.parse(pkgkit(["show-tag", "--json", "--hash", "dev", "a"], { cwd: repo.dir }).stdout);
  assert.equal(json[0], { dir: join(repo.dir, "a"), ref: "example/a:dev", repository: "example/a", tag: "dev", hash: "dev", dirty: false, arches: ["amd64", "arm64"] });
  repo.rm();
});

test("Node (tsx), Deno and Bun print the same tag for a config file run directly", () => {
  const file = join(ROOT, "examples/hello/pkg.config.ts");
  const viaBin = must([process.execPath, join(ROOT, "lib/bin.mjs"), "show-tag", join(ROOT, "examples/hello")]).trim();
  const node = must([tsx, file, "show-tag"]).trim();
  const deno = must([join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--quiet", file, "show-tag"]).trim();
  const bun = must([join(ROOT, "node_modules/.bin/bun"), file, "show-tag"]).trim();
  assert.match(node, /^pkgkit-examples\/hello:[0-9a-f]{40}/);
  assert.is(node, viaBin);
  assert.is(deno, node);
  assert.is(bun, node);
});

test("a config file whose path has spaces still runs as the CLI, under Node and Bun", () => {
  const repo = tmpRepo({
    "my pkgs/a b/pkg.config.ts": `${importLine}export default definePackage({ image: "p", org: "example" });\n`,
    "my pkgs/a b/Dockerfile": "FROM scratch\n",
  });
  const file = join(repo.dir, "my pkgs/a b/pkg.config.ts");
  const expected = `example/p:${lsTree(repo.dir, "my pkgs/a b")}\n`;
  assert.is(must([tsx, file, "show-tag"], repo.dir), expected);
  assert.is(must([join(ROOT, "node_modules/.bin/bun"), file, "show-tag"], repo.dir), expected);
  repo.rm();
});

test("a file that defines two packages runs the CLI once, over both", () => {
  const repo = tmpRepo({
    "two/pkg.config.ts": `${importLine}export const a = definePackage({ image: "a", org: "example" });\nexport default definePackage({ image: "b", org: "example" });\n`,
  });
  const tree = lsTree(repo.dir, "two");
  assert.is(must([tsx, join(repo.dir, "two/pkg.config.ts"), "show-tag"], repo.dir), `example/a:${tree}\nexample/b:${tree}\n`);
  repo.rm();
});

test("importing a config file from a script runs nothing", () => {
  const out = must([tsx, "-e", `import("${join(ROOT, "examples/hello/pkg.config.ts")}").then(m => console.log(JSON.stringify({ kind: m.default.kind, image: m.default.spec.image })))`, "build"]);
  assert.is(out, '{"kind":"pkgkit.package","image":"hello"}\n');
});

const badPackages: [string, Record<string, string>, string][] = [
  ["pkg.config.ts with a typo", { "p/pkg.config.ts": `${importLine}export default definePackage({ image: "p", netwrok: false });\n` },
    `pkgkit: $DIR/p/pkg.config.ts: field "netwrok": unknown field; did you mean "network"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer\n`],
  ["pkg.config.ts without a default export", { "p/pkg.config.ts": `${importLine}export const pkg = definePackage({ image: "p" });\n` },
    `pkgkit: $DIR/p/pkg.config.ts: package: expected \`export default definePackage({ ... })\`\n`],
  ["pkg.config.ts that throws", { "p/pkg.config.ts": `throw new Error("boom");\n` },
    `pkgkit: $DIR/p/pkg.config.ts: failed to load: boom\n`],
  ["build.yml with a bad arch", { "p/build.yml": "image: p\narches:\n  - amd64\n  - armv7\n" },
    `pkgkit: $DIR/p/build.yml:4:5: field "arches[1]": "armv7" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64\n`],
  ["a directory without a package file", { "p/README": "nothing\n" },
    `pkgkit: p: no pkg.config.ts or build.yml found; create one (see \`pkgkit --help\`)\n`],
];
for (const [name, files, expected] of badPackages) {
  test(`bad input, exit 2: ${name}`, () => {
    const repo = tmpRepo({ ...files, "p/Dockerfile": "FROM scratch\n" });
    for (const cmd of ["show-tag", "build", "plan"]) {
      const r = pkgkit([cmd, "p"], { cwd: repo.dir });
      assert.is(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.is(r.stderr, expected.replaceAll("$DIR", repo.dir));
      assert.is(r.stdout, "");
    }
    repo.rm();
  });
}

test("bad flags, exit 2: --org, --hash, --arches, --builder", () => {
  const cases: [string[], string][] = [
    [["--org", "Bad Org"], 'pkgkit: --org "Bad Org": use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/\n'],
    [["--hash", "no/slash"], 'pkgkit: --hash "no/slash": expected a tag: letters, digits, "_", "." and "-", at most 128 characters\n'],
    [["--arches", "amd64,sparc"], 'pkgkit: --arches "amd64,sparc": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64\n'],
    [["--arches", "s390x"], `pkgkit: --arches s390x: ${join(ROOT, "examples/hello/pkg.config.ts")} builds only for amd64, arm64\n`],
    [["--builder", "kaniko"], 'pkgkit: --builder "kaniko": expected buildx or legacy\n'],
  ];
  for (const [flags, expected] of cases) {
    const r = pkgkit(["plan", ...flags, "examples/hello"]);
    assert.is(r.code, 2, flags.join(" "));
    assert.is(r.stderr, expected);
  }
});

test("a bad pkg.config.ts run directly: the message, no stack trace, exit 2", () => {
  const repo = tmpRepo({ "p/pkg.config.ts": `${importLine}export default definePackage({ image: "p", arches: ["x86"] });\n` });
  const r = sh([tsx, join(repo.dir, "p/pkg.config.ts"), "show-tag"]);
  assert.is(r.code, 2);
  assert.is(r.stderr, `pkgkit: ${join(repo.dir, "p/pkg.config.ts")}: field "arches[0]": "x86" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64\n`);
  repo.rm();
});

test("outside git: exit 2 with what to do; --hash still works", () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-nogit-"));
  mkdirSync(join(dir, "p"));
  writeFileSync(join(dir, "p/build.yml"), "image: p\n");
  const r = pkgkit(["show-tag", "p"], { cwd: dir });
  assert.is(r.code, 2);
  assert.is(r.stderr, `pkgkit: ${join(dir, "p")}: not inside a git work tree. pkgkit derives the package tag from git: run \`git init\` and commit the package, or pass --hash <tag>\n`);
  assert.is(pkgkit(["show-tag", "--hash", "dev", "p"], { cwd: dir }).stdout, "linuxkit/p:dev\n");
  rmSync(dir, { recursive: true });
});

test("secrets in the environment never reach a plan or its output", () => {
  const secrets = {
    DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: "s3cret-passphrase-1",
    DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: "s3cret-passphrase-2",
    REGISTRY_PASSWORD: "s3cret-password-3",
  };
  for (const args of [["plan", "--json"], ["plan"], ["build", "--dry-run", "--json"]]) {
    const r = pkgkit([...args, "examples/hello"], { env: secrets });
    assert.is(r.code, 0);
    for (const v of Object.values(secrets)) assert.not.match(r.stdout + r.stderr, v);
  }
});

test("migrate writes an equivalent pkg.config.ts, refuses to overwrite, and the tag is unchanged", () => {
  const repo = tmpRepo({
    "p/build.yml": "image: p\norg: example\narches: [arm64]\ndisable-content-trust: true\nbuildArgs:\n  - V=1\n",
    "p/Dockerfile": "FROM scratch\n",
  });
  const before = pkgkit(["plan", "--json", "--hash", "h", "p"], { cwd: repo.dir }).stdout;
  const r = pkgkit(["migrate", "p"], { cwd: repo.dir });
  assert.is(r.code, 0, r.stderr);
  const out = join(repo.dir, "p/pkg.config.ts");
  assert.ok(existsSync(out));
  const src = readFileSync(out, "utf8");
  assert.ok(src.startsWith('import { definePackage } from "pkgkit";'));
  // Resolve "pkgkit" to this checkout for the check, as an installed package would.
  writeFileSync(out, src.replace('"pkgkit"', JSON.stringify(join(ROOT, "lib/index.ts"))));
  const after = pkgkit(["plan", "--json", "--hash", "h", "p"], { cwd: repo.dir }).stdout;
  assert.is(after, before, "the migrated file plans exactly as the build.yml did");
  assert.is(pkgkit(["migrate", "p"], { cwd: repo.dir }).code, 2, "refuses to overwrite");
  assert.is(pkgkit(["migrate", "--force", "p"], { cwd: repo.dir }).code, 0);
  repo.rm();
});

test("the bin runs the bundled CLI only while it is newer than every source file", () => {
  const bundle = join(ROOT, "lib/dist/cli.mjs");
  const original = existsSync(bundle) ? readFileSync(bundle) : undefined;
  const source = join(ROOT, "lib/registry/types.ts");
  const sourceTimes = statSync(source);
  mkdirSync(join(ROOT, "lib/dist"), { recursive: true });
  try {
    writeFileSync(bundle, 'export async function main() { console.log("from the bundle"); }\n');
    const env = { PKGKIT_NO_BUNDLE: "" };
    assert.is(pkgkit(["--help"], { env }).stdout, "from the bundle\n", "fresh: the bundle runs");
    // A source in a subdirectory changed after the bundle was built.
    utimesSync(source, sourceTimes.atime, new Date(Date.now() + 60_000));
    assert.ok(pkgkit(["--help"], { env }).stdout.startsWith("usage: pkgkit <command>"), "lib/registry/types.ts is newer: the sources run");
    utimesSync(source, sourceTimes.atime, sourceTimes.mtime);
    utimesSync(bundle, new Date(0), new Date(0));
    const stale = pkgkit(["--help"], { env });
    assert.ok(stale.stdout.startsWith("usage: pkgkit <command>"), "stale: the sources run");
  } finally {
    utimesSync(source, sourceTimes.atime, sourceTimes.mtime);
    if (original) writeFileSync(bundle, original);
    else rmSync(bundle);
  }
});

test.run();
