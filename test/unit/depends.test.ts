// depends.dockerImages (LinuxKit's depends.docker-images): the images, pinned by digest, go into
// pkgkit's copy of the build context (a context step), at the paths LinuxKit uses.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDefinition } from "../../lib/define.ts";
import { loadBuildYml } from "../../lib/buildyml.ts";
import { resolvePackages } from "../../lib/package.ts";
import { plan } from "../../lib/plan/plan.ts";
import { formatPlan } from "../../lib/plan/format.ts";
import { planSchema, type BuildStep, type ContextStep } from "../../lib/plan/schema.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import { InputError } from "../../lib/errors.ts";
import { saveImagesInto } from "../../lib/context.ts";

const shell = await defaultShell();
const made: string[] = [];
/** A new temporary directory, removed after the suite. */
const tempDir = (prefix: string) => (made.push(mkdtempSync(join(tmpdir(), prefix))), made.at(-1)!);
const dir = tempDir("pkgkit-depends-");
const D = (c: string) => `sha256:${c.repeat(64)}`;
const ALPINE = `docker.io/library/alpine:3.19@${D("a")}`;
const LOCAL = `127.0.0.1:5000/team/tool@${D("b")}`;
const resolveOne = async (depends: unknown, pkgDir = dir) =>
  (await resolvePackages(shell, [makeDefinition({ image: "app", org: "acme", depends: { dockerImages: depends } }, join(pkgDir, "pkg.config.ts"))], { hash: "h1" }))[0]!;
const stepsOf = async (depends: unknown, pkgDir = dir) => plan([await resolveOne(depends, pkgDir)], { command: "build", builder: buildxBuilder(shell), local: new Map() });

test("targetDir: the directory is emptied, each image saved as <last path component>@<digest>.tar; the builds use the assembled context", async () => {
  const p = await stepsOf({ list: [ALPINE, LOCAL], targetDir: "images" });
  const context = p.steps[0] as ContextStep;
  assert.equal([context.kind, context.sources, context.images], ["context", [{ src: dir, dst: "." }], {
    emptyDir: "images",
    archives: [{ dst: `images/alpine@${D("a")}.tar`, refs: [ALPINE] }, { dst: `images/tool@${D("b")}.tar`, refs: [LOCAL] }],
  }]);
  assert.is(context.reason, "depends.dockerImages: 2 image(s) saved into the context");
  const builds = p.steps.filter((s): s is BuildStep => s.kind === "build");
  assert.equal(builds.map((b) => [b.context, b.needs]), [["assembled", ["acme/app:h1/context"]], ["assembled", ["acme/app:h1/context"]]]);
  assert.equal(planSchema.parse(JSON.parse(JSON.stringify(p))), p);
  assert.match(formatPlan(p), `         (emptied) ./images\n         ${ALPINE} → ./images/alpine@${D("a")}.tar\n`);
});

test("target: every image in one archive at that path, nothing emptied", async () => {
  const context = (await stepsOf({ list: [ALPINE, LOCAL], target: "deps/all.tar" })).steps[0] as ContextStep;
  assert.equal(context.images, { archives: [{ dst: "deps/all.tar", refs: [ALPINE, LOCAL] }] });
});

test("fromFile, in build.yml as from-file: one image a line, empty lines and # comments skipped", async () => {
  const pkgDir = tempDir("pkgkit-depends-yml-");
  writeFileSync(join(pkgDir, "images.txt"), `# pinned\n${ALPINE}\n\n${LOCAL}\n`);
  writeFileSync(join(pkgDir, "build.yml"), "image: app\ndepends:\n  docker-images:\n    from-file: images.txt\n    target: all.tar\n");
  const [p] = await resolvePackages(shell, [await loadBuildYml(join(pkgDir, "build.yml"))], { hash: "h1" });
  assert.equal(p!.dockerImages, { refs: [ALPINE, LOCAL], target: "all.tar" });
});

test("fromFile: a line without a digest, or a file that is not there, exits 2 naming the file, the field, the line and the expected form", async () => {
  const pkgDir = join(dir, "bad");
  mkdirSync(pkgDir, { recursive: true });
  writeFileSync(join(pkgDir, "images.txt"), `${ALPINE}\n# ok\nalpine:3.19\n`);
  const errorOf = async (depends: unknown) => {
    try {
      await resolveOne(depends, pkgDir);
    } catch (e) {
      assert.instance(e, InputError);
      assert.is((e as InputError).exitCode, 2);
      return (e as Error).message;
    }
    throw new Error("expected an InputError");
  };
  assert.is(await errorOf({ fromFile: "images.txt", targetDir: "i" }),
    `${join(pkgDir, "pkg.config.ts")}: field "depends.dockerImages.fromFile": images.txt line 3: "alpine:3.19" has no digest; expected an image reference with a digest, e.g. "alpine@sha256:<64 hex>"`);
  assert.is(await errorOf({ fromFile: "missing.txt", targetDir: "i" }),
    `${join(pkgDir, "pkg.config.ts")}: field "depends.dockerImages.fromFile": cannot read "missing.txt" (ENOENT); expected a file in the package directory listing one image a line`);
});

/** Engine stand-in (the real one is in test/integration/linuxkit-build.test.ts): each archive names the images saved into it. */
function standInEngine(present: string[]) {
  const said: string[] = [];
  return {
    said,
    provide: async (ref: string) => (present.includes(ref) ? "present" as const : "pulled" as const),
    saveAll: async (refs: string[], file: string) => writeFileSync(file, refs.join("\n")),
    log: (line: string) => void said.push(line),
  };
}

test("saveImagesInto (engine stand-in): targetDir emptied, each archive written; a symlink at an archive's path replaced, never written through", async () => {
  const ctx = tempDir("pkgkit-depends-ctx-");
  const outside = tempDir("pkgkit-depends-out-");
  mkdirSync(join(ctx, "images"));
  writeFileSync(join(ctx, "images", "stale.tar"), "old");
  symlinkSync(join(outside, "victim"), join(ctx, "all.tar"));
  const engine = standInEngine([ALPINE]);
  await saveImagesInto(ctx, { emptyDir: "images", archives: [{ dst: `images/alpine@${D("a")}.tar`, refs: [ALPINE] }] }, engine, { log: engine.log });
  assert.equal(readdirSync(join(ctx, "images")), [`alpine@${D("a")}.tar`]);
  await saveImagesInto(ctx, { archives: [{ dst: "all.tar", refs: [ALPINE, LOCAL] }] }, engine, { log: engine.log });
  assert.is(readFileSync(join(ctx, "all.tar"), "utf8"), `${ALPINE}\n${LOCAL}`);
  assert.is(lstatSync(join(ctx, "all.tar")).isSymbolicLink(), false);
  assert.equal(readdirSync(outside), [], "nothing written outside the context");
  assert.equal(engine.said, [`${ALPINE}: from the local engine`, "saved 1 image(s) to images/alpine@" + D("a") + ".tar", `${ALPINE}: from the local engine`, `${LOCAL}: pulled into the local engine`, "saved 2 image(s) to all.tar"]);
});

test("saveImagesInto (engine stand-in): paths that leave the context, empty it, or go through a symlink are refused, as from a hand-edited plan", async () => {
  const ctx = tempDir("pkgkit-depends-ctx-");
  const outside = tempDir("pkgkit-depends-out-");
  symlinkSync(outside, join(ctx, "link"));
  const engine = standInEngine([ALPINE]);
  const refused = async (images: Parameters<typeof saveImagesInto>[1]) => {
    try {
      await saveImagesInto(ctx, images, engine);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`expected ${JSON.stringify(images)} to be refused`);
  };
  assert.match(await refused({ emptyDir: ".", archives: [] }), "is the context itself, which would be emptied");
  assert.match(await refused({ emptyDir: "../x", archives: [] }), "is outside the context");
  assert.match(await refused({ archives: [{ dst: "..", refs: [ALPINE] }] }), "does not name a file");
  assert.match(await refused({ archives: [{ dst: "a/..", refs: [ALPINE] }] }), "does not name a file");
  assert.match(await refused({ archives: [{ dst: "../x.tar", refs: [ALPINE] }] }), "is outside the context");
  assert.match(await refused({ archives: [{ dst: "link/x.tar", refs: [ALPINE] }] }), "which is a symlink there");
  assert.equal(readdirSync(outside), []);
  assert.equal(readdirSync(ctx), ["link"]);
});

test("a targetDir or target that is the package directory itself exits 2", async () => {
  const message = async (depends: unknown) => {
    try {
      await resolveOne(depends);
    } catch (e) {
      assert.instance(e, InputError);
      return (e as Error).message;
    }
    throw new Error("expected an InputError");
  };
  assert.match(await message({ list: [ALPINE], targetDir: "." }), 'field "depends.dockerImages.targetDir": "." is the package directory itself, which would be emptied');
  assert.match(await message({ list: [ALPINE], target: "./" }), 'field "depends.dockerImages.target": "./" is the package directory itself');
});

test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

test.run();
