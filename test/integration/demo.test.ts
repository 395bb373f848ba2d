// The README's first command, `npm run demo` (test/env/demo.sh), as a user runs it, into a
// repository of its own: it must build, push and sign examples/hello, and pull and run both
// platforms with Docker Content Trust on.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { ROOT, sh } from "../helpers.ts";
import { services } from "../services.ts";
import { createRegistry } from "../../lib/registry/index.ts";

const svc = services();
const ORG = `${svc.registries.plain}/demo${process.pid}${Date.now().toString(36)}`;

test("npm run demo pushes and signs examples/hello, then pulls and runs amd64 and arm64 with content trust", async () => {
  const r = sh([join(ROOT, "test/env/demo.sh")], ROOT, { PKGKIT_ORG: ORG });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "2 built, 2 pushed, 1 index(es) merged, 3 signed, 2 attested, 0 skipped, 0 failed");
  assert.match(r.stderr, "3 signed");
  assert.match(r.stdout, /\(pulled with content trust for linux\/amd64\): hello from x86_64\n/);
  assert.match(r.stdout, /\(pulled with content trust for linux\/arm64\): hello from aarch64\n/);
  const tag = /:([0-9a-f]{40})/.exec(r.stdout)![1]!;
  const index = await createRegistry({}).getManifest(`${ORG}/hello`, tag);
  assert.equal(index!.json.manifests!.map((d) => d.platform!.architecture).sort(), ["amd64", "arm64"]);
  assert.match(r.stdout, `ok    ${ORG}/hello:${tag}@${index!.digest}  [notary]`, "verify checked the index the registry has");
  // With Notary, each arch image's .att manifest (its SBOM and provenance) is a Notary target too.
  for (const arch of ["amd64", "arm64"]) {
    assert.match(r.stdout, new RegExp(`ok    ${ORG}/hello:${tag}-${arch}@sha256:[0-9a-f]{64}  \\[notary\\] SPDX SBOM attestation: in sha256:[0-9a-f]{64}, `));
    assert.match(r.stdout, new RegExp(`ok    ${ORG}/hello:${tag}-${arch}@sha256:[0-9a-f]{64}  \\[notary\\] SLSA provenance attestation: in sha256:[0-9a-f]{64}, `));
  }
});

test.run();
