import { test } from "uvu";
import * as assert from "uvu/assert";
import { makeDefinition } from "../../lib/define.ts";
import { specErrorOf } from "../helpers.ts";
import { contextPath, isPackageDefinition, parseSpec, platformString, unknownFieldMessage } from "../../lib/spec.ts";

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

const problemsOf = (raw: unknown) => {
  const parsed = parseSpec(raw);
  return "problems" in parsed ? parsed.problems : [];
};
const fieldsOf = (raw: unknown) => problemsOf(raw).map((p) => p.field);
const digest = `alpine@sha256:${"a".repeat(64)}`;

test("depends.dockerImages: exactly one of list and fromFile, exactly one of target and targetDir; paths inside the package; list entries pinned by digest", () => {
  const images = (dockerImages: unknown) => fieldsOf({ image: "a", depends: { dockerImages } });
  assert.equal(images({ list: [digest], target: "images.tar" }), []);
  assert.equal(images({ fromFile: "images.txt", targetDir: "images/" }), []);
  assert.equal(images({ targetDir: "images" }), ["depends.dockerImages"]);
  assert.equal(images({ list: [digest], fromFile: "images.txt", targetDir: "images" }), ["depends.dockerImages"]);
  assert.equal(images({ list: [digest] }), ["depends.dockerImages"]);
  assert.equal(images({ list: [digest], target: "images.tar", targetDir: "images" }), ["depends.dockerImages"]);
  assert.equal(images({ fromFile: "/etc/images.txt", targetDir: "images" }), ["depends.dockerImages.fromFile"]);
  assert.equal(images({ list: [`${digest}0`], targetDir: "images" }), ["depends.dockerImages.list[0]"]);
  assert.equal(images({ list: [digest], targetDir: "images", extra: 1 }), ["depends.dockerImages.extra"]);
  assert.is(problemsOf({ image: "a", depends: { dockerImages: { list: [digest], targetDir: "i", extra: 1 } } })[0]?.message, "unknown field.");
});

test("build-arg names, label keys and extra sources are matched whole, not by a prefix or suffix", () => {
  assert.equal(fieldsOf({ image: "a", buildArgs: { "A-B": "x" } }), ["buildArgs.A-B"]);
  assert.equal(fieldsOf({ image: "a", labels: { " org.example": "x" } }), ['labels[" org.example"]']);
  assert.equal(fieldsOf({ image: "a", labels: { "org.example team": "x" } }), ['labels["org.example team"]']);
  assert.equal(fieldsOf({ image: "a", extraSources: ["../a:/b:/c"] }), ["extraSources[0]"]);
});

test("extraSources: a destination whose .. climbs above the build context is refused; contextPath normalises the rest", () => {
  assert.equal(fieldsOf({ image: "a", extraSources: ["../c:/common/../x", { src: "../d", dst: "./d/." }] }), []);
  assert.equal(fieldsOf({ image: "a", extraSources: ["../c:/common", "../c:/../x", { src: "../d", dst: "d/../.." }] }), ["extraSources[1]", "extraSources[2]"]);
  assert.is(contextPath("/common"), "common");
  assert.is(contextPath("common/"), "common");
  assert.is(contextPath("//a/./b"), "a/b");
  assert.is(contextPath("a/../b"), "b");
  assert.is(contextPath("/"), ".");
  assert.is(contextPath("a/.."), ".");
  assert.is(contextPath("a/../.."), undefined);
  assert.is(contextPath(".."), undefined);
});

test("LinuxKit build-arg references with a path or glob are accepted; empty ones are not", () => {
  assert.equal(fieldsOf({ image: "a", buildArgs: { BASE: "@lkt:pkg:../base", "DEP_%": "@lkt:pkgs:../deps/*" } }), []);
  assert.equal(fieldsOf({ image: "a", buildArgs: { "DEP_%": "@lkt:pkgs:" } }), ['buildArgs["DEP_%"]']);
});

test("isPackageDefinition: only what definePackage returned, not null or another object", () => {
  assert.ok(isPackageDefinition(makeDefinition({ image: "app" }, FILE)));
  assert.not.ok(isPackageDefinition(null));
  assert.not.ok(isPackageDefinition({ spec: { image: "app" } }));
});

test("an org with credentials is refused without repeating them", () => {
  const [problem, ...rest] = problemsOf({ image: "a", org: "user:s3cr3t@127.0.0.1:5000/demo" });
  assert.is(rest.length, 0);
  assert.is(problem?.field, "org");
  assert.not.ok(problem!.message.includes("s3cr3t"), problem!.message);
});

test("a given value in a message: cut after 57 characters when its JSON is longer than 60; a function shown as written", () => {
  const given = (tag: unknown) => /\(got (.*)\)$/.exec(problemsOf({ image: "a", tag })[0]?.message ?? "")?.[1];
  const sixty = ["x".repeat(56)];
  assert.is(given(sixty), JSON.stringify(sixty));
  assert.is(given(["x".repeat(57)]), `${JSON.stringify(["x".repeat(57)]).slice(0, 57)}...`);
  const fn = () => 1;
  assert.is(given(fn), String(fn));
});

test("a suggestion for an unknown field: within a third of its length (at least 2) of a known one, never at that distance", () => {
  assert.match(unknownFieldMessage("dsableCntntTrust", ["disableContentTrust", "network"]), /did you mean "disableContentTrust"\?/);
  assert.not.match(unknownFieldMessage("tagxyz", ["tag", "image"]), /did you mean/);
  assert.match(unknownFieldMessage("tagxy", ["tag", "image"]), /did you mean "tag"\?/);
});

// Bad input: each message names the file, the field, what was given and what is expected.
const bad: [string, unknown, string][] = [
  ["missing image", { org: "x" }, `${FILE}: field "image": is required: expected "image" to be a string, e.g. "app"`],
  ["image of the wrong type", { image: 42 }, `${FILE}: field "image": expected "image" to be a string, e.g. "app" (got 42)`],
  ["image with capitals", { image: "MyApp" }, `${FILE}: field "image": "MyApp" is not a valid image name: use lowercase letters and digits, separated by . _ __ or - (and / between components)`],
  ["org with a space", { image: "a", org: "my org" }, `${FILE}: field "org": "my org" is not a valid org: use lowercase path components (a-z, 0-9, separated by . _ __ or -), optionally after a registry host such as 127.0.0.1:5000/`],
  ["typo of a field", { image: "a", netwrok: true }, `${FILE}: field "netwrok": unknown field; did you mean "network"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, attest, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer, sourceDateEpoch`],
  ["wrong case of a field", { image: "a", disablecache: true }, `${FILE}: field "disablecache": unknown field; did you mean "disableCache"? Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, attest, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer, sourceDateEpoch`],
  ["unknown field", { image: "a", colour: "blue" }, `${FILE}: field "colour": unknown field. Known fields: image, org, arches, gitrepo, network, disableContentTrust, disableCache, attest, tag, dockerfile, buildArgs, extraSources, labels, config, depends, signer, sourceDateEpoch`],
  ["non-GOARCH arch", { image: "a", arches: ["amd64", "x86_64"] }, `${FILE}: field "arches[1]": "x86_64" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64`],
  ["arches as a string", { image: "a", arches: "amd64" }, `${FILE}: field "arches": expected "arches" to be a list of GOARCH names, e.g. ["amd64", "arm64"] (got "amd64")`],
  ["no arches", { image: "a", arches: [] }, `${FILE}: field "arches": expected at least one arch, e.g. ["amd64"] (got [])`],
  ["duplicate arch", { image: "a", arches: ["arm64", "arm64"] }, `${FILE}: field "arches": expected each arch once; remove the duplicate (got ["arm64","arm64"])`],
  ["sourceDateEpoch negative", { image: "a", sourceDateEpoch: -1 }, `${FILE}: field "sourceDateEpoch": expected whole seconds since 1970-01-01 UTC (0 or more) (got -1)`],
  ["sourceDateEpoch as a string", { image: "a", sourceDateEpoch: "0" }, `${FILE}: field "sourceDateEpoch": expected whole seconds since 1970-01-01 UTC, e.g. 1700000000 (got "0")`],
  ["network as a string", { image: "a", network: "yes" }, `${FILE}: field "network": expected true or false (got "yes")`],
  ["tag template with another action", { image: "a", tag: "{{.Hash}}-{{.Arch}}" }, `${FILE}: field "tag": "{{.Arch}}" is a template action pkgkit does not support; the only action a tag may hold is {{.Hash}}; expected text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1" (got "{{.Hash}}-{{.Arch}}")`],
  ["tag template with Go's trim marker", { image: "a", tag: "v1-{{- .Hash}}" }, `${FILE}: field "tag": "{{- .Hash}}" is a template action pkgkit does not support; the only action a tag may hold is {{.Hash}}; expected text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1" (got "v1-{{- .Hash}}")`],
  ["tag template with an unclosed action", { image: "a", tag: "v1-{{.Hash" }, `${FILE}: field "tag": "{{.Hash" is an unclosed action; the only action a tag may hold is {{.Hash}}; expected text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1" (got "v1-{{.Hash")`],
  ["tag template making no image tag", { image: "a", tag: "v1 {{.Hash}}" }, `${FILE}: field "tag": the tag it makes is not an image tag (letters, digits, "_", "." and "-", at most 128 characters); expected text with {{.Hash}} where the hash goes, e.g. "v1-{{.Hash}}", or fixed text such as "v1" (got "v1 {{.Hash}}")`],
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

test("where a field has no message of its own, zod's English one (zod/mini loads no locale; lib/sign/schema.ts sets it)", () => {
  assert.is(errorOf({ image: "a", depends: "x" }), `${FILE}: field "depends": Invalid input: expected object, received string (got "x")`);
});

test.run();
