// Which engines pkgkit asks over their unix socket (lib/engine-api.ts engineSocket): the default
// engine, DOCKER_HOST and endpoints that are unix sockets; never a docker context or another
// transport, which only the docker CLI knows how to reach.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { engineGet, engineSocket, imageInspectPath, parseAnswer } from "../../lib/engine-api.ts";

test("engineSocket: unix endpoints and DOCKER_HOST are sockets; contexts, tcp:// and ssh:// go through the CLI", () => {
  const config = mkdtempSync(join(tmpdir(), "pkgkit-engine-"));
  try {
    const env = { DOCKER_CONFIG: config };
    assert.is(engineSocket(undefined, env), "/var/run/docker.sock", "no config.json: the default engine");
    assert.is(engineSocket({ host: "unix:///run/other.sock" }, env), "/run/other.sock");
    assert.is(engineSocket({ host: "ssh://arm-host" }, env), undefined);
    assert.is(engineSocket({ context: "arm" }, env), undefined);
    assert.is(engineSocket(undefined, { ...env, DOCKER_HOST: "unix:///run/host.sock" }), "/run/host.sock");
    assert.is(engineSocket(undefined, { ...env, DOCKER_HOST: "tcp://127.0.0.1:2375" }), undefined);
    assert.is(engineSocket(undefined, { ...env, DOCKER_CONTEXT: "arm" }), undefined);
    assert.is(engineSocket(undefined, { ...env, DOCKER_CONTEXT: "default" }), "/var/run/docker.sock");
    writeFileSync(join(config, "config.json"), JSON.stringify({ currentContext: "arm" }));
    assert.is(engineSocket(undefined, env), undefined, "the current context of config.json");
    writeFileSync(join(config, "config.json"), JSON.stringify({ currentContext: "default" }));
    assert.is(engineSocket(undefined, env), "/var/run/docker.sock");
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
});

test("imageInspectPath: image references become a path as they are; anything a URL would change is left to the CLI", () => {
  assert.is(imageInspectPath("reg.test:5000/org/app:h1-amd64"), "/images/reg.test:5000/org/app:h1-amd64/json");
  assert.is(imageInspectPath("org/app@sha256:abc"), "/images/org/app@sha256:abc/json");
  assert.is(imageInspectPath("org/app?x=1"), undefined);
  assert.is(imageInspectPath("../../containers/x"), undefined, "a .. would reach another endpoint");
  assert.is(imageInspectPath("org/app#x"), undefined);
});

// The engine's answers as Go's net/http writes them to an HTTP/1.0 request (no chunks, the
// connection closed after the body); whatever is not such an answer is left to the CLI.
const answer = (head: string[], body: string) => Buffer.from(`${head.join("\r\n")}\r\n\r\n${body}`, "latin1");
test("parseAnswer: the status and JSON body of an engine's answer; anything else (no Api-Version, cut short, chunked, not JSON) is undefined", () => {
  const json = JSON.stringify({ Arch: "amd64", Os: "linux" });
  const head = ["HTTP/1.0 200 OK", "Api-Version: 1.41", "Content-Type: application/json", `Content-Length: ${json.length}`];
  assert.equal(parseAnswer(answer(head, json)), { status: 200, body: { Arch: "amd64", Os: "linux" } });
  assert.equal(parseAnswer(answer(head.filter((h) => !h.startsWith("Content-Length")), json)), { status: 200, body: { Arch: "amd64", Os: "linux" } }, "no Content-Length: the body runs to the end");
  const missing = JSON.stringify({ message: "No such image: a/b:c" });
  assert.equal(parseAnswer(answer(["HTTP/1.1 404 Not Found", "api-version: 1.41"], missing)), { status: 404, body: { message: "No such image: a/b:c" } });
  assert.is(parseAnswer(answer(head.filter((h) => !h.startsWith("Api-Version")), json)), undefined, "not the engine's");
  // The connection closed before the whole body came: what came may still parse.
  assert.is(parseAnswer(answer([...head.slice(0, 3), `Content-Length: ${json.length + 8}`], json)), undefined, "cut short of its Content-Length");
  assert.is(parseAnswer(answer([...head.slice(0, 3), "Transfer-Encoding: chunked"], `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`)), undefined, "chunked");
  assert.is(parseAnswer(answer(["HTTP/1.0 200 OK", "Api-Version: 1.41"], "<html>")), undefined, "not JSON");
  assert.is(parseAnswer(Buffer.from("HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\n")), undefined, "no end of the headers");
  assert.is(parseAnswer(Buffer.from("")), undefined, "nothing");
  assert.is(parseAnswer(answer(["SSH-2.0-OpenSSH_9.2", "Api-Version: 1.41"], json)), undefined, "not HTTP");
});

test("engineGet: no socket there is undefined; a path that is not one printable token is never sent", async () => {
  assert.is(await engineGet(join(tmpdir(), `pkgkit-no-engine-${process.pid}.sock`), "/version"), undefined);
  assert.is(await engineGet("/var/run/docker.sock", "/images/a b/json"), undefined);
  assert.is(await engineGet("/var/run/docker.sock", "/version\r\nX-Injected: 1"), undefined);
  assert.is(await engineGet("/var/run/docker.sock", "version"), undefined);
});

test.run();
