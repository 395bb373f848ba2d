// The guards run() keeps whatever plan it is given: contexts are assembled inside their directory
// and never through a symlink; scratch space is removed only inside pkgkit's own directory; and a
// plan naming a path (as older plans did) does not make run() remove or write it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleContext } from "../../lib/context.ts";
import { createScratch, removeScratch, scratchParent } from "../../lib/scratch.ts";
import { run } from "../../lib/run.ts";
import { buildxBuilder } from "../../lib/builder.ts";
import { defaultShell } from "../../lib/shell.ts";
import type { Plan } from "../../lib/plan/schema.ts";

const work = mkdtempSync(join(tmpdir(), "pkgkit-contain-unit-"));
const PLANTED = "planted\n";
function victim() {
  const dir = mkdtempSync(join(work, "victim-"));
  writeFileSync(join(dir, "planted"), PLANTED);
  return {
    dir,
    intact() {
      assert.equal(readdirSync(dir), ["planted"]);
      assert.is(readFileSync(join(dir, "planted"), "utf8"), PLANTED);
    },
  };
}
function tree(files: Record<string, string>) {
  const dir = mkdtempSync(join(work, "src-"));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}
async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected a rejection");
}

test("assembleContext: sources land under their destinations, symlinks copied as they are, .git left out", async () => {
  const pkg = tree({ Dockerfile: "FROM scratch\n", ".git/HEAD": "x" });
  symlinkSync("/etc/passwd", join(pkg, "link"));
  const extra = tree({ "a/b": "b\n" });
  const ctx = join(work, "ctx-ok");
  await assembleContext(ctx, [{ src: pkg, dst: "." }, { src: extra, dst: "go/src" }]);
  assert.equal(readdirSync(ctx).sort(), ["Dockerfile", "go", "link"]);
  assert.is(readFileSync(join(ctx, "go/src/a/b"), "utf8"), "b\n");
  assert.ok(lstatSync(join(ctx, "link")).isSymbolicLink());
});

test("assembleContext: a destination climbing out, or through a symlink an earlier source put there, is refused; nothing written outside", async () => {
  const v = victim();
  const extra = tree({ payload: "p\n" });
  const ctx = join(work, "ctx-out");
  assert.is(await rejects(assembleContext(ctx, [{ src: extra, dst: "../x" }])), `build context: the destination "../x" of ${extra} is outside the context; nothing copied`);
  const pkg = tree({ Dockerfile: "FROM scratch\n" });
  symlinkSync(v.dir, join(pkg, "out"));
  assert.is(
    await rejects(assembleContext(join(work, "ctx-link"), [{ src: pkg, dst: "." }, { src: extra, dst: "out/sub" }])),
    `build context: "out/sub" for ${extra} goes through out, which is a symlink there; nothing is copied through it`,
  );
  const holder = mkdtempSync(join(work, "holder-"));
  const inner = join(holder, "ctx");
  assert.is(await rejects(assembleContext(inner, [{ src: holder, dst: "x" }])), `build context: the source ${holder} contains the context being assembled (${inner}); name a directory that does not hold pkgkit's scratch directory`);
  v.intact();
});

test("assembleContext: a file of a later source replaces a symlink an earlier one put there, never writes through it", async () => {
  const v = victim();
  const first = tree({});
  symlinkSync(join(v.dir, "planted"), join(first, "planted"));
  const second = tree({ planted: "overwritten?\n" });
  const ctx = join(work, "ctx-replace");
  await assembleContext(ctx, [{ src: first, dst: "." }, { src: second, dst: "." }]);
  assert.is(readFileSync(join(ctx, "planted"), "utf8"), "overwritten?\n");
  v.intact();
});

test("removeScratch removes only inside pkgkit's scratch directory", async () => {
  const v = victim();
  assert.is(await rejects(removeScratch(v.dir)), `refusing to remove ${v.dir}: it is not inside pkgkit's scratch directory ${scratchParent()}`);
  assert.is(await rejects(removeScratch(scratchParent())), `refusing to remove ${scratchParent()}: it is not inside pkgkit's scratch directory ${scratchParent()}`);
  v.intact();
  const tmp = mkdtempSync(join(work, "tmp-"));
  const s = await createScratch(tmp);
  assert.ok(s.dir.startsWith(join(tmp, `pkgkit-${process.getuid!()}`, "run-")));
  assert.is(lstatSync(join(tmp, `pkgkit-${process.getuid!()}`)).mode & 0o777, 0o700);
  await s.remove();
  assert.equal(readdirSync(tmp), [], "the run directory and the emptied per-user directory are gone");
});

test("run(): a context step naming a path (as older plans did) neither removes nor writes it", async () => {
  const v = victim();
  const shell = await defaultShell();
  const tmp = mkdtempSync(join(work, "tmp-"));
  const src = tree({ Dockerfile: "FROM scratch\n" });
  const plan = {
    version: 1, command: "build", packages: [],
    steps: [{ kind: "context", id: "x/context", package: "ex/app:t", context: v.dir, sources: [{ src, dst: "." }], reason: "", needs: [] }],
  } as unknown as Plan;
  const result = await run(plan, { shell, builder: buildxBuilder(shell) }, { tmpDir: tmp });
  assert.ok(result.ok);
  v.intact();
  assert.equal(readdirSync(tmp), []);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
