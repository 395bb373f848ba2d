// The builder kind remembered between runs (lib/builder-kind.ts): asked once, answered from the
// cache file while the docker binary, its buildx plugin and its config.json are unchanged, asked
// again when any of them changes. The docker CLI is a Shell stand-in; the files it is keyed by are
// real files in a temporary directory.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { detectKind } from "../../lib/builder-kind.ts";
import type { Shell } from "../../lib/shell.ts";

/** A Shell stand-in for `docker buildx version`: records each argv and exits with `code`. */
function standInDocker(code: number): Shell & { calls: number } {
  const shell = { name: "zx" as const, calls: 0, exec: async () => (shell.calls++, { code, stdout: "", stderr: "" }) };
  return shell;
}

function setup() {
  const root = mkdtempSync(join(tmpdir(), "pkgkit-kind-"));
  const bin = join(root, "bin");
  const config = join(root, "docker-config");
  mkdirSync(bin);
  mkdirSync(join(config, "cli-plugins"), { recursive: true });
  writeFileSync(join(bin, "docker"), "cli v1");
  writeFileSync(join(config, "cli-plugins", "docker-buildx"), "buildx v1");
  const options = { file: join(root, "cache", "builder-kind.json"), env: { PATH: bin, DOCKER_CONFIG: config } };
  return { root, bin, config, options, done: () => rmSync(root, { recursive: true, force: true }) };
}

test("detectKind (Shell stand-in): asked once, then remembered; a changed plugin or docker binary asks again", async () => {
  const t = setup();
  try {
    const shell = standInDocker(0);
    assert.is(await detectKind(shell, "docker", t.options), "buildx");
    assert.is(await detectKind(shell, "docker", t.options), "buildx");
    assert.is(shell.calls, 1);
    writeFileSync(join(t.config, "cli-plugins", "docker-buildx"), "buildx v2, a new size");
    assert.is(await detectKind(shell, "docker", t.options), "buildx");
    assert.is(shell.calls, 2);
    writeFileSync(join(t.bin, "docker"), "cli v2, a new size");
    const gone = standInDocker(1);
    assert.is(await detectKind(gone, "docker", t.options), "legacy", "a changed docker binary asks again");
    assert.is(gone.calls, 1);
  } finally {
    t.done();
  }
});

test("detectKind (Shell stand-in): an answer the plugin files do not explain, or extra plugin directories, is asked every time", async () => {
  const t = setup();
  try {
    const legacy = standInDocker(1);
    await detectKind(legacy, "docker", t.options);
    assert.is(await detectKind(legacy, "docker", t.options), "legacy");
    assert.is(legacy.calls, 2, "legacy although a buildx plugin is installed: not remembered");
    writeFileSync(join(t.config, "config.json"), JSON.stringify({ cliPluginsExtraDirs: [join(t.root, "more")] }));
    const extra = standInDocker(0);
    await detectKind(extra, "docker", t.options);
    await detectKind(extra, "docker", t.options);
    assert.is(extra.calls, 2);
  } finally {
    t.done();
  }
});

test.run();
