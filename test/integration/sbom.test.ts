// `pkgkit sbom` on a real image: a busybox package with an apk database, built by the real engine
// (its RUN steps leave symlinks and a whiteout) and pushed to the real registry. The SBOM lists
// /bin/busybox with the sha256 of the bytes `docker save` holds (read here with tar, not with
// pkgkit's code), the same document comes from the engine and from the registry, and bad input
// exits 2. Stock cosign (the outside reader) takes the SBOMs and the provenance as predicates of
// their types and reads the same documents back.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { must, pkgkit, ROOT, sh, tmpRepo } from "../helpers.ts";
import { services } from "../services.ts";
import { provenancePredicate } from "../../lib/attest/provenance.ts";

const svc = services();
const ORG = `${svc.registries.plain}/sbom${process.pid}${Date.now().toString(36)}`;
const APK_DB = "P:busybox\nV:1.36.1-r0\nA:x86_64\nL:GPL-2.0-only\nF:bin\nR:busybox\n\n";
const repo = tmpRepo({
  "pkg/sb/build.yml": "image: sb\narches:\n  - amd64\n",
  "pkg/sb/Dockerfile": [
    "FROM scratch",
    "COPY busybox /bin/busybox",
    "COPY installed /lib/apk/db/installed",
    "COPY extra /etc/extra",
    'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
    'RUN ["/bin/busybox", "rm", "/etc/extra"]',
    "",
  ].join("\n"),
  "pkg/sb/installed": APK_DB,
  "pkg/sb/extra": "removed by a later layer\n",
});
copyFileSync(join(ROOT, "examples/hello/busybox-amd64"), join(repo.dir, "pkg/sb/busybox"));
must(["git", "remote", "add", "origin", "https://example.com/org/repo.git"], repo.dir);
repo.commit();
const DIR = join(repo.dir, "pkg/sb");
const COMMIT = must(["git", "rev-parse", "HEAD"], repo.dir).trim();
const TAG = pkgkit(["show-tag", "--org", ORG, DIR]).stdout.trim().split(":").pop()!;
const REF = `${ORG}/sb:${TAG}-amd64`;
const COSIGN = process.env.COSIGN ?? "cosign";
const BUSYBOX_SHA256 = createHash("sha256").update(readFileSync(join(ROOT, "examples/hello/busybox-amd64"))).digest("hex");

interface Spdx {
  packages: { name: string; SPDXID: string; versionInfo: string; downloadLocation: string; externalRefs: { referenceLocator: string }[] }[];
  files: { fileName: string; SPDXID: string; checksums: { algorithm: string; checksumValue: string }[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  creationInfo: { created: string };
}

/** /bin/busybox's sha256 in the engine's image, from `docker save` and tar alone: the top layer that has it. */
function busyboxInDockerSave(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-sbom-save-"));
  must(["docker", "save", "--output", join(dir, "image.tar"), ref]);
  must(["tar", "-xf", join(dir, "image.tar"), "-C", dir]);
  const [saved] = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { Layers: string[] }[];
  for (const layer of [...saved!.Layers].reverse())
    if (sh(["tar", "-tf", join(dir, layer), "bin/busybox"]).code === 0)
      return must(["sh", "-c", 'tar -xOf "$1" bin/busybox | sha256sum', "-", join(dir, layer)]).split(" ")[0]!;
  throw new Error(`no layer of ${ref} has bin/busybox`);
}

let fromEngine = "";
/** The CycloneDX document the second test wrote. */
let cycloneDxFile = "";

test("sbom of the engine's image: /bin/busybox with the sha256 docker save holds, the apk package, whiteouts applied, the git source", () => {
  const pushed = pkgkit(["push", "--org", ORG, "--disable-content-trust", DIR]);
  assert.is(pushed.code, 0, pushed.stderr);
  const r = pkgkit(["sbom", "--org", ORG, DIR]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, `SBOM of ${REF}@sha256:`);
  assert.match(r.stderr, "(from the engine)");
  fromEngine = r.stdout;
  const doc = JSON.parse(r.stdout) as Spdx;
  const busybox = doc.files.find((f) => f.fileName === "/bin/busybox");
  const saved = busyboxInDockerSave(REF);
  assert.is(saved, BUSYBOX_SHA256);
  assert.equal(busybox?.checksums.find((c) => c.algorithm === "SHA256")?.checksumValue, saved);
  const names = doc.files.map((f) => f.fileName);
  assert.ok(names.includes("/lib/apk/db/installed"));
  assert.not.ok(names.includes("/etc/extra"), "a file a later layer removed is not listed");
  assert.not.ok(names.includes("/bin/sh"), "symlinks are not files");
  const [image, apk] = doc.packages;
  assert.is(image!.name, `${ORG}/sb`);
  assert.is(image!.versionInfo, TAG);
  assert.is(image!.downloadLocation, `git+https://example.com/org/repo.git@${COMMIT}#pkg/sb`);
  assert.is(apk!.externalRefs[0]!.referenceLocator, "pkg:apk/alpine/busybox@1.36.1-r0?arch=x86_64");
  assert.ok(doc.relationships.some((rel) => rel.spdxElementId === apk!.SPDXID && rel.relatedSpdxElement === busybox!.SPDXID && rel.relationshipType === "CONTAINS"));
  assert.is(doc.creationInfo.created, "1970-01-01T00:00:00Z");
  // As push --oci would give it: OCI manifest, another digest, the same files.
  const oci = pkgkit(["sbom", "--org", ORG, "--oci", DIR]);
  const ociDoc = JSON.parse(oci.stdout) as Spdx & { name: string };
  assert.is.not(ociDoc.name, (doc as Spdx & { name: string }).name);
  assert.equal(ociDoc.files, doc.files);
});

test("sbom of the registry's image once the engine has none, or when it does not answer: the same bytes; CycloneDX lists the same busybox", () => {
  must(["docker", "image", "rm", "-f", REF, `${ORG}/sb:${TAG}`]);
  const r = pkgkit(["sbom", "--org", ORG, "--arch", "amd64", DIR]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, "(from the registry)");
  assert.is(r.stdout, fromEngine);
  const noEngine = pkgkit(["sbom", "--org", ORG, DIR], { env: { DOCKER_HOST: "unix:///nonexistent/pkgkit-test.sock" } });
  assert.is(noEngine.code, 0, noEngine.stderr);
  assert.match(noEngine.stderr, "the engine did not answer");
  assert.is(noEngine.stdout, fromEngine, "an engine that does not answer: the registry's image");
  const out = join(mkdtempSync(join(tmpdir(), "pkgkit-sbom-out-")), "bom.json");
  cycloneDxFile = out;
  const cdx = pkgkit(["sbom", "--org", ORG, "--format", "cyclonedx", "--output", out, DIR], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
  assert.is(cdx.code, 0, cdx.stderr);
  assert.is(cdx.stdout, "");
  const bom = JSON.parse(readFileSync(out, "utf8")) as { specVersion: string; metadata: { timestamp: string }; components: { name: string; components?: { name: string; hashes: { alg: string; content: string }[] }[] }[] };
  assert.is(bom.specVersion, "1.6");
  assert.is(bom.metadata.timestamp, "2023-11-14T22:13:20Z");
  const busybox = bom.components.find((c) => c.name === "busybox")?.components?.find((f) => f.name === "/bin/busybox");
  assert.equal(busybox?.hashes.find((h) => h.alg === "SHA-256")?.content, BUSYBOX_SHA256);
});

test("stock cosign attests and verifies the documents under --type spdxjson, cyclonedx and slsaprovenance1", () => {
  const tmp = mkdtempSync(join(tmpdir(), "pkgkit-sbom-cosign-"));
  const env = { COSIGN_PASSWORD: `pw-${process.pid}`, COSIGN_YES: "true" };
  must([COSIGN, "generate-key-pair"], tmp, env);
  // The documents the tests above printed.
  writeFileSync(join(tmp, "spdx.json"), fromEngine);
  copyFileSync(cycloneDxFile, join(tmp, "cdx.json"));
  const digest = /@(sha256:[0-9a-f]{64})$/.exec((JSON.parse(fromEngine) as { name: string }).name)![1]!;
  const subject = { name: `${ORG}/sb`, digest, arch: "amd64", source: { dir: "pkg/sb", tree: TAG, gitrepo: "https://example.com/org/repo.git", commit: COMMIT } };
  const started = new Date(Date.UTC(2026, 0, 1));
  const provenance = provenancePredicate({
    subject, tag: `${TAG}-amd64`, buildArgs: {}, builder: { id: "https://pkgkit.dev/builder/buildx", kind: "buildx" },
    baseImages: [{ ref: "busybox:1.36", digest: `sha256:${"ab".repeat(32)}` }], startedOn: started, finishedOn: started,
  });
  writeFileSync(join(tmp, "prov.json"), JSON.stringify(provenance.predicate));
  const ref = `${ORG}/sb@${digest}`;
  for (const [type, file, predicateType] of [["spdxjson", "spdx.json", "https://spdx.dev/Document"], ["cyclonedx", "cdx.json", "https://cyclonedx.org/bom"], ["slsaprovenance1", "prov.json", provenance.predicateType]]) {
    must([COSIGN, "attest", "--key", join(tmp, "cosign.key"), "--type", type!, "--predicate", join(tmp, file!), "--tlog-upload=false", "--allow-insecure-registry", ref], tmp, env);
    const verified = must([COSIGN, "verify-attestation", "--key", join(tmp, "cosign.pub"), "--type", type!, "--insecure-ignore-tlog=true", "--allow-insecure-registry", ref], tmp, env);
    const statement = JSON.parse(Buffer.from((JSON.parse(verified.split("\n")[0]!) as { payload: string }).payload, "base64").toString("utf8"));
    assert.is(statement.predicateType, predicateType);
    assert.equal(statement.predicate, JSON.parse(readFileSync(join(tmp, file!), "utf8")), `${type}: cosign reads back the document pkgkit wrote`);
    assert.equal(statement.subject[0].digest, { sha256: digest.slice(7) });
  }
});

test("sbom: --help says where the image is read from; bad input exits 2 naming the flag or variable", () => {
  const help = pkgkit(["sbom", "--help"]);
  assert.is(help.code, 0);
  assert.match(help.stdout, "from its engine if there, else from the registry");
  const bad: [string[], Record<string, string>, string][] = [
    [["--format", "xml"], {}, '--format "xml": expected spdx or cyclonedx'],
    [["--arch", "sparc"], {}, '--arch "sparc": expected one of'],
    [["--arch", "arm64"], {}, "builds amd64; expected one of them"],
    [[], { SOURCE_DATE_EPOCH: "yesterday" }, 'SOURCE_DATE_EPOCH "yesterday": expected whole seconds'],
    [[ROOT], {}, "sbom takes one package directory, got 2"],
  ];
  for (const [args, env, message] of bad) {
    const r = pkgkit(["sbom", "--org", ORG, ...args, DIR], { env });
    assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test.after(() => repo.rm());
test.run();
