// The registry client's pure parts: repository names, auth challenges, Docker config credentials.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseRepository, isLoopback, hostOfKey } from "../../lib/registry/names.ts";
import { mergeScopes, parseChallenges } from "../../lib/registry/auth.ts";
import { credentialStore } from "../../lib/registry/credentials.ts";
import { InputError } from "../../lib/errors.ts";
import { classify } from "../../lib/registry/transport.ts";

test("repository names: registry host, API host and path, Docker Hub's library/ prefix", () => {
  assert.equal(parseRepository("127.0.0.1:5000/demo/hello"), { registry: "127.0.0.1:5000", host: "127.0.0.1:5000", path: "demo/hello" });
  assert.equal(parseRepository("localhost/x"), { registry: "localhost", host: "localhost", path: "x" });
  assert.equal(parseRepository("linuxkit/hello"), { registry: "docker.io", host: "registry-1.docker.io", path: "linuxkit/hello" });
  assert.equal(parseRepository("hello"), { registry: "docker.io", host: "registry-1.docker.io", path: "library/hello" });
  assert.equal(parseRepository("docker.io/hello"), { registry: "docker.io", host: "registry-1.docker.io", path: "library/hello" });
  assert.equal(parseRepository("index.docker.io/linuxkit/hello").registry, "docker.io");
  assert.throws(() => parseRepository("127.0.0.1:5000/Demo"), (e: unknown) => e instanceof InputError && /lowercase path components/.test(e.message));
});

test("loopback hosts and config keys", () => {
  for (const h of ["127.0.0.1:5000", "127.1.2.3", "localhost:80", "[::1]:5000", "::1"]) assert.ok(isLoopback(h), h);
  for (const h of ["192.0.2.2:5000", "example.com", "localhost.example.com:5000"]) assert.not.ok(isLoopback(h), h);
  assert.is(hostOfKey("https://index.docker.io/v1/"), "docker.io");
  assert.is(hostOfKey("https://127.0.0.1:5001"), "127.0.0.1:5001");
  assert.is(hostOfKey("127.0.0.1:5001"), "127.0.0.1:5001");
});

test("WWW-Authenticate: Bearer and Basic challenges with quoted and bare parameters", () => {
  assert.equal(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/hello:pull"'), [
    { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/hello:pull" } },
  ]);
  assert.equal(parseChallenges('Basic realm="pkgkit-test"'), [{ scheme: "basic", params: { realm: "pkgkit-test" } }]);
  assert.equal(parseChallenges('Basic realm=a, Bearer realm="x,y", error="insufficient_scope"'), [
    { scheme: "basic", params: { realm: "a" } },
    { scheme: "bearer", params: { realm: "x,y", error: "insufficient_scope" } },
  ]);
});

function config(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-dockercfg-"));
  writeFileSync(join(dir, "config.json"), JSON.stringify(json));
  return dir;
}

test("scopes: one per resource, actions merged and sorted, however a challenge orders them", () => {
  assert.equal(mergeScopes(["repository:x/dst:pull,push", "repository:x/src:pull", "repository:x/dst:push,pull"]), ["repository:x/dst:pull,push", "repository:x/src:pull"]);
  assert.equal(mergeScopes(["repository:x/y:push", "repository:x/y:pull", "registry:catalog:*"]), ["registry:catalog:*", "repository:x/y:pull,push"]);
  assert.equal(mergeScopes([]), []);
});

test("auths: base64 auth, username/password, identity token, scheme-prefixed and Docker Hub keys", async () => {
  const dir = config({
    auths: {
      "127.0.0.1:5001": { auth: Buffer.from("alice:pa:ss").toString("base64") },
      "https://registry.example.com": { username: "bob", password: "pw" },
      "https://index.docker.io/v1/": { identitytoken: "refresh-me" },
      "placeholder.example.com": {},
    },
  });
  const store = credentialStore(dir);
  assert.equal((await store.get("127.0.0.1:5001")).credential, { username: "alice", password: "pa:ss" });
  assert.equal((await store.get("registry.example.com")).credential, { username: "bob", password: "pw" });
  assert.equal((await store.get("docker.io")).credential, { identityToken: "refresh-me" });
  const none = await store.get("placeholder.example.com");
  assert.is(none.credential, undefined);
  assert.match(none.source, `no credentials for placeholder.example.com in ${join(dir, "config.json")}`);
  assert.match((await store.get("127.0.0.1:5001")).source, `auths in ${join(dir, "config.json")}`);
});

test("a config that is not JSON is bad input, and the error does not quote its text", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-dockercfg-"));
  writeFileSync(join(dir, "config.json"), '{"auths": {"h": {"auth": "c2VjcmV0"}}');
  try {
    await credentialStore(dir).get("h");
    assert.unreachable();
  } catch (e) {
    assert.instance(e, InputError);
    assert.match((e as Error).message, "not a valid JSON object");
    assert.not.match((e as Error).message, "c2VjcmV0");
  }
});

test("a connection the other side closed is a reset (retried), however the runtime words it", () => {
  for (const text of [
    "fetch failed | read ECONNRESET", // Node (undici)
    "fetch failed | write EPIPE",
    "fetch failed | other side closed",
    "error sending request | Broken pipe (os error 32)", // Deno, a body upload cut off
    "error sending request | Connection reset by peer (os error 104)",
    "The socket connection was closed unexpectedly", // Bun
  ])
    assert.is(classify(new Error(text), text), "reset", text);
  assert.is(classify(new Error("x"), "Connection refused (os error 111)"), "refused");
  assert.is(classify(new Error("x"), "something else"), "other");
});

test.run();
