// SIGINT and SIGTERM during a real push (the real engine and the plain test registry): the arm64
// build sleeps while its RUN has no network, so it is mid-build when the signal comes. pkgkit
// exits 130 / 143, stops its `docker buildx build` (no such process is left), leaves nothing in the
// TMPDIR it is given, and says what was published. A re-run with --network (same tag) converges.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
const ORG = `${svc.registries.plain}/interrupt-${process.pid}${Date.now().toString(36)}`;
const HELLO = join(ROOT, "examples/hello");
const work = mkdtempSync(join(tmpdir(), "pkgkit-interrupt-"));
const tmp = join(work, "tmp");
mkdirSync(tmp);

const repo = tmpRepo({
  "slow/Dockerfile": [
    "ARG TARGETARCH",
    "FROM scratch AS base-amd64",
    "COPY busybox-amd64 /bin/busybox",
    "FROM scratch AS base-arm64",
    "COPY busybox-arm64 /bin/busybox",
    "FROM base-${TARGETARCH}",
    "ARG TARGETARCH",
    // amd64 builds at once; arm64 sleeps unless the build has a network (the re-run's --network).
    `RUN ["/bin/busybox", "sh", "-c", "[ $TARGETARCH = amd64 ] || /bin/busybox ls /sys/class/net | /bin/busybox grep -q eth0 || { echo interrupt-me-now; /bin/busybox sleep 300; }"]`,
    "",
  ].join("\n"),
  // No build cache: a cached RUN from an earlier run of this suite would skip the sleep.
  "slow/build.yml": "image: slow\narches: [amd64, arm64]\ndisable-content-trust: true\ndisable-cache: true\n",
});
for (const arch of ["amd64", "arm64"]) copyFileSync(join(HELLO, `busybox-${arch}`), join(repo.dir, "slow", `busybox-${arch}`));
repo.commit();
const DIR = join(repo.dir, "slow");
const REF = pkgkit(["show-tag", "--org", ORG, DIR]).stdout.trim();
const TAG = REF.slice(REF.lastIndexOf(":") + 1);

/** `pkgkit push` in the background; `signal` is sent once stderr shows `when`. */
function pushAndInterrupt(signal: NodeJS.Signals, when: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "push", "--verbose", "--org", ORG, DIR], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp } });
    let stderr = "";
    let sent = false;
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/** Processes whose command line names this test's images: the builds pkgkit started. */
const buildsLeft = () => sh(["ps", "-eo", "args"]).stdout.split("\n").filter((l) => l.includes(REF) && l.includes("build"));
const leftInTmp = () => readdirSync(tmp).filter((f) => f.startsWith("pkgkit"));

test("SIGINT mid-build: exit 130, the build stopped, nothing left in TMPDIR, amd64 reported published and arm64 not", async () => {
  const r = await pushAndInterrupt("SIGINT", /interrupt-me-now[\s\S]*pushed .*-amd64@|pushed .*-amd64@[\s\S]*interrupt-me-now/);
  assert.is(r.code, 130, r.stderr);
  assert.equal(buildsLeft(), [], "no docker buildx build of it is still running");
  assert.equal(leftInTmp(), [], "no pkgkit temp files left");
  const amd64 = await createRegistry({}).headManifest(`${ORG}/slow`, `${TAG}-amd64`);
  assert.ok(amd64, "amd64 reached the registry");
  assert.match(r.stderr, `pkgkit: interrupted by SIGINT; this run's temporary files are removed\npublished by this run:\n  ${REF}-amd64  ${amd64!.digest}\nnot published:\n  ${REF}-arm64\n  ${REF} (index)\n`);
});

test("SIGTERM mid-build: exit 143, amd64 reported as already in the registry", async () => {
  const r = await pushAndInterrupt("SIGTERM", /interrupt-me-now/);
  assert.is(r.code, 143, r.stderr);
  assert.equal(buildsLeft(), []);
  assert.equal(leftInTmp(), []);
  assert.match(r.stderr, `pkgkit: interrupted by SIGTERM; this run's temporary files are removed\nalready in the registry:\n  ${REF}-amd64  sha256:`);
  assert.match(r.stderr, `not published:\n  ${REF}-arm64\n  ${REF} (index)\n`);
});

test("a re-run converges: the index lists both arches; a multi-arch push leaves no pkgkit directory in TMPDIR", async () => {
  const again = pkgkit(["push", "--network", "--org", ORG, DIR], { env: { TMPDIR: tmp } });
  assert.is(again.code, 0, again.stderr);
  const client = createRegistry({});
  const index = await client.getManifest(`${ORG}/slow`, TAG);
  assert.equal((index?.json.manifests ?? []).map((d) => d.platform?.architecture).sort(), ["amd64", "arm64"]);
  // Both arches pushed at once (--force): the scratch directory is shared, made once, removed.
  const both = pkgkit(["push", "--network", "--force", "--org", ORG, DIR], { env: { TMPDIR: tmp } });
  assert.is(both.code, 0, both.stderr);
  assert.match(both.stderr, "2 pushed");
  assert.equal(readdirSync(tmp).filter((f) => f.startsWith("pkgkit")), [], "no pkgkit-* directory left in TMPDIR");
});

test.after(() => {
  repo.rm();
  rmSync(work, { recursive: true, force: true });
});
test.run();
