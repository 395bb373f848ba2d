// The pkgkit bin and config files run as a user runs them: exit codes, messages, help, migrate.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, closeSync, existsSync, ftruncateSync, mkdtempSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, bundledCopy, lsTree, must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";

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
    `pkgkit: $DIR/p/pkg.config.ts: field "netwrok": unknown field; did you mean "network"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, attest, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer, sourceDateEpoch\n`],
  ["pkg.config.ts without a default export", { "p/pkg.config.ts": `${importLine}export const pkg = definePackage({ image: "p" });\n` },
    `pkgkit: $DIR/p/pkg.config.ts: package: expected \`export default definePackage({ ... })\`\n`],
  ["pkg.config.ts that throws", { "p/pkg.config.ts": `throw new Error("boom");\n` },
    `pkgkit: $DIR/p/pkg.config.ts: failed to load: boom\n`],
  ["pkg.config.ts that throws a string", { "p/pkg.config.ts": `throw "str";\n` },
    `pkgkit: $DIR/p/pkg.config.ts: failed to load: it threw "str" (not an Error)\n`],
  ["pkg.config.ts whose top-level await never settles", { "p/pkg.config.ts": `await new Promise(() => {});\nexport default 1;\n` },
    `pkgkit: $DIR/p/pkg.config.ts: never finished loading: a top-level await in it, or in a file it imports, waits for something that never happens\n`],
  ["pkg.config.ts importing a file that is not there", { "p/pkg.config.ts": `import base from "./base.ts";\nexport default base;\n` },
    `pkgkit: $DIR/p/pkg.config.ts: failed to load: Cannot find module '$DIR/p/base.ts' imported from $DIR/p/pkg.config.ts\n`],
  ["build.yml with an alias bomb", { "p/build.yml": ["image: p", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ..."bcdefghi".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`)].join("\n") },
    `pkgkit: $DIR/p/build.yml:6:8: package: YAML aliases expand to more than 10000 nodes (at *d); a file's aliases may add at most 10000\n`],
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
    [["--arches", "amd64,sparc"], 'pkgkit: --arches "amd64,sparc": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>\n'],
    [["--arches", "s390x"], `pkgkit: --arches s390x: ${join(ROOT, "examples/hello/pkg.config.ts")} builds only for amd64, arm64\n`],
    [["--builder", "kaniko"], 'pkgkit: --builder "kaniko": expected buildx or legacy\n'],
    [["--hash", "h".repeat(125)], `pkgkit: --hash "${"h".repeat(125)}": too long for ${join(ROOT, "examples/hello/pkg.config.ts")}: its tag would be ${"h".repeat(125)}-arm64, 131 characters; a tag has at most 128, so use a hash of at most 122 characters\n`],
    [["--org", "bob:hunter22@127.0.0.1:5000/x"], 'pkgkit: --org "***@127.0.0.1:5000/x": an org must not contain credentials (user:password@): give them to `docker login`, which pkgkit reads\n'],
    [["--push", "--registry-ca", "/etc/passwd"], 'pkgkit: --registry-ca "/etc/passwd": not a PEM certificate (-----BEGIN CERTIFICATE-----)\n'],
    [["--push", "--key", "/nonexistent/cosign.key"], 'pkgkit: --key "/nonexistent/cosign.key": no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)\n'],
    [["--builders", "arm64=ssh://bob:hunter22@arm-host"], 'pkgkit: --builders "arm64=ssh://bob:***@arm-host": "ssh://bob:***@arm-host": an engine endpoint must not hold a password; use an SSH key or agent (ssh://user@host), or TLS (tcp://); expected arch=<endpoint|context|buildx:<name>>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock,riscv64=buildx:k8s\n'],
  ];
  for (const [flags, expected] of cases) {
    const r = pkgkit(["plan", ...flags, "examples/hello"]);
    assert.is(r.code, 2, flags.join(" "));
    assert.is(r.stderr, expected);
    assert.not.match(r.stdout + r.stderr, "hunter22", "no password is echoed");
  }
});

test("a bad PKGKIT_ORG is reported as PKGKIT_ORG, credentials redacted; --org, when given, is what counts", () => {
  const bad = pkgkit(["show-tag", "examples/hello"], { env: { PKGKIT_ORG: "Bad Org" } });
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'pkgkit: PKGKIT_ORG "Bad Org": use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/\n');
  const secret = pkgkit(["show-tag", "examples/hello"], { env: { PKGKIT_ORG: "bob:hunter22@127.0.0.1:5000/x" } });
  assert.is(secret.code, 2);
  assert.is(secret.stderr, 'pkgkit: PKGKIT_ORG "***@127.0.0.1:5000/x": an org must not contain credentials (user:password@): give them to `docker login`, which pkgkit reads\n');
  assert.not.match(secret.stdout + secret.stderr, "hunter22");
  assert.is(pkgkit(["show-tag", "--org", "flag", "--hash", "h", "examples/hello"], { env: { PKGKIT_ORG: "Bad Org" } }).stdout, "flag/hello:h\n");
});

test("a 48 MB build.yml is refused from its size (exit 2), not read", () => {
  const repo = tmpRepo({ "p/Dockerfile": "FROM scratch\n" });
  const fd = openSync(join(repo.dir, "p/build.yml"), "w");
  ftruncateSync(fd, 48_000_000);
  closeSync(fd);
  const r = pkgkit(["show-tag", "--hash", "h", "p"], { cwd: repo.dir });
  assert.is(r.code, 2);
  assert.is(r.stderr, `pkgkit: ${join(repo.dir, "p/build.yml")}: too large: 48000000 bytes; a build.yml may be at most 1 MiB (1048576 bytes)\n`);
  repo.rm();
});

test("config files that throw, hang or miss an import under Bun and Deno through the bin: one line naming the file, exit 2 (Deno reports a hanging await itself)", () => {
  const repo = tmpRepo({
    "t/pkg.config.ts": `throw "str";\n`,
    "w/pkg.config.ts": `await new Promise(() => {});\nexport default 1;\n`,
    "m/pkg.config.ts": `import base from "./base.ts";\nexport default base;\n`,
  });
  const bun = (dir: string) => sh([join(ROOT, "node_modules/.bin/bun"), BIN, "show-tag", dir], repo.dir);
  const deno = (dir: string) => sh([join(ROOT, "node_modules/.bin/deno"), "run", "-A", "--quiet", BIN, "show-tag", dir], repo.dir, { NO_COLOR: "1" });
  const file = (d: string) => join(repo.dir, d, "pkg.config.ts");
  for (const run of [bun, deno]) {
    const t = run("t");
    assert.equal([t.code, t.stderr], [2, `pkgkit: ${file("t")}: failed to load: it threw "str" (not an Error)\n`]);
    const m = run("m");
    assert.is(m.code, 2);
    assert.ok(m.stderr.startsWith(`pkgkit: ${file("m")}: failed to load: `) && m.stderr.includes("base.ts") && m.stderr.split("\n").length === 2, m.stderr);
  }
  const w = bun("w");
  assert.equal([w.code, w.stderr], [2, `pkgkit: ${file("w")}: never finished loading: a top-level await in it, or in a file it imports, waits for something that never happens\n`]);
  const dw = deno("w");
  assert.is(dw.code, 1);
  // Deno colours this message even with NO_COLOR when FORCE_COLOR is set (as test/run.mjs does).
  const said = dw.stderr.replace(/\x1b\[[0-9;]*m/g, "");
  assert.match(said, `error: Top-level await promise never resolved`);
  assert.match(said, `${file("w")}:1:1`);
  repo.rm();
});

test("a pkg.config.ts run directly whose top-level await never settles: one line naming it, exit 2 (Node)", () => {
  const repo = tmpRepo({
    "package.json": '{ "type": "module" }\n',
    "p/pkg.config.ts": `${importLine}await new Promise(() => {});\nexport default definePackage({ image: "p" });\n`,
  });
  const r = sh([tsx, join(repo.dir, "p/pkg.config.ts"), "show-tag"], repo.dir);
  assert.is(r.code, 2);
  assert.is(r.stderr, `pkgkit: ${join(repo.dir, "p/pkg.config.ts")}: defined no package: a top-level await in it (or in a file it imports) never settled, or it has no \`export default definePackage({ ... })\`\n`);
  repo.rm();
});

test("push --key with a missing key file: exit 2 before anything is built", () => {
  const org = `127.0.0.1:5000/parse-key-${Math.random().toString(36).slice(2, 8)}`;
  const repo = tmpRepo({ "p/build.yml": `image: p\norg: ${org}\narches: [amd64]\n`, "p/Dockerfile": "FROM scratch\nLABEL x=1\n" });
  const r = pkgkit(["push", "--hash", "h", "--key", join(repo.dir, "cosign.key"), "p"], { cwd: repo.dir });
  assert.is(r.code, 2);
  assert.is(r.stderr, `pkgkit: --key ${JSON.stringify(join(repo.dir, "cosign.key"))}: no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)\n`);
  assert.is(r.stdout, "");
  assert.is(sh(["docker", "image", "inspect", `${org}/p:h-amd64`]).code, 1, "no image was built");
  repo.rm();
});

test("apply: a plan of 1000 packages is read (then found stale, exit 3); one over 64 MiB, as a file or on stdin, is refused (exit 2)", () => {
  const repo = tmpRepo({ "p/build.yml": "image: p\norg: 127.0.0.1:5000/parse-apply\n", "p/Dockerfile": "FROM scratch\n" });
  const one = JSON.parse(must([process.execPath, BIN, "plan", "--json", "--hash", "h", "p"], repo.dir)) as { packages: { name: string }[] };
  const big = { ...one, packages: Array.from({ length: 1000 }, (_, i) => ({ ...one.packages[0]!, name: `127.0.0.1:5000/parse-apply/p${i}:h` })) };
  const file = join(repo.dir, "plan.json");
  writeFileSync(file, JSON.stringify(big, null, 2));
  const r = pkgkit(["apply", file], { cwd: repo.dir });
  assert.is(r.code, 3, r.stderr);
  assert.ok(r.stderr.startsWith(`pkgkit: ${file}: the sources changed since this plan was made; nothing was done.\n`), r.stderr);
  const fd = openSync(file, "w");
  ftruncateSync(fd, 64 * 1024 * 1024 + 1);
  closeSync(fd);
  const huge = pkgkit(["apply", file], { cwd: repo.dir });
  assert.is(huge.code, 2);
  assert.is(huge.stderr, `pkgkit: ${file}: too large: 67108865 bytes; a plan written by \`pkgkit plan --json\` may be at most 64 MiB (67108864 bytes)\n`);
  // A plan signing with a key that is gone by apply time: refused before anything is built.
  const key = join(repo.dir, "cosign.key");
  writeFileSync(key, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  const org = `127.0.0.1:5000/parse-apply-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(file, must([process.execPath, BIN, "plan", "--push", "--json", "--hash", "h", "--org", org, "--arches", "amd64", "--key", key, "p"], repo.dir));
  rmSync(key);
  const gone = pkgkit(["apply", file], { cwd: repo.dir });
  assert.is(gone.code, 2);
  assert.is(gone.stderr, `pkgkit: ${file}: field "inputs.signing.key": ${JSON.stringify(key)}: no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)\n`);
  assert.is(sh(["docker", "image", "inspect", `${org}/p:h-amd64`]).code, 1, "nothing was built");
  const stdin = spawnSync(process.execPath, [BIN, "apply", "-"], { cwd: repo.dir, input: Buffer.alloc(64 * 1024 * 1024 + 1, 32), encoding: "utf8" });
  assert.is(stdin.status, 2);
  assert.is(stdin.stderr, "pkgkit: the plan on stdin: too large: more than 67108864 bytes; a plan written by `pkgkit plan --json` may be at most 64 MiB (67108864 bytes)\n");
  repo.rm();
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

test("the bin runs the bundled CLI only while the sources it was built from are on disk as they were (a copy of the package)", () => {
  const copy = bundledCopy("pkgkit-bundle-");
  try {
    const record = JSON.parse(readFileSync(join(copy, "lib/dist/cli.sources.json"), "utf8")) as { files: string[] };
    assert.ok(record.files.includes("lib/registry/types.ts") && record.files.includes("recipes/apply.ts"), "the record lists the sources, paths from the package root");
    // Which one runs shows in the output: a stand-in bundle, fresh as long as the sources are.
    writeFileSync(join(copy, "lib/dist/bin.cjs"), 'exports.main = async function main() { console.log("from the bundle"); };\n');
    const help = () => sh([process.execPath, join(copy, "lib/bin.mjs"), "--help"], tmpdir(), { PKGKIT_NO_BUNDLE: "" }).stdout;
    const fromSources = (h: string) => h.startsWith("usage: pkgkit <command>");
    assert.is(help(), "from the bundle\n", "fresh: the bundle runs");
    const source = join(copy, "lib/registry/types.ts");
    const bytes = readFileSync(source);
    const times = statSync(source);
    // While every source's inode, size, mtime and ctime are as recorded, they stand for the digest
    // and nothing is read: a wrong digest beside them goes unnoticed. One file's mode set to what
    // it is (its bytes and mtime the same, its ctime new) sends the check back to the digest.
    const recordFile = join(copy, "lib/dist/cli.sources.json");
    const recorded = readFileSync(recordFile, "utf8");
    const { stats } = JSON.parse(recorded) as { stats?: string[] };
    assert.is(stats?.length, record.files.length, "the record keeps each file's stats");
    writeFileSync(recordFile, JSON.stringify({ ...JSON.parse(recorded), sha256: "0".repeat(64) }));
    assert.is(help(), "from the bundle\n", "the stats as recorded: the digest is not computed");
    const mtimeNs = statSync(source, { bigint: true }).mtimeNs;
    chmodSync(source, times.mode & 0o7777);
    assert.is(statSync(source, { bigint: true }).mtimeNs, mtimeNs, "chmod leaves the mtime as it was");
    assert.ok(fromSources(help()), "a new ctime: the digest is computed, and differs from the (wrong) one recorded");
    writeFileSync(recordFile, recorded);
    assert.is(help(), "from the bundle\n", "the right digest recorded: the same bytes are fresh");
    // One byte of a source in a subdirectory changed, its mtime set back: the sources run.
    writeFileSync(source, Buffer.concat([bytes, Buffer.from(" ")]));
    utimesSync(source, times.atime, times.mtime);
    assert.ok(fromSources(help()), "lib/registry/types.ts differs: the sources run");
    writeFileSync(source, bytes);
    assert.is(help(), "from the bundle\n", "the sources back as built, a newer mtime: the bundle is fresh again");
    renameSync(source, `${source}.moved`);
    assert.is.not(help(), "from the bundle\n", "a source gone: not the bundle");
    renameSync(`${source}.moved`, source);
    rmSync(join(copy, "lib/dist/cli.sources.json"));
    assert.ok(fromSources(help()), "no record: the sources run");
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test.run();
