// Push planning and index merging are pure: registry state in, steps and entries out.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { makeDefinition } from "../../lib/define.ts";
import { resolvePackages, type Package } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import type { IndexStep, PushStep, SkipStep } from "../../lib/plan/schema.ts";
import { buildxBuilder, type LocalImage } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { mergeEntries } from "../../lib/push.ts";
import { platformKey } from "../../lib/names.ts";
import { MediaTypes, type Descriptor, type Manifest } from "../../lib/registry/types.ts";

const shell = await defaultShell();
const builder = buildxBuilder(shell);
const [pkg] = (await resolvePackages(shell, [makeDefinition({ image: "app", org: "127.0.0.1:5000/demo" }, join(tmpdir(), "pkg.config.ts"))], { hash: "h1" })) as [Package];
const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const desc = (n: number, architecture: string, variant?: string, os = "linux"): Descriptor => ({
  mediaType: MediaTypes.dockerManifest, digest: d(n), size: 100 + n, platform: { os, architecture, ...(variant ? { variant } : {}) },
});
const index = (entries: Descriptor[], digest = d(9)): Manifest => ({
  mediaType: MediaTypes.dockerManifestList, digest, size: 1, bytes: new Uint8Array(), json: { schemaVersion: 2, manifests: entries },
});
const local = (ref: string): [string, LocalImage] => [ref, { ref, id: "sha256:local", os: "linux", architecture: "amd64", labels: {} }];

function pushPlan(o: { remote?: [string, Descriptor][]; indexes?: [string, Manifest][]; local?: [string, LocalImage][]; force?: boolean; release?: string }) {
  return plan([pkg], {
    command: "push", builder, force: o.force, release: o.release,
    local: new Map(o.local ?? []), remote: new Map(o.remote ?? []), indexes: new Map(o.indexes ?? []),
  });
}
const kinds = (p: ReturnType<typeof pushPlan>) => p.steps.map((s) => `${s.kind}:${s.id.slice(s.id.lastIndexOf(":") + 1)}`);

test("push plan, nothing anywhere: build and push each arch, then the index", () => {
  const p = pushPlan({});
  assert.equal(kinds(p), ["build:h1/amd64", "push:h1/amd64/push", "build:h1/arm64", "push:h1/arm64/push", "index:h1/index"]);
  const push = p.steps[1] as PushStep;
  assert.equal([push.repository, push.tag, push.format], ["127.0.0.1:5000/demo/app", "h1-amd64", "docker"]);
  assert.is((p.steps[4] as IndexStep).reason, "no index in registry yet");
  assert.match(formatPlan(p), "plan: push (2 to build, 2 to push, 1 index(es) to write, 0 to skip)");
});

test("push plan: an arch in the registry is skipped entirely; one only in the local engine is pushed, not built", () => {
  const p = pushPlan({ remote: [["127.0.0.1:5000/demo/app:h1-amd64", desc(1, "amd64")]], local: [local("127.0.0.1:5000/demo/app:h1-arm64")] });
  assert.equal(kinds(p), ["skip:h1/amd64", "skip:h1/arm64", "push:h1/arm64/push", "index:h1/index"]);
  assert.equal([(p.steps[0] as SkipStep).reason, (p.steps[0] as SkipStep).found], ["exists in registry", d(1)]);
  assert.is((p.steps[1] as SkipStep).reason, "exists in local engine");
  assert.equal((p.steps[3] as IndexStep).arches, [
    { arch: "amd64", ref: "127.0.0.1:5000/demo/app:h1-amd64", digest: d(1) },
    { arch: "arm64", ref: "127.0.0.1:5000/demo/app:h1-arm64" },
  ]);
});

test("push plan: all arches in the registry and listed in its index → nothing to do", () => {
  const remote: [string, Descriptor][] = [["127.0.0.1:5000/demo/app:h1-amd64", desc(1, "amd64")], ["127.0.0.1:5000/demo/app:h1-arm64", desc(2, "arm64")]];
  const p = pushPlan({ remote, indexes: [["127.0.0.1:5000/demo/app:h1", index([desc(1, "amd64"), desc(2, "arm64", "v8"), desc(3, "s390x")])]] });
  assert.equal(kinds(p), ["skip:h1/amd64", "skip:h1/arm64", "skip:h1/index"]);
  // An index that misses an arch (pushed elsewhere, index written before) is merged again.
  const partial = pushPlan({ remote, indexes: [["127.0.0.1:5000/demo/app:h1", index([desc(1, "amd64")])]] });
  assert.equal(kinds(partial), ["skip:h1/amd64", "skip:h1/arm64", "index:h1/index"]);
  assert.match((partial.steps[2] as IndexStep).reason, "into the existing index (1 entries)");
  // A release tag that does not point at the index yet is work too.
  assert.equal(kinds(pushPlan({ remote, release: "v1.0", indexes: [["127.0.0.1:5000/demo/app:h1", index([desc(1, "amd64"), desc(2, "arm64")])]] })).at(-1), "index:h1/index");
  // --force rebuilds and pushes all.
  assert.equal(kinds(pushPlan({ remote, force: true })), ["build:h1/amd64", "push:h1/amd64/push", "build:h1/arm64", "push:h1/arm64/push", "index:h1/index"]);
});

test("platformKey: arm64's default variant v8 is the same platform as none", () => {
  assert.is(platformKey({ os: "linux", architecture: "arm64", variant: "v8" }), "linux/arm64");
  assert.is(platformKey({ os: "linux", architecture: "arm", variant: "v7" }), "linux/arm/v7");
});

test("mergeEntries: replaces the same platform, keeps the others, sorts by platform", () => {
  const merged = mergeEntries([desc(1, "s390x"), desc(2, "arm64", "v8"), desc(3, "arm", "v6")], [desc(4, "arm64"), desc(5, "amd64"), desc(6, "arm", "v7")]);
  assert.equal(merged.map((m) => `${platformKey(m.platform)}=${m.digest.slice(7, 8)}`), ["linux/amd64=5", "linux/arm/v6=3", "linux/arm/v7=6", "linux/arm64=4", "linux/s390x=1"]);
});

test("mergeEntries: an arch's entry is written the same whoever writes it: fields in one order, the platform as pkgkit names the arch", () => {
  const fromConfig: Descriptor = { size: 9, digest: d(4), platform: { variant: "v8", architecture: "arm64", os: "linux" }, mediaType: "application/vnd.oci.image.manifest.v1+json" };
  const fromTag: Descriptor = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d(4), size: 9, platform: { os: "linux", architecture: "arm64" } };
  const a = JSON.stringify(mergeEntries([], [fromConfig, desc(5, "amd64")]));
  const b = JSON.stringify(mergeEntries([desc(5, "amd64")], [fromTag]));
  assert.is(a, b);
  assert.match(a, '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"' + d(4) + '","size":9,"platform":{"os":"linux","architecture":"arm64"}}');
});

test("mergeEntries: attestations of replaced images are dropped, of kept ones kept", () => {
  const att = (n: number, of: number): Descriptor => ({
    ...desc(n, "unknown", undefined, "unknown"),
    annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": d(of) },
  });
  const merged = mergeEntries([desc(1, "amd64"), desc(2, "arm64"), att(7, 1), att(8, 2)], [desc(3, "amd64")]);
  assert.equal(merged.map((m) => m.digest), [d(3), d(2), d(8)]);
});

test.run();
