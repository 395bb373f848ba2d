// Hostile input to the parsers: YAML alias bombs, huge files, a plan of 1000 packages, secrets in
// values. Each case asserts the exact message (file, line, limit) and that nothing hangs: files
// over a limit are refused from their size (sparse files here), never read.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBuildYml, parseBuildYml } from "../../lib/buildyml.ts";
import { MAX_CONFIG_BYTES, MAX_PLAN_BYTES, readTextLimited } from "../../lib/limits.ts";
import { checkPemFile } from "../../lib/pemfile.ts";
import { loadSigningConfig } from "../../lib/sign/config.ts";
import { parseBuilders } from "../../lib/builder.ts";
import { makeDefinition } from "../../lib/define.ts";
import { resolveGraph } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { buildxBuilder, type LocalImage } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { parsePlanFile } from "../../lib/apply.ts";
import { InputError } from "../../lib/errors.ts";
import { specErrorOf } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "pkgkit-limits-unit-"));
const FILE = "/pkgs/app/build.yml";
const errorOf = (text: string) => specErrorOf(() => parseBuildYml(text, FILE));
/** The message of the InputError `fn` throws (exit 2). */
async function inputErrorOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    assert.is(e.exitCode, 2);
    return e.message;
  }
  throw new Error("expected an InputError");
}
/** A sparse file of `size` bytes: as large as that to stat, nothing on disk. */
function sparse(path: string, size: number): string {
  const fd = openSync(path, "w");
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

// Nine levels, nine aliases each: 9^9 strings once expanded, 99 nodes as written.
const BOMB = ["image: app", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((c, i) => `${c}: &${c} [${Array(9).fill(`*${"abcdefghi"[i]}`).join(",")}]`)].join("\n") + "\n";

test("an alias bomb: refused where the expansion passes the limit, naming file, line and limit", () => {
  assert.is(errorOf(BOMB), `${FILE}:6:8: package: YAML aliases expand to more than 10000 nodes (at *d); a file's aliases may add at most 10000`);
});

test("more than 100 aliases, each small: refused at the 101st", () => {
  const text = `image: app\nlabels: &l {}\nx: [${Array(101).fill("*l").join(", ")}]\n`;
  assert.is(errorOf(text), `${FILE}:3:405: package: more than 100 YAML aliases (*l); a file may hold at most 100`);
});

test("an alias inside the node it names (a cycle) is refused; a few plain aliases are fine", () => {
  assert.is(errorOf("image: app\nconfig: &c { self: *c }\n"), `${FILE}:2:20: package: YAML alias *c is inside the node it refers to, so it never ends`);
  const { spec } = parseBuildYml("image: app\narches: &a [amd64]\nconfig: { binds: &b [/a:/a], more: *b, arches: *a }\n", FILE);
  assert.equal(spec.config, { binds: ["/a:/a"], more: ["/a:/a"], arches: ["amd64"] });
});

test("a build.yml of 1 MiB is read; 1 MiB + 1 byte is refused from its size", async () => {
  mkdirSync(join(dir, "p"));
  const file = join(dir, "p/build.yml");
  const head = "image: app\n# ";
  writeFileSync(file, head + "x".repeat(MAX_CONFIG_BYTES - head.length));
  assert.is((await loadBuildYml(file)).spec.image, "app");
  writeFileSync(file, head + "x".repeat(MAX_CONFIG_BYTES - head.length + 1));
  assert.is(await inputErrorOf(() => loadBuildYml(file)), `${file}: too large: 1048577 bytes; a build.yml may be at most 1 MiB (1048576 bytes)`);
});

test("a 48 MB build.yml is refused without being read", async () => {
  const file = sparse(join(dir, "p/build.yml"), 48_000_000);
  assert.is(await inputErrorOf(() => loadBuildYml(file)), `${file}: too large: 48000000 bytes; a build.yml may be at most 1 MiB (1048576 bytes)`);
});

test("a build.yml that is a directory or a device: refused, not read", async () => {
  assert.is(await inputErrorOf(() => readTextLimited(dir, MAX_CONFIG_BYTES, "a build.yml")), `${dir}: is a directory; expected a build.yml`);
  assert.is(await inputErrorOf(() => readTextLimited("/dev/zero", MAX_CONFIG_BYTES, "a build.yml")), "/dev/zero: not a regular file; expected a build.yml");
});

test("a plan of 1000 packages fits the plan limit and reads back; one over the limit is refused from its size", async () => {
  const shell = await defaultShell();
  const defs = Array.from({ length: 1000 }, (_, i) => makeDefinition({ image: `package-number-${i}`, org: "registry.example.com/some-team" }, join(dir, `p${i}`, "pkg.config.ts")));
  const { packages } = await resolveGraph(shell, defs, { hash: "0123456789abcdef0123456789abcdef01234567" });
  const refs = packages.flatMap((p) => [...p.arches.map((a) => `${p.repository}:${p.tag}-${a}`), `${p.repository}:${p.tag}`]);
  const p = plan(packages, {
    command: "push", builder: buildxBuilder(shell), local: new Map<string, LocalImage>(), remote: new Map(), indexes: new Map(),
    observed: { registry: Object.fromEntries(refs.map((r) => [r, null])), local: Object.fromEntries(refs.filter((r) => /-(amd|arm)64$/.test(r)).map((r) => [r, null])) },
    resolved: { from: dir, hash: "0123456789abcdef0123456789abcdef01234567" },
  });
  const file = join(dir, "plan.json");
  writeFileSync(file, JSON.stringify(p, null, 2));
  const read = parsePlanFile(readTextLimited(file, MAX_PLAN_BYTES, "a plan"), file);
  assert.is("packages" in read && read.packages.length, 1000);
  const big = sparse(join(dir, "big-plan.json"), MAX_PLAN_BYTES + 1);
  assert.is(await inputErrorOf(() => readTextLimited(big, MAX_PLAN_BYTES, "a plan")), `${big}: too large: 67108865 bytes; a plan may be at most 64 MiB (67108864 bytes)`);
});

test("a plan nested 200000 levels deep is refused (exit 2), not overflowed; a deeply nested build.yml too", async () => {
  const deep = `{"version": 1, "steps": [], "x": ${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
  assert.is(await inputErrorOf(() => parsePlanFile(deep, "plan.json")), "plan.json: not a pkgkit plan: nested more than 32 levels deep; expected what `pkgkit plan --json` prints");
  assert.is(errorOf(`image: app\nconfig: ${"{a: ".repeat(200)}1${"}".repeat(200)}\n`), `${FILE}:2:261: package: invalid YAML: nested too deeply: more than 64 levels`);
});

test("pkgkit.yml: an alias bomb and a size over the limit name the file; a key file that is not a PEM key is refused", async () => {
  const ws = join(dir, "ws");
  mkdirSync(ws);
  const yml = join(ws, "pkgkit.yml");
  writeFileSync(yml, BOMB.replace("image: app", "signer: sigstore"));
  assert.is(await inputErrorOf(() => loadSigningConfig(ws, {})), `${yml}:6:8: YAML aliases expand to more than 10000 nodes (at *d); a file's aliases may add at most 10000`);
  sparse(yml, MAX_CONFIG_BYTES + 1);
  assert.is(await inputErrorOf(() => loadSigningConfig(ws, {})), `${yml}: too large: 1048577 bytes; a pkgkit.yml may be at most 1 MiB (1048576 bytes)`);
  writeFileSync(yml, "notary:\n  ca: /etc/passwd\n");
  assert.is(await inputErrorOf(() => loadSigningConfig(ws, {})), `${yml}: field "notary.ca": "/etc/passwd": not a PEM certificate (-----BEGIN CERTIFICATE-----)`);
});

test("PEM files: /etc/passwd is neither a certificate nor a key; a missing file says so", async () => {
  assert.is(await inputErrorOf(() => checkPemFile("/etc/passwd", "certificate", '--registry-ca "/etc/passwd"')), '--registry-ca "/etc/passwd": not a PEM certificate (-----BEGIN CERTIFICATE-----)');
  assert.is(await inputErrorOf(() => checkPemFile(join(dir, "nope.pem"), "private key", "--key")), "--key: no such file; expected a PEM private key (-----BEGIN PRIVATE KEY----- or EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)");
});

test("credentials in an org (build.yml) or an engine endpoint are refused without being echoed", async () => {
  const org = errorOf('image: app\norg: "bob:hunter22@registry.example.com/team"\n');
  assert.is(org, `${FILE}:2:6: field "org": "***@registry.example.com/team" is not a valid org: an org must not contain credentials (user:password@): give them to \`docker login\`, which pkgkit reads`);
  const builders = await inputErrorOf(() => parseBuilders("arm64=ssh://bob:hunter22@arm-host", "PKGKIT_BUILDERS"));
  assert.is(builders, 'PKGKIT_BUILDERS "arm64=ssh://bob:***@arm-host": "ssh://bob:***@arm-host": an engine endpoint must not hold a password; use an SSH key or agent (ssh://user@host), or TLS (tcp://); expected arch=<endpoint|context|buildx:<name>>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock,riscv64=buildx:k8s');
  const shell = await defaultShell();
  const def = makeDefinition({ image: "app" }, join(dir, "app/pkg.config.ts"));
  const env = await inputErrorOf(() => resolveGraph(shell, [def], { hash: "h", org: "bob:hunter22@registry.example.com/team", orgSource: "PKGKIT_ORG" }));
  assert.is(env, 'PKGKIT_ORG "***@registry.example.com/team": an org must not contain credentials (user:password@): give them to `docker login`, which pkgkit reads');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
