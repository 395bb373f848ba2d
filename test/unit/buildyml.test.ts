import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseBuildYml, toConfigSource, fieldsSetIn } from "../../lib/buildyml.ts";
import { specErrorOf } from "../helpers.ts";

const FILE = "/pkgs/app/build.yml";
const errorOf = (text: string) => specErrorOf(() => parseBuildYml(text, FILE));

const LINUXKIT_YML = `image: init
org: linuxkit
arches:
  - amd64
  - arm64
gitrepo: https://github.com/linuxkit/linuxkit
network: true
disable-content-trust: true
disable-cache: true
extra-sources:
  - ../common:/common
buildArgs:
  - VERSION=1.2
  - EMPTY=
config:
  binds:
    - /etc/resolv.conf:/etc/resolv.conf
`;

test("LinuxKit's kebab-case keys and NAME=value build args map onto the spec", () => {
  const { spec } = parseBuildYml(LINUXKIT_YML, FILE);
  assert.is(spec.image, "init");
  assert.is(spec.network, true);
  assert.is(spec.disableContentTrust, true);
  assert.is(spec.disableCache, true);
  assert.equal(spec.extraSources, [{ src: "../common", dst: "/common" }]);
  assert.equal(spec.buildArgs, { VERSION: "1.2", EMPTY: "" });
  assert.equal(spec.config, { binds: ["/etc/resolv.conf:/etc/resolv.conf"] });
});

test("a YAML null is the field's default, as Go's yaml.v3 leaves it (arches: with no value), and does not count as set", () => {
  const text = "image: bpftrace\nnetwork: true\narches: \norg: ~\ntag: null\ndockerfile:\nextra-sources:\nbuildArgs:\nconfig:\ndepends:\n";
  const def = parseBuildYml(text, FILE);
  assert.equal(def.spec.arches, ["amd64", "arm64"]);
  assert.is(def.spec.org, undefined);
  assert.is(def.spec.tag, "{{.Hash}}");
  assert.is(def.spec.dockerfile, "Dockerfile");
  assert.equal([def.spec.extraSources, def.spec.buildArgs, def.spec.config, def.spec.depends], [[], {}, undefined, undefined]);
  assert.equal([...def.fields].sort(), ["image", "network"]);
  assert.equal(fieldsSetIn(text), ["image", "network"]);
  assert.match(errorOf("image:\n"), 'field "image": is required');
});

test("a number or boolean in a field Go reads as a string is its text, as yaml.v3 gives it", () => {
  const def = parseBuildYml("image: p\norg: 2024\ntag: 1.0\narches: [arm64]\nbuildArgs:\n  - V=1\n", FILE);
  assert.equal([def.spec.org, def.spec.tag], ["2024", "1.0"]);
  assert.match(errorOf("image: p\narches: [386, true]\n"), '"true" is not a GOARCH name');
});

test("a fixed tag (no {{.Hash}}) and {{ .Hash }} with spaces are LinuxKit tag templates", () => {
  assert.is(parseBuildYml("image: a\ntag: file\n", FILE).spec.tag, "file");
  assert.is(parseBuildYml("image: a\ntag: 'v1-{{ .Hash }}'\n", FILE).spec.tag, "v1-{{ .Hash }}");
  assert.match(errorOf("image: a\ntag: '{{.Hash}}-{{printf \"x\"}}'\n"), `${FILE}:2:6: field "tag": "{{printf \\"x\\"}}" is a template action pkgkit does not support`);
});

test("migrate: the generated pkg.config.ts body holds exactly the fields the build.yml sets", () => {
  const src = toConfigSource(parseBuildYml(LINUXKIT_YML, FILE).spec, fieldsSetIn(LINUXKIT_YML));
  assert.ok(src.startsWith(`import { definePackage } from "pkgkit";\n\nexport default definePackage({\n  image: "init",\n  org: "linuxkit",\n  arches: ["amd64", "arm64"],\n`));
  assert.ok(src.includes(`  disableContentTrust: true,\n`));
  assert.ok(src.includes(`  buildArgs: {\n    VERSION: "1.2",\n    EMPTY: "",\n  },\n`));
  assert.not.ok(src.includes("dockerfile"), "defaults are not written");
  assert.not.ok(src.includes("labels"), "defaults are not written");
});

const bad: [string, string, string][] = [
  ["invalid YAML", "image: a\narches: [amd64\n", `${FILE}:3:1: package: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`],
  ["typo of a kebab key", "image: a\ndisable-cahce: true\n", `${FILE}:2:1: field "disable-cahce": unknown field; did you mean "disable-cache"? Known fields: image, org, arches, tag, dockerfile, gitrepo, network, disable-content-trust, disable-cache, extra-sources, buildArgs, labels, config, depends, signer, attest`],
  ["camelCase where LinuxKit uses kebab-case", "image: a\ndisableCache: true\n", `${FILE}:2:1: field "disableCache": unknown field; did you mean "disable-cache"? Known fields: image, org, arches, tag, dockerfile, gitrepo, network, disable-content-trust, disable-cache, extra-sources, buildArgs, labels, config, depends, signer, attest`],
  ["bad arch, pointed at its line", "image: a\narches:\n  - amd64\n  - sparc\n", `${FILE}:4:5: field "arches[1]": "sparc" is not a GOARCH name pkgkit builds for; expected one of amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, loong64`],
  ["build arg without =", "image: a\nbuildArgs:\n  - FOO=1\n  - BAR\n", `${FILE}:4:5: field "buildArgs[1]": expected "NAME=value" (got "BAR")`],
  ["bad build-arg name", "image: a\nbuildArgs:\n  - FOO=1\n  - 9X=2\n", `${FILE}:4:5: field "buildArgs[1]": "9X" is not a valid name: expected a build-arg name: letters, digits and _, not starting with a digit`],
  ["@lkt:pkgs: whose name lacks %, pointed at its entry", "image: a\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n  - DEPS=@lkt:pkgs:../deps/*\n", `${FILE}:4:5: field "buildArgs[1]": expected the name of a "@lkt:pkgs:<glob>" build arg to contain "%", which stands for each matched package's ORG_IMAGE, e.g. DEP_% (got "@lkt:pkgs:../deps/*")`],
  ["a % name for a plain value", "image: a\nbuildArgs:\n  - DEP_%=1\n", `${FILE}:3:5: field "buildArgs[0]": "%" in a build-arg name is only for "@lkt:pkgs:<glob>" values, where it stands for each matched package's ORG_IMAGE (got "1")`],
  ["a list instead of a mapping", "- image: a\n", `${FILE}:1:1: package: expected a YAML mapping of fields, e.g. \`image: app\``],
  ["missing image", "org: foo\n", `${FILE}:1:1: field "image": is required: expected "image" to be a string, e.g. "app"`],
  ["network not a boolean", "image: a\nnetwork: maybe\n", `${FILE}:2:10: field "network": expected true or false (got "maybe")`],
  ["duplicate key", "image: a\nimage: b\n", `${FILE}:2:1: package: invalid YAML: Map keys must be unique; "image" appears more than once`],
  ["unknown nested key", "image: a\ndepends:\n  docker-images:\n    target-dir: x\n    lst: [a]\n", `${FILE}:5:5: field "depends.docker-images.lst": unknown field. Known fields: list, from-file, target, target-dir`],
];
for (const [name, text, message] of bad) {
  test(`bad build.yml: ${name}`, () => {
    assert.is(errorOf(text), message);
  });
}

test.run();
