// Precedence (lib/options.ts): for each setting, every combination of its sources set or unset,
// asserting the winner and where it came from (flag > environment > file > workspace > default),
// and a bad value from each source, named in the error.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { inputErrorOf } from "../helpers.ts";
import type { Arch } from "../../lib/names.ts";
import {
  declaredArches, insecureRegistries, parseBuildArgFile, registryBounds, resolveArches, resolveAttestations, resolveBuildArgFiles, resolveBuildMode,
  resolveBuilderKind, resolveBuilders, resolveDisableCache, resolveDisableContentTrust, resolveDockerfile, resolveHash, resolveJobs, resolveOptions,
  resolveRelease, resolveNetwork, resolveOrg, resolveSettings, resolveSourceDateEpoch, resolveVerbosity, runArches, runOrg, runSkipArches, runSourceDateEpoch,
  type Env, type FileValue, type Flags, type Setting,
} from "../../lib/options.ts";

const FILE = "/ws/pkg/app/pkg.config.ts";
const WS = "/ws/pkgkit.config.ts";

/** Every combination of `sources` set (true) or unset (false). */
function combinations<S extends string>(sources: readonly S[]): Record<S, boolean>[] {
  return Array.from({ length: 2 ** sources.length }, (_, n) => Object.fromEntries(sources.map((s, i) => [s, (n & (1 << i)) !== 0])) as Record<S, boolean>);
}
const label = (set: Record<string, boolean>) => Object.entries(set).map(([s, on]) => `${s} ${on ? "set" : "unset"}`).join(", ");
/** The first source set, in precedence order, else "default". */
const winner = <S extends string>(order: readonly S[], set: Record<S, boolean>): S | "default" => order.find((s) => set[s]) ?? "default";
const pick = <T>(s: Setting<T>) => ({ value: s.value, from: s.from, name: s.name });

// --- org: --org > PKGKIT_ORG > LINUXKIT_PKG_ORG > --dev's $USER > package file > workspace > linuxkit

const ORG_SOURCES = ["flag", "env", "lkEnv", "dev", "file", "workspace"] as const;
const orgValues = { flag: "flag-org", env: "env-org", lkEnv: "lk-env-org", dev: "dev-user", file: "file-org", workspace: "ws-org", default: "linuxkit" };
const orgNames = { flag: "--org", env: "PKGKIT_ORG", lkEnv: "LINUXKIT_PKG_ORG", dev: "--dev ($USER)", file: FILE, workspace: WS, default: "default" };
const orgFrom = { flag: "flag", env: "env", lkEnv: "env", dev: "flag", file: "file", workspace: "workspace", default: "default" } as const;
for (const set of combinations(ORG_SOURCES)) {
  test(`org: ${label(set)}`, () => {
    const flags: Flags = { ...(set.flag ? { org: orgValues.flag } : {}), ...(set.dev ? { dev: true } : {}) };
    const env: Env = { USER: orgValues.dev, ...(set.env ? { PKGKIT_ORG: orgValues.env } : {}), ...(set.lkEnv ? { LINUXKIT_PKG_ORG: orgValues.lkEnv } : {}) };
    const file: FileValue<string> = { file: FILE, value: set.file ? orgValues.file : undefined };
    const workspace: FileValue<string> = { file: WS, value: set.workspace ? orgValues.workspace : undefined };
    const w = winner(ORG_SOURCES, set);
    assert.equal(pick(resolveOrg(runOrg(flags, env), file, workspace)), { value: orgValues[w], from: orgFrom[w], name: orgNames[w] });
  });
}

test("org: --dev without $USER names both ways out", () => {
  assert.is(inputErrorOf(() => runOrg({ dev: true }, {})), "--dev: the org is $USER, which is not set; set USER, or give --org <org>");
  assert.is(runOrg({ dev: true, org: "x" }, {})!.value, "x");
});

test("org: an empty LINUXKIT_PKG_ORG is unset, as in LinuxKit", () => {
  assert.is(runOrg({}, { LINUXKIT_PKG_ORG: "" }), undefined);
  assert.is(runOrg({}, { PKGKIT_ORG: "", LINUXKIT_PKG_ORG: "lk" })!.name, "LINUXKIT_PKG_ORG");
  assert.is(inputErrorOf(() => resolveOrg(runOrg({}, { LINUXKIT_PKG_ORG: "Bad Org" }))).split(":")[0], 'LINUXKIT_PKG_ORG "Bad Org"');
});

test("org: an empty PKGKIT_ORG is unset", () => {
  assert.is(runOrg({}, { PKGKIT_ORG: "" }), undefined);
});

test("org: a bad value names its source (credentials redacted)", () => {
  const bad = "Bad Org";
  const problem = "use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/";
  assert.is(inputErrorOf(() => resolveOrg(runOrg({ org: bad }, {}))), `--org "Bad Org": ${problem}`);
  assert.is(inputErrorOf(() => resolveOrg(runOrg({}, { PKGKIT_ORG: bad }))), `PKGKIT_ORG "Bad Org": ${problem}`);
  assert.is(inputErrorOf(() => resolveOrg(undefined, { file: FILE, value: bad })), `${FILE}: field "org": ${problem} (got "Bad Org")`);
  assert.is(inputErrorOf(() => resolveOrg(undefined, { file: FILE, value: undefined }, { file: WS, value: bad })), `${WS}: field "org": ${problem} (got "Bad Org")`);
  assert.match(inputErrorOf(() => resolveOrg(runOrg({}, { PKGKIT_ORG: "bob:hunter22@registry.example.com/team" }))), /^PKGKIT_ORG "\*\*\*@registry.example.com\/team": /);
});

// --- hash: --hash > the content hash (git)

test("hash: --hash set wins; unset leaves the content hash to git", () => {
  assert.equal(pick(resolveHash({ hash: "h1" })!), { value: "h1", from: "flag", name: "--hash" });
  assert.is(resolveHash({}), undefined);
});

test("hash: --dev makes it \"dev\" unless --hash is given", () => {
  assert.equal(pick(resolveHash({ dev: true })!), { value: "dev", from: "flag", name: "--dev" });
  assert.equal(pick(resolveHash({ dev: true, hash: "h1" })!), { value: "h1", from: "flag", name: "--hash" });
});

test("LinuxKit's hashing flags: --tag, --hash-commit, --hash-path, --force-dirty, --build-yml", () => {
  const o = resolveOptions({ tag: "v1-{{ .Hash }}", "hash-commit": "HEAD~1", "hash-path": "..", "force-dirty": true, "build-yml": "b.yml" }, {}, "/ws/pkg");
  assert.equal([o.tag, o.hashCommit, o.hashPath, o.forceDirty, o.buildYml], ["v1-{{ .Hash }}", "HEAD~1", "/ws", true, "b.yml"]);
  assert.not.ok("tag" in resolveOptions({}, {}), "unset flags leave no key (plans record what is set)");
  assert.match(inputErrorOf(() => resolveOptions({ tag: "{{.Arch}}" }, {})), /^--tag "\{\{\.Arch\}\}": "\{\{\.Arch\}\}" is a template action pkgkit does not support; .*expected text with \{\{\.Hash\}\}/);
  assert.is(inputErrorOf(() => resolveOptions({ "hash-commit": "--output=x" }, {})), `--hash-commit "--output=x": expected a commit, branch or tag name, e.g. HEAD~1`);
  assert.is(inputErrorOf(() => resolveOptions({ "build-yml": "/etc/b.yml" }, {})), `--build-yml "/etc/b.yml": expected a file name relative to each package directory, e.g. build-kernel.yml`);
});

test("hash: a bad --hash names the flag", () => {
  assert.is(inputErrorOf(() => resolveHash({ hash: "a/b" })), `--hash "a/b": expected a tag: letters, digits, "_", "." and "-", at most 128 characters`);
});

// --- arches: --arches (selects) > package file > workspace > amd64, arm64

const ARCH_SOURCES = ["flag", "file", "workspace"] as const;
const archValues: Record<(typeof ARCH_SOURCES)[number] | "default", Arch[]> = { flag: ["amd64"], file: ["amd64", "s390x"], workspace: ["amd64", "ppc64le"], default: ["amd64", "arm64"] };
const archNames = { flag: "--arches", file: FILE, workspace: WS, default: "default" };
for (const set of combinations(ARCH_SOURCES)) {
  test(`arches: ${label(set)}`, () => {
    const flags: Flags = set.flag ? { arches: archValues.flag.join(",") } : {};
    const file = { file: FILE, value: set.file ? archValues.file : undefined };
    const workspace = { file: WS, value: set.workspace ? archValues.workspace : undefined };
    const w = winner(ARCH_SOURCES, set);
    const resolved = resolveArches(runArches(flags), declaredArches(file, workspace), { file: FILE, asked: true });
    assert.equal(pick(resolved), { value: archValues[w], from: w, name: archNames[w] });
  });
}

test("arches: a bad --arches names the flag; one the package does not declare names the flag and the file", () => {
  assert.is(inputErrorOf(() => runArches({ arches: "arm64,sparc" })), `--arches "arm64,sparc": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>`);
  assert.is(inputErrorOf(() => runArches({ arches: "," })), `--arches ",": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>`);
  const declared = declaredArches(undefined, { file: WS, value: ["amd64", "ppc64le"] });
  assert.is(inputErrorOf(() => resolveArches(["riscv64"], declared, { file: FILE, asked: true })), `--arches riscv64: ${FILE} builds only for amd64, ppc64le`);
  // A dependency keeps the arches of --arches it has, else all it declares.
  assert.equal(resolveArches(["riscv64"], declared, { file: FILE, asked: false }).value, ["amd64", "ppc64le"]);
  assert.equal(resolveArches(["ppc64le", "riscv64"], declared, { file: FILE, asked: false }).value, ["ppc64le"]);
});

// --- LinuxKit's arch flags: --platforms (the same as --arches), --skip-platforms; linux/<arch> everywhere

const SELECT_SOURCES = ["arches", "platforms", "skip"] as const;
for (const set of combinations(SELECT_SOURCES)) {
  test(`arches, LinuxKit's flags: ${label(set)}`, () => {
    const flags: Flags = {
      ...(set.arches ? { arches: "linux/arm64" } : {}),
      ...(set.platforms ? { platforms: "linux/amd64,s390x" } : {}),
      ...(set.skip ? { "skip-platforms": "linux/amd64" } : {}),
    };
    const declared = declaredArches({ file: FILE, value: ["amd64", "arm64", "s390x"] });
    const resolve = () => resolveArches(runArches(flags), declared, { file: FILE, asked: true }, runSkipArches(flags));
    if (set.arches && set.platforms) return assert.is(inputErrorOf(resolve), "--arches and --platforms say the same thing; give one of them");
    if (set.skip && (set.arches || set.platforms))
      return assert.is(inputErrorOf(resolve), `--skip-platforms and --${set.platforms ? "platforms" : "arches"} may not be used together: --${set.platforms ? "platforms" : "arches"} names every arch to build already`);
    const expected = set.arches ? { value: ["arm64"], name: "--arches" } : set.platforms ? { value: ["amd64", "s390x"], name: "--arches" } : set.skip ? { value: ["arm64", "s390x"], name: "--skip-platforms" } : { value: ["amd64", "arm64", "s390x"], name: FILE };
    assert.equal({ value: resolve().value, name: resolve().name }, expected);
  });
}

test("arches, LinuxKit's flags: --skip-platforms may leave a package no arch (LinuxKit skips it); one it does not declare changes nothing; a bad one names the flag", () => {
  const declared = declaredArches({ file: FILE, value: ["amd64"] });
  assert.equal(resolveArches(undefined, declared, { file: FILE, asked: true }, ["amd64"]).value, []);
  assert.equal(pick(resolveArches(undefined, declared, { file: FILE, asked: true }, ["riscv64"])), { value: ["amd64"], from: "file", name: FILE });
  assert.is(inputErrorOf(() => runSkipArches({ "skip-platforms": "windows/amd64" })), `--skip-platforms "windows/amd64": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>`);
  assert.is(inputErrorOf(() => runArches({ platforms: "linux/sparc" })), `--platforms "linux/sparc": expected a comma-separated list of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>`);
  assert.equal(resolveOptions({ "skip-platforms": "linux/arm64, riscv64" }, {}).skipArches, ["arm64", "riscv64"]);
});

// --- network, disableCache, disableContentTrust: flag > package file > false

const BOOLEAN_SOURCES = ["flag", "file"] as const;
const booleans = [
  ["network", "--network", resolveNetwork],
  ["disableCache", "--disable-cache", resolveDisableCache],
  ["disableContentTrust", "--disable-content-trust", resolveDisableContentTrust],
] as const;
for (const [name, flagName, resolve] of booleans) {
  for (const set of combinations(BOOLEAN_SOURCES)) {
    test(`${name}: ${label(set)}`, () => {
      // The flag says false and the file true, so that each differs from the other and from the default.
      const w = winner(BOOLEAN_SOURCES, set);
      const expected = { flag: { value: false, from: "flag", name: flagName }, file: { value: true, from: "file", name: FILE }, default: { value: false, from: "default", name: "default" } }[w];
      assert.equal(pick(resolve(set.flag ? false : undefined, { file: FILE, value: set.file ? true : undefined })), expected);
    });
  }
}

// --- SOURCE_DATE_EPOCH: --source-date-epoch > SOURCE_DATE_EPOCH > the package's sourceDateEpoch > 0

const EPOCH_SOURCES = ["flag", "env", "file", "workspace"] as const;
const epochValues = { flag: 111, env: 222, file: 333, workspace: 444, default: 0 };
const epochNames = { flag: "--source-date-epoch", env: "SOURCE_DATE_EPOCH", file: FILE, workspace: WS, default: "default" };
for (const set of combinations(EPOCH_SOURCES)) {
  test(`sourceDateEpoch: ${label(set)}`, () => {
    const w = winner(EPOCH_SOURCES, set);
    const run = runSourceDateEpoch(set.flag ? { "source-date-epoch": "111" } : {}, set.env ? { SOURCE_DATE_EPOCH: "222" } : {});
    if (w === "flag" || w === "env") assert.equal(pick(run!), { value: epochValues[w], from: w, name: epochNames[w] });
    else assert.is(run, undefined);
    const resolved = resolveSourceDateEpoch(run?.value, { file: FILE, value: set.file ? 333 : undefined }, { file: WS, value: set.workspace ? 444 : undefined });
    assert.is(resolved.value, epochValues[w]);
    assert.is(resolved.from, w === "env" ? "flag" : w, "the run's value (flag or variable) is one source for the package");
    if (w === "file" || w === "workspace") assert.is(resolved.name, epochNames[w]);
    assert.is(resolveOptions(set.flag ? { "source-date-epoch": "111" } : {}, set.env ? { SOURCE_DATE_EPOCH: "222" } : {}).sourceDateEpoch, run?.value);
  });
}

test("sourceDateEpoch: an empty SOURCE_DATE_EPOCH is unset; a bad value names its source and the form", () => {
  assert.is(runSourceDateEpoch({}, { SOURCE_DATE_EPOCH: "" }), undefined);
  const form = "expected whole seconds since 1970-01-01 UTC, from 0 to 8589934591, e.g. 1700000000 (`git log -1 --format=%ct`)";
  assert.is(inputErrorOf(() => runSourceDateEpoch({ "source-date-epoch": "yesterday" }, {})), `--source-date-epoch "yesterday": ${form}`);
  assert.is(inputErrorOf(() => runSourceDateEpoch({}, { SOURCE_DATE_EPOCH: "-1" })), `SOURCE_DATE_EPOCH "-1": ${form}`);
  assert.is(inputErrorOf(() => runSourceDateEpoch({}, { SOURCE_DATE_EPOCH: "8589934592" })), `SOURCE_DATE_EPOCH "8589934592": ${form}`);
  assert.is(runSourceDateEpoch({}, { SOURCE_DATE_EPOCH: "8589934591" })?.value, 8589934591);
});

// --- builder kind: --builder > detected

test("builder kind: --builder set wins; unset is left to detection", () => {
  assert.equal(pick(resolveBuilderKind({ builder: "legacy" })!), { value: "legacy", from: "flag", name: "--builder" });
  assert.is(resolveBuilderKind({}), undefined);
});

test("builder kind: a bad --builder names the flag", () => {
  assert.is(inputErrorOf(() => resolveBuilderKind({ builder: "kaniko" })), `--builder "kaniko": expected buildx or legacy`);
});

// --- builders: --builders > PKGKIT_BUILDERS > the workspace's, as a whole

const BUILDER_SOURCES = ["flag", "env", "workspace"] as const;
const engines = {
  flag: { arm64: { context: "flag-ctx" } },
  env: { riscv64: { context: "env-ctx" } },
  workspace: { amd64: { host: "unix:///ws.sock" }, arm64: { context: "ws-ctx" } },
  default: {},
};
const builderNames = { flag: "--builders", env: "PKGKIT_BUILDERS", workspace: WS, default: "default" };
for (const set of combinations(BUILDER_SOURCES)) {
  test(`builders: ${label(set)}`, () => {
    const flags: Flags = set.flag ? { builders: "arm64=flag-ctx" } : {};
    const env: Env = set.env ? { PKGKIT_BUILDERS: "riscv64=env-ctx" } : {};
    const workspace = { file: WS, value: set.workspace ? { amd64: "unix:///ws.sock", arm64: "ws-ctx" } : undefined };
    const w = winner(BUILDER_SOURCES, set);
    assert.equal(pick(resolveBuilders(flags, env, workspace)), { value: engines[w], from: w, name: builderNames[w] });
  });
}

// --- builders with LINUXKIT_BUILDERS: merged under --builders per arch (as LinuxKit), unless PKGKIT_BUILDERS is set

const LK_BUILDER_SOURCES = ["flag", "env", "linuxkit", "workspace"] as const;
for (const set of combinations(LK_BUILDER_SOURCES)) {
  test(`builders with LINUXKIT_BUILDERS: ${label(set)}`, () => {
    const flags: Flags = set.flag ? { builders: "linux/arm64=flag-ctx" } : {};
    const env: Env = { ...(set.env ? { PKGKIT_BUILDERS: "riscv64=env-ctx" } : {}), ...(set.linuxkit ? { LINUXKIT_BUILDERS: "linux/arm64=lk-arm,linux/s390x=lk-s390x" } : {}) };
    const workspace = { file: WS, value: set.workspace ? { amd64: "unix:///ws.sock", arm64: "ws-ctx" } : undefined };
    const linuxkit = set.linuxkit && !set.env;
    const expected = set.flag && linuxkit
      ? { value: { arm64: { context: "flag-ctx" }, s390x: { context: "lk-s390x" } }, from: "flag", name: "--builders over LINUXKIT_BUILDERS" }
      : set.flag ? { value: engines.flag, from: "flag", name: "--builders" }
      : set.env ? { value: engines.env, from: "env", name: "PKGKIT_BUILDERS" }
      : linuxkit ? { value: { arm64: { context: "lk-arm" }, s390x: { context: "lk-s390x" } }, from: "env", name: "LINUXKIT_BUILDERS" }
      : set.workspace ? { value: engines.workspace, from: "workspace", name: WS }
      : { value: {}, from: "default", name: "default" };
    assert.equal(pick(resolveBuilders(flags, env, workspace)), expected);
  });
}

test("builders: a bad LINUXKIT_BUILDERS names it, even under --builders (LinuxKit reads it first); an empty one is unset", () => {
  assert.match(inputErrorOf(() => resolveBuilders({ builders: "arm64=x" }, { LINUXKIT_BUILDERS: "linux/arm64" })), /^LINUXKIT_BUILDERS "linux\/arm64": "linux\/arm64" is not arch=<endpoint\|context>; /);
  assert.equal(resolveBuilders({}, { LINUXKIT_BUILDERS: "" }).from, "default");
});

test("builders: a bad value names its source", () => {
  const form = "expected arch=<endpoint|context>,..., e.g. arm64=ssh://user@arm-host,amd64=unix:///var/run/docker.sock";
  assert.is(inputErrorOf(() => resolveBuilders({ builders: "arm64" }, {})), `--builders "arm64": "arm64" is not arch=<endpoint|context>; ${form}`);
  assert.is(inputErrorOf(() => resolveBuilders({}, { PKGKIT_BUILDERS: "x86=ctx" })), `PKGKIT_BUILDERS "x86=ctx": "x86" is not an arch pkgkit builds for (amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64, each also as linux/<arch>); ${form}`);
  assert.is(inputErrorOf(() => resolveBuilders({}, {}, { file: WS, value: { arm64: "http://x" } })), `${WS}: field "builders.arm64": "http://x" is not an engine endpoint; expected unix:///<socket>, tcp://<host>:<port> or ssh://[user@]<host>`);
});

// --- registry bounds: --registry-* > PKGKIT_REGISTRY_* > defaults, each on its own

const BOUND_SOURCES = ["flag", "env"] as const;
const bounds = [
  { key: "requestMs", flag: "registry-timeout", variable: "PKGKIT_REGISTRY_TIMEOUT", values: { flag: ["2s", 2000], env: ["500ms", 500], default: [undefined, 15_000] } },
  { key: "totalMs", flag: "registry-total-timeout", variable: "PKGKIT_REGISTRY_TOTAL_TIMEOUT", values: { flag: ["5m", 300_000], env: ["90", 90_000], default: [undefined, 60_000] } },
  { key: "retries", flag: "registry-retries", variable: "PKGKIT_REGISTRY_RETRIES", values: { flag: ["0", 0], env: ["7", 7], default: [undefined, 3] } },
] as const;
for (const b of bounds) {
  for (const set of combinations(BOUND_SOURCES)) {
    test(`registry bound ${b.flag}: ${label(set)}`, () => {
      const flags: Flags = set.flag ? { [b.flag]: b.values.flag[0] } : {};
      const env: Env = set.env ? { [b.variable]: b.values.env[0] } : {};
      const w = winner(BOUND_SOURCES, set);
      const name = { flag: `--${b.flag}`, env: b.variable, default: "default" }[w];
      assert.equal(pick(registryBounds(flags, env)[b.key]), { value: b.values[w][1], from: w, name });
    });
  }
  test(`registry bound ${b.flag}: a bad value names its source`, () => {
    const expected = b.key === "retries" ? "expected a whole number of retries from 0 to 99, such as 3" : "expected a duration of 1ms to 24h, such as 500ms, 30s or 5m";
    assert.is(inputErrorOf(() => registryBounds({ [b.flag]: "soon" }, {})), `--${b.flag} "soon": ${expected}`);
    assert.is(inputErrorOf(() => registryBounds({}, { [b.variable]: "soon" })), `${b.variable} "soon": ${expected}`);
  });
}

// --- insecure registries: the flag's and the variable's, together

for (const set of combinations(BOUND_SOURCES)) {
  test(`insecure registries: ${label(set)}`, () => {
    const flags: Flags = set.flag ? { "insecure-registry": "a.example:5000, b.example" } : {};
    const env: Env = set.env ? { PKGKIT_INSECURE_REGISTRIES: "c.example," } : {};
    assert.equal(insecureRegistries(flags, env), [...(set.flag ? ["a.example:5000", "b.example"] : []), ...(set.env ? ["c.example"] : [])]);
  });
}

// --- release: --release, no other source

test("release: --release set is used; unset is none; a bad one names the flag", () => {
  assert.is(resolveRelease({ release: "v1.2.3" }), "v1.2.3");
  assert.is(resolveRelease({}), undefined);
  assert.is(inputErrorOf(() => resolveRelease({ release: "v1/2" })), `--release "v1/2": expected a tag: letters, digits, "_", "." and "-", at most 128 characters, e.g. v1.2.3`);
});

// --- jobs: --jobs > one per core

test("jobs: --jobs set wins; unset is left to run() (one per core)", () => {
  assert.is(resolveJobs({ jobs: "4" }), 4);
  assert.is(resolveJobs({}), undefined);
});

test("jobs: a bad --jobs names the flag", () => {
  assert.is(inputErrorOf(() => resolveJobs({ jobs: "0" })), `--jobs "0": expected a whole number of at least 1`);
  assert.is(inputErrorOf(() => resolveJobs({ jobs: "two" })), `--jobs "two": expected a whole number of at least 1`);
});

// --- LinuxKit's build flags

test("dockerfile: --dockerfile must stay inside each package directory, as LinuxKit requires", () => {
  assert.is(resolveDockerfile({}), undefined);
  assert.is(resolveDockerfile({ dockerfile: "build/Dockerfile.alt" }), "build/Dockerfile.alt");
  for (const bad of ["../Dockerfile", "/etc/Dockerfile", "a/../../b", ""])
    assert.is(inputErrorOf(() => resolveDockerfile({ dockerfile: bad })), `--dockerfile ${JSON.stringify(bad)}: expected a path relative to each package directory and inside it (no leading "/", no ".."), e.g. Dockerfile.dev`);
  assert.is(resolveOptions({ dockerfile: "D2" }, {}).dockerfile, "D2");
});

test("build arg files: KEY=value lines trimmed, blank lines skipped; later files win; a bad line names the file and line", () => {
  assert.equal(parseBuildArgFile("  A = 1 \n\nB=x=y\n", "f"), { A: "1", B: "x=y" });
  const files: Record<string, string> = { one: "A=1\nB=1\n", two: "B=2\n" };
  assert.equal(resolveBuildArgFiles({ "build-arg-file": ["one", "two"] }, (f) => files[f]!), { A: "1", B: "2" });
  assert.equal(resolveBuildArgFiles({ "build-arg-file": ["two", "one"] }, (f) => files[f]!), { A: "1", B: "1" });
  assert.is(resolveBuildArgFiles({}, () => ""), undefined);
  assert.is(inputErrorOf(() => parseBuildArgFile("A=1\nnoequals\n", "args.txt")), `--build-arg-file args.txt: line 2: "noequals": expected KEY=value`);
  assert.is(inputErrorOf(() => parseBuildArgFile("A B=1", "f")), `--build-arg-file f: line 1: "A B": expected a build arg name (letters, digits and "_")`);
  assert.match(inputErrorOf(() => parseBuildArgFile("DEP=@lkt:pkg:../base", "f")), /^--build-arg-file f: line 1: DEP=@lkt:pkg:..\/base: a package reference; put it in the package's build args/);
});

test("build mode: --nobuild and --manifest=false as given; --force conflicts with --nobuild and with --pull, as in LinuxKit", () => {
  assert.equal(resolveBuildMode({}), { nobuild: false, manifest: true });
  assert.equal(resolveBuildMode({ nobuild: true, manifest: false }), { nobuild: true, manifest: false });
  assert.equal(resolveBuildMode({ force: true, manifest: true }), { nobuild: false, manifest: true });
  assert.is(inputErrorOf(() => resolveBuildMode({ force: true, nobuild: true })), "--force and --nobuild conflict: --force rebuilds, --nobuild builds nothing");
  assert.is(inputErrorOf(() => resolveBuildMode({ force: true, pull: true })), "--force and --pull conflict: --force rebuilds, --pull takes the registry's image instead of building");
});

test("attestations: only --sbom-scanner false turns them off; a scanner image changes nothing", () => {
  assert.equal(pick(resolveAttestations({ "sbom-scanner": "false" })), { value: false, from: "flag", name: "--sbom-scanner" });
  for (const flags of [{}, { "sbom-scanner": "" }, { "sbom-scanner": "docker/scout-sbom-indexer:1" }]) assert.equal(pick(resolveAttestations(flags)), { value: true, from: "default", name: "default" });
});

test("verbosity: -v alone keeps pkgkit's meaning; -v N, -q and --progress as LinuxKit; -q with -v 1 or more is refused", () => {
  const cases: [Flags, { quiet: boolean; buildOutput: boolean; notes: boolean }][] = [
    [{}, { quiet: false, buildOutput: false, notes: false }],
    [{ verbose: true }, { quiet: false, buildOutput: true, notes: true }],
    [{ verbose: "0" }, { quiet: true, buildOutput: false, notes: false }],
    [{ verbose: "1" }, { quiet: false, buildOutput: false, notes: false }],
    [{ verbose: "2" }, { quiet: false, buildOutput: true, notes: true }],
    [{ verbose: "3" }, { quiet: false, buildOutput: true, notes: true }],
    [{ quiet: true }, { quiet: true, buildOutput: false, notes: false }],
    [{ quiet: true, verbose: "0" }, { quiet: true, buildOutput: false, notes: false }],
    [{ progress: "plain" }, { quiet: false, buildOutput: true, notes: false }],
    [{ progress: "tty" }, { quiet: false, buildOutput: false, notes: false }],
    [{ progress: "auto" }, { quiet: false, buildOutput: false, notes: false }],
  ];
  for (const [flags, expected] of cases) assert.equal(resolveVerbosity(flags), expected, JSON.stringify(flags));
  assert.is(inputErrorOf(() => resolveVerbosity({ quiet: true, verbose: "2" })), "-q and -v 2: quiet and verbose at once; give one");
  assert.is(inputErrorOf(() => resolveVerbosity({ quiet: true, verbose: true })), "-q and -v: quiet and verbose at once; give one");
  assert.is(inputErrorOf(() => resolveVerbosity({ verbose: "4" })), "--verbose 4: expected 0 (quiet), 1 (the default), 2 or 3 (build output and notes), or -v alone (build output)");
  assert.is(inputErrorOf(() => resolveVerbosity({ progress: "fancy" })), `--progress "fancy": expected auto, plain, tty`);
});

// --- a command's settings

test("settings: builders and registry bounds are resolved only when the command asks, so a variable it does not read cannot stop it", () => {
  const env = { PKGKIT_BUILDERS: "arm64", PKGKIT_REGISTRY_TIMEOUT: "soon" };
  const settings = resolveSettings({ org: "flag-org" }, env);
  assert.equal(settings.engines, {});
  assert.is(settings.registry, undefined);
  assert.is(settings.packages.org, "flag-org");
  assert.match(inputErrorOf(() => resolveSettings({}, env, { builders: true })), /^PKGKIT_BUILDERS "arm64": /);
  assert.match(inputErrorOf(() => resolveSettings({}, env, { registry: true })), /^PKGKIT_REGISTRY_TIMEOUT "soon": /);
});

test("settings: the workspace gives the packages their defaults and the builders, unless a flag or variable says otherwise", () => {
  const workspace = { dir: "/ws", file: WS, org: "ws-org", builders: { arm64: "ws-ctx" } };
  const settings = resolveSettings({}, { PKGKIT_ORG: "env-org" }, { workspace, builders: true });
  assert.equal(settings.packages, { org: "env-org", orgSource: "PKGKIT_ORG", hash: undefined, arches: undefined, network: undefined, disableCache: undefined, disableContentTrust: undefined, workspace });
  assert.equal(settings.engines, { arm64: { context: "ws-ctx" } });
  assert.equal(resolveSettings({ builders: "arm64=flag-ctx" }, {}, { workspace, builders: true }).engines, { arm64: { context: "flag-ctx" } });
});

test.run();
