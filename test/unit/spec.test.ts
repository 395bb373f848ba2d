import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeDefinition } from "../../lib/define.ts";
import { specErrorOf } from "../helpers.ts";
import { parseSpec, platformString } from "../../lib/spec.ts";

const FILE = "/pkgs/app/pkg.config.ts";
const errorOf = (raw: unknown) => specErrorOf(() => makeDefinition(raw, FILE));

test("defaults follow LinuxKit: amd64+arm64, no network, cache and trust on, Dockerfile", () => {
  const def = makeDefinition({ image: "app" }, FILE);
  assert.equal(def.spec.arches, ["amd64", "arm64"]);
  assert.is(def.spec.network, false);
  assert.is(def.spec.disableCache, false);
  assert.is(def.spec.disableContentTrust, false);
  assert.is(def.spec.dockerfile, "Dockerfile");
  assert.is(def.spec.tag, "{{.Hash}}");
  assert.is(def.dir, "/pkgs/app");
  assert.is(def.spec.org, undefined);
});

test("every field is accepted and extra sources are normalised to {src, dst}", () => {
  const def = makeDefinition(
    {
      image: "tools/app", org: "127.0.0.1:5000/demo", arches: ["arm64", "s390x"], gitrepo: "https://example.com/r.git",
      network: true, disableContentTrust: true, disableCache: true, tag: "v1-{{.Hash}}", dockerfile: "build/Dockerfile",
      buildArgs: { BASE: "alpine", _X1: "" }, extraSources: ["../common:/common", { src: "../lib", dst: "/lib" }],
      labels: { "org.example.team": "core" }, config: { binds: ["/a:/a"] },
      depends: { dockerImages: { list: [`alpine@sha256:${"a".repeat(64)}`], targetDir: "images" } },
    },
    FILE,
  );
  assert.equal(def.spec.extraSources, [{ src: "../common", dst: "/common" }, { src: "../lib", dst: "/lib" }]);
  assert.is(def.spec.org, "127.0.0.1:5000/demo");
  assert.equal(def.spec.buildArgs, { BASE: "alpine", _X1: "" });
});

test("a build arg may be another package, or a function returning one; the file records what it set", () => {
  const base = makeDefinition({ image: "base" }, "/pkgs/base/pkg.config.ts");
  const later = () => base;
  const def = makeDefinition({ image: "app", arches: ["amd64"], buildArgs: { BASE: base, LATER: later, DEPS_: "x", "ALL_%": "@lkt:pkgs:../*" } }, FILE);
  assert.is(def.spec.buildArgs.BASE, base);
  assert.is(def.spec.buildArgs.LATER, later);
  assert.equal(def.fields, ["image", "arches", "buildArgs"]);
});

test("org may carry a registry host, localhost or an IPv6 literal", () => {
  for (const org of ["example", "a/b-c", "127.0.0.1:5000/demo", "localhost:5000/x", "registry.example.com", "[::1]:5000/demo"])
    assert.ok("spec" in parseSpec({ image: "a", org }), org);
  for (const org of ["Example", "a//b", "-a", "a/", "host:port/x", "127.0.0.1:5000/Demo"])
    assert.ok("problems" in parseSpec({ image: "a", org }), org);
});

test("platform strings", () => {
  assert.is(platformString("arm64"), "linux/arm64");
  assert.is(platformString("arm"), "linux/arm/v7");
});

// Bad input: each message names the file, the field, what was given and what is expected.
const bad: [string, unknown, string][] = [
  ["missing image", { org: "x" }, `${FILE}: field "image": is required: expected "image" to be a string, e.g. "app"`],
  ["image of the wrong type", { image: 42 }, `${FILE}: field "image": expected "image" to be a string, e.g. "app" (got 42)`],
  ["image with capitals", { image: "MyApp" }, `${FILE}: field "image": "MyApp" is not a valid image name: use lowercase letters and digits, separated by . _ __ or - (and / between components)`],
  ["org with a space", { image: "a", org: "my org" }, `${FILE}: field "org": "my org" is not a valid org: use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/`],
  ["typo of a field", { image: "a", netwrok: true }, `${FILE}: field "netwrok": unknown field; did you mean "network"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer`],
  ["wrong case of a field", { image: "a", disablecache: true }, `${FILE}: field "disablecache": unknown field; did you mean "disableCache"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer`],
  ["unknown field", { image: "a", colour: "blue" }, `${FILE}: field "colour": unknown field. Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer`],
  ["non-GOARCH arch", { image: "a", arches: ["amd64", "x86_64"] }, `${FILE}: field "arches[1]": "x86_64" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64`],
  ["arches as a string", { image: "a", arches: "amd64" }, `${FILE}: field "arches": expected "arches" to be a list of GOARCH names, e.g. ["amd64", "arm64"] (got "amd64")`],
  ["no arches", { image: "a", arches: [] }, `${FILE}: field "arches": expected at least one arch, e.g. ["amd64"] (got [])`],
  ["duplicate arch", { image: "a", arches: ["arm64", "arm64"] }, `${FILE}: field "arches": expected each arch once; remove the duplicate (got ["arm64","arm64"])`],
  ["network as a string", { image: "a", network: "yes" }, `${FILE}: field "network": expected true or false (got "yes")`],
  ["tag template without {{.Hash}}", { image: "a", tag: "latest" }, `${FILE}: field "tag": expected a tag template with {{.Hash}} and no other placeholder, made of letters, digits, "_", "." and "-", e.g. "v1-{{.Hash}}" (got "latest")`],
  ["tag template with another placeholder", { image: "a", tag: "{{.Hash}}-{{.Arch}}" }, `${FILE}: field "tag": expected a tag template with {{.Hash}} and no other placeholder, made of letters, digits, "_", "." and "-", e.g. "v1-{{.Hash}}" (got "{{.Hash}}-{{.Arch}}")`],
  ["dockerfile outside the package", { image: "a", dockerfile: "../Dockerfile" }, `${FILE}: field "dockerfile": expected "dockerfile" inside the package directory: a relative path without ".." (got "../Dockerfile")`],
  ["bad build-arg name", { image: "a", buildArgs: { "1X": "y" } }, `${FILE}: field "buildArgs["1X"]": "1X" is not a valid name: expected a build-arg name: letters, digits and _, not starting with a digit`],
  ["build-arg value neither a string nor a package", { image: "a", buildArgs: { X: 1 } }, `${FILE}: field "buildArgs.X": expected a string, a package (the default export of another pkg.config.ts, imported) or a function returning one, e.g. () => base (got 1)`],
  ["build-arg value undefined, as an import in a cycle is", { image: "a", buildArgs: { BASE: undefined } }, `${FILE}: field "buildArgs.BASE": expected a string, a package (the default export of another pkg.config.ts, imported) or a function returning one, e.g. () => base; an imported package is undefined while package files import each other in a cycle (got nothing)`],
  ["@lkt:pkgs: without % in the name", { image: "a", buildArgs: { DEPS: "@lkt:pkgs:../*" } }, `${FILE}: field "buildArgs.DEPS": expected the name of a "@lkt:pkgs:<glob>" build arg to contain "%", which stands for each matched package's ORG_IMAGE, e.g. DEP_% (got "@lkt:pkgs:../*")`],
  ["% in a name without @lkt:pkgs:", { image: "a", buildArgs: { "DEP_%": "x" } }, `${FILE}: field "buildArgs["DEP_%"]": "%" in a build-arg name is only for "@lkt:pkgs:<glob>" values, where it stands for each matched package's ORG_IMAGE (got "x")`],
  ["unknown @lkt: value", { image: "a", buildArgs: { B: "@lkt:package:../b" } }, `${FILE}: field "buildArgs.B": expected "@lkt:pkg:<path>" or "@lkt:pkgs:<glob>", LinuxKit's package references (got "@lkt:package:../b")`],
  ["@lkt:pkg: without a path", { image: "a", buildArgs: { B: "@lkt:pkg:" } }, `${FILE}: field "buildArgs.B": expected "@lkt:pkg:<path>": the directory of another package, e.g. "@lkt:pkg:../base" (got "@lkt:pkg:")`],
  ["extra source without dst", { image: "a", extraSources: ["nocolon"] }, `${FILE}: field "extraSources[0]": expected "<src>:<dst>" (e.g. "../common:/common") or { src: "../common", dst: "/common" } (got "nocolon")`],
  ["label value not a string", { image: "a", labels: { "a.b": true } }, `${FILE}: field "labels["a.b"]": expected a string value (got true)`],
  ["gitrepo not a URL", { image: "a", gitrepo: "not a url" }, `${FILE}: field "gitrepo": expected "gitrepo" to be a URL, e.g. "https://github.com/example/app" (got "not a url")`],
];
for (const [name, raw, message] of bad) {
  test(`bad input: ${name}`, () => {
    assert.is(errorOf(raw), message);
  });
}

test("several problems are all reported, one line each", () => {
  const lines = errorOf({ image: "A", network: 1, extra: true }).split("\n");
  assert.is(lines.length, 3);
  assert.ok(lines.every((l) => l.startsWith(`${FILE}: field "`)));
});

test.run();
