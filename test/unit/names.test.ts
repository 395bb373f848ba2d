// Image references: the one grammar for orgs, images and tags (lib/names.ts), which the registry client shares.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { canonicalRef, checkOrg, formatRef, imageRef, isHost, parseImageRef, platformKey, platformString, registryHost, registryTag, withArch, type ImageRef } from "../../lib/names.ts";
import { DOCKER_HUB, parseRepository } from "../../lib/registry/names.ts";
import { makeDefinition } from "../../lib/define.ts";
import { archRef, indexRef, resolvePackages } from "../../lib/package.ts";
import { defaultShell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";

const rejects = (f: () => unknown, pattern: RegExp) => assert.throws(f, (e: unknown) => e instanceof InputError && pattern.test(e.message));

test("isHost: localhost, host:port, dotted names and [v6]:port are registry hosts; a plain org is not", () => {
  for (const h of ["localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000", "registry.example.com", "Registry.Example.com:443", "[::1]:5000", "[fe80::1]"]) assert.ok(isHost(h), h);
  for (const h of ["linuxkit", "example", "local", "my_reg.example.com", "-bad.example.com", "127.0.0.1:abc", "[::1", "user:pw@host", ""]) assert.not.ok(isHost(h), h);
});

test("platformString: os/architecture[/variant], no empty variant; platformKey: arm64's default variant v8 dropped, any other kept, unknown when absent", () => {
  assert.is(platformString("amd64"), "linux/amd64");
  assert.is(platformString("arm"), "linux/arm/v7");
  assert.is(platformKey({ os: "linux", architecture: "amd64" }), "linux/amd64");
  assert.is(platformKey({ os: "linux", architecture: "arm64", variant: "v8" }), "linux/arm64");
  assert.is(platformKey({ os: "linux", architecture: "arm64", variant: "v9" }), "linux/arm64/v9");
  assert.is(platformKey({ os: "linux", architecture: "arm", variant: "v7" }), "linux/arm/v7");
  assert.is(platformKey({ os: "linux", architecture: "arm", variant: "v8" }), "linux/arm/v8");
  assert.is(platformKey(undefined), "unknown");
});

test("imageRef: an org, with or without a registry host, an image with or without a path, a tag; frozen", () => {
  const ref = imageRef("127.0.0.1:5000/demo", "tools/app", "abc");
  assert.equal(ref, { org: "127.0.0.1:5000/demo", image: "tools/app", repository: "127.0.0.1:5000/demo/tools/app", tag: "abc" });
  assert.ok(Object.isFrozen(ref));
  assert.not.ok("arch" in ref);
  assert.is(imageRef("linuxkit", "init", "abc", "arm64").arch, "arm64");
  for (const org of ["linuxkit", "example/team", "127.0.0.1:5000/demo", "registry.example.com", "localhost", "localhost:5000/a/b", "[::1]:5000/demo", "[fe80::1]:443"])
    assert.is(imageRef(org, "app", "t").repository, `${org}/app`, org);
});

test("imageRef: invalid orgs, images and tags are refused, credentials never repeated", () => {
  rejects(() => imageRef("Example", "app", "t"), /^image "Example\/app:t": use lowercase path components/);
  rejects(() => imageRef("127.0.0.1:5000/Demo", "app", "t"), /after the registry host, use lowercase path components/);
  rejects(() => imageRef("127.0.0.1:5000/", "app", "t"), /after the registry host/);
  rejects(() => imageRef("[::1/demo", "app", "t"), /use lowercase path components/);
  rejects(() => imageRef("127.0.0.1:abc/demo", "app", "t"), /use lowercase path components/);
  assert.throws(() => imageRef("user:secret@127.0.0.1:5000/demo", "app", "t"), (e: unknown) => e instanceof InputError && /must not contain credentials/.test(e.message) && !e.message.includes("secret"));
  for (const image of ["App", "tools//app", "/app", "app/", "-app"]) rejects(() => imageRef("linuxkit", image, "t"), /use lowercase letters and digits/);
  rejects(() => imageRef("linuxkit", "app", "-t"), /the tag "-t" is not a valid image tag/);
  rejects(() => imageRef("linuxkit", "app", ""), /is not a valid image tag/);
});

test("tags: 128 characters at most, the -<arch> suffix included", () => {
  assert.is(imageRef("linuxkit", "app", "a".repeat(128)).tag.length, 128);
  rejects(() => imageRef("linuxkit", "app", "a".repeat(129)), /is not a valid image tag/);
  rejects(() => imageRef("linuxkit", "app", "a".repeat(128), "amd64"), /is not a valid image tag/);
  assert.is(registryTag(imageRef("linuxkit", "app", "a".repeat(122), "arm64")).length, 128);
  rejects(() => imageRef("linuxkit", "app", "a".repeat(123), "arm64"), /is not a valid image tag/);
});

test("withArch and registryTag: one arch's image is <tag>-<arch> in the same repository; no arch is the index", () => {
  const index = imageRef("127.0.0.1:5000/demo", "app", "h1");
  const arm = withArch(index, "arm64");
  assert.equal(arm, { ...index, arch: "arm64" });
  assert.ok(Object.isFrozen(arm));
  assert.is(registryTag(arm), "h1-arm64");
  assert.is(formatRef(arm), "127.0.0.1:5000/demo/app:h1-arm64");
  assert.equal(withArch(arm), index);
  assert.is(registryTag(index), "h1");
  assert.is(formatRef(index), "127.0.0.1:5000/demo/app:h1");
});

test("parseImageRef: the org is everything before the last /, the tag after the last :; formatRef gives the text back", () => {
  assert.equal(parseImageRef("127.0.0.1:5000/demo/app:t-1"), { org: "127.0.0.1:5000/demo", image: "app", repository: "127.0.0.1:5000/demo/app", tag: "t-1" });
  assert.equal(parseImageRef("linuxkit/app:t-arm64", "arm64"), { org: "linuxkit", image: "app", repository: "linuxkit/app", tag: "t", arch: "arm64" });
  assert.is(parseImageRef("[::1]:5000/app:t").org, "[::1]:5000");
  for (const text of ["linuxkit/init:abc", "127.0.0.1:5000/demo/app:t-1", "[::1]:5000/demo/app:t", "localhost:5000/app:t", "example/team/tools/app:v1.2_3", `x/app:${"a".repeat(128)}`])
    assert.is(formatRef(parseImageRef(text)), text, text);
  assert.is(formatRef(parseImageRef("x/app:t-arm64", "arm64")), "x/app:t-arm64");
  const index: ImageRef = imageRef("example/team", "tools/app", "t");
  assert.is(parseImageRef(formatRef(index)).repository, index.repository);
});

test("parseImageRef: text that is not org/image:tag is refused, saying what was expected", () => {
  rejects(() => parseImageRef("app:t"), /^image "app:t": no org\/ and :tag; expected org\/image:tag/);
  rejects(() => parseImageRef("x/app"), /no org\/ and :tag/);
  rejects(() => parseImageRef("127.0.0.1:5000/app"), /no org\/ and :tag/);
  rejects(() => parseImageRef("x/app:t-amd64", "arm64"), /its tag does not end in -arm64/);
  rejects(() => parseImageRef("x/App:t"), /use lowercase letters and digits/);
  rejects(() => parseImageRef(`x/app:${"a".repeat(129)}`), /is not a valid image tag/);
  rejects(() => parseImageRef(`x/app:${"a".repeat(123)}-arm64`, "arm64"), /is not a valid image tag/);
});

test("the registry client and orgs agree on what is a registry host, and on what is valid", () => {
  const firsts = ["linuxkit", "localhost", "localhost:5000", "127.0.0.1:5000", "registry.example.com", "Registry.Example.com:443", "[::1]:5000", "docker.io", "my_reg.example.com", "-bad.example.com", "127.0.0.1:abc", "Example"];
  for (const first of firsts) {
    const org = `${first}/team`;
    const valid = checkOrg(org) === undefined;
    let parsed: ReturnType<typeof parseRepository> | undefined;
    try {
      parsed = parseRepository(`${org}/app`);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
    assert.is(parsed !== undefined, valid, `${org}: checkOrg says ${valid ? "valid" : "invalid"}`);
    if (parsed) assert.is(parsed.registry, registryHost(org) ?? DOCKER_HUB, org);
  }
  assert.is(registryHost("127.0.0.1:5000"), "127.0.0.1:5000");
  assert.is(parseRepository("127.0.0.1:5000/app").registry, "127.0.0.1:5000");
  assert.is(registryHost("linuxkit"), undefined);
});

test("parseRepository: as strict as image names: 255 characters at most, credentials never repeated", () => {
  const name = (n: number) => `127.0.0.1:5000/${"a".repeat(n - "127.0.0.1:5000/".length)}`;
  assert.is(parseRepository(name(255)).path.length, 255 - "127.0.0.1:5000/".length);
  rejects(() => parseRepository(name(256)), /256 characters; a repository name has at most 255/);
  assert.throws(() => parseRepository("user:secret@127.0.0.1:5000/demo/app"), (e: unknown) => e instanceof InputError && !e.message.includes("secret") && e.message.includes("***@127.0.0.1:5000/demo/app"));
});

test("a resolved package carries its ImageRef; indexRef and archRef format it", async () => {
  const shell = await defaultShell();
  const [p] = await resolvePackages(shell, [makeDefinition({ image: "tools/app", org: "127.0.0.1:5000/demo", arches: ["amd64", "arm64"], tag: "v{{.Hash}}" }, join(tmpdir(), "pkg.config.ts"))], { hash: "h1" });
  assert.equal(p!.ref, imageRef("127.0.0.1:5000/demo", "tools/app", "vh1"));
  assert.equal([p!.ref.repository, p!.ref.tag], [p!.repository, p!.tag]);
  assert.is(indexRef(p!), "127.0.0.1:5000/demo/tools/app:vh1");
  assert.is(archRef(p!, "arm64"), "127.0.0.1:5000/demo/tools/app:vh1-arm64");
  assert.equal(parseImageRef(archRef(p!, "arm64"), "arm64"), withArch(imageRef("127.0.0.1:5000/demo/tools", "app", "vh1"), "arm64"));
});

test("canonicalRef expands as LinuxKit's show-tag --canonical (util.ReferenceExpand)", () => {
  assert.is(canonicalRef("linuxkit/init:abc"), "docker.io/linuxkit/init:abc");
  assert.is(canonicalRef("127.0.0.1:5000/init:abc"), "127.0.0.1:5000/init:abc");
  assert.is(canonicalRef("registry.example.com/init:abc"), "registry.example.com/init:abc");
  assert.is(canonicalRef("localhost/init:abc"), "localhost/init:abc");
  assert.is(canonicalRef("a/b/init:abc"), "a/b/init:abc", "three components stay, host or not");
  assert.is(canonicalRef("init:abc"), "docker.io/library/init:abc");
});

test.run();
