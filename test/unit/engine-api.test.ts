// Which engines pkgkit asks over their unix socket (lib/engine-api.ts engineSocket): the default
// engine, DOCKER_HOST and endpoints that are unix sockets; never a docker context or another
// transport, which only the docker CLI knows how to reach.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { engineSocket, imageInspectPath } from "../../lib/engine-api.ts";

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

test.run();
