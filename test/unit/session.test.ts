// The session (lib/session.ts): what createSession makes from resolved settings, what
// completeSession fills in, and that a push where everything exists never starts a process.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import process from "node:process";
import { completeSession, createSession } from "../../lib/session.ts";
import { resolveSettings } from "../../lib/options.ts";
import { InputError } from "../../lib/errors.ts";
import type { Shell } from "../../lib/shell.ts";
import { defaultShell } from "../../lib/shell.ts";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { createMemoryRegistry } from "../../lib/registry/memory.ts";
import { sha256 } from "../../lib/registry/digest.ts";
import { MediaTypes } from "../../lib/registry/types.ts";
import { PLATFORMS, type Arch } from "../../lib/spec.ts";
import { observePush } from "../../recipes/push.ts";

/** A Shell stand-in that runs nothing: it records each argv and answers with `code`. */
function standInShell(code = 1): Shell & { calls: string[][] } {
  const calls: string[][] = [];
  return { name: "zx", calls, exec: async (argv) => (calls.push([...argv]), { code, stdout: "", stderr: "" }) };
}

test("createSession: --builder and per-arch engines give a default builder and one of the same kind per engine", async () => {
  const settings = resolveSettings({ builder: "legacy", builders: "arm64=ssh://arm-host" }, {}, { builders: true });
  const session = await createSession(settings, { builders: "when-building" });
  assert.is(session.builder?.name, "legacy");
  assert.equal(Object.fromEntries(Object.entries(session.builders ?? {}).map(([arch, b]) => [arch, b.name])), { arm64: "legacy@ssh://arm-host" });
  assert.is(session.registry, undefined);
});

test("createSession: with no --builder and no engine, \"when-building\" leaves the builder to the recipe (detected only if something builds)", async () => {
  const session = await createSession(resolveSettings({}, {}, { builders: true }), { builders: "when-building" });
  assert.is(session.builder, undefined);
  assert.is(session.builders, undefined);
});

test("createSession: the registry client is made from the settings; a --registry-ca file is checked first, naming the flag", async () => {
  const ok = await createSession(resolveSettings({}, {}, { registry: true }), { registry: true });
  assert.type(ok.registry?.headManifest, "function");
  const missing = join(tmpdir(), "pkgkit-no-such-ca.pem");
  let message = "";
  await createSession(resolveSettings({ "registry-ca": missing }, {}, { registry: true }), { registry: true }).catch((e: Error) => {
    assert.instance(e, InputError);
    message = e.message;
  });
  assert.ok(message.startsWith(`--registry-ca ${JSON.stringify(missing)}`), message);
});

test("completeSession (Shell stand-in): the builder given is kept; without one the kind is detected through the shell", async () => {
  // A cache of its own: the user's may remember the real CLI's answer (lib/builder-kind.ts).
  const cache = mkdtempSync(join(tmpdir(), "pkgkit-session-cache-"));
  const before = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  const shell = standInShell(1);
  const given = await completeSession({ shell, builder: (await createSession(resolveSettings({ builder: "buildx" }, {}, { builders: true }), { builders: "now" })).builder! });
  assert.is(given.builder.name, "buildx");
  assert.equal(shell.calls, []);
  const detected = await completeSession({ shell });
  assert.equal(shell.calls, [["docker", "buildx", "version"]]);
  assert.is(detected.builder.name, "legacy");
  assert.equal(detected.signers, new Map());
  if (before === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = before;
  rmSync(cache, { recursive: true, force: true });
});

test("observePush (memory registry, Shell stand-in): when every image exists, no process starts and the session carries the registry", async () => {
  const org = "registry.test/demo";
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-session-"));
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
  const [pkg] = await resolvePackages(await defaultShell(), [makeDefinition({ image: "app", org, disableContentTrust: true }, join(dir, "pkg.config.ts"))], { hash: "h1" });
  const registry = createMemoryRegistry();
  for (const arch of pkg!.arches as Arch[]) {
    const config = new TextEncoder().encode(JSON.stringify(PLATFORMS[arch]));
    const configDesc = { mediaType: MediaTypes.dockerConfig, digest: sha256(config), size: config.length };
    await registry.uploadBlob(`${org}/app`, { digest: configDesc.digest, size: configDesc.size, data: config });
    const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: configDesc, layers: [] }));
    await registry.putManifest(`${org}/app`, `h1-${arch}`, manifest, MediaTypes.dockerManifest);
  }
  const shell = standInShell(0);
  const { options, session } = await observePush([pkg!], { registry, shell });
  assert.equal(shell.calls, []);
  assert.is(session.registry, registry);
  assert.is(session.shell, shell);
  assert.ok(plan([pkg!], options).steps.every((s) => s.kind !== "build" && s.kind !== "push"));
  rmSync(dir, { recursive: true });
});

test.run();
