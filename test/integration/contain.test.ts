// Hostile paths in package files and plan files, through the real CLI and the real engine: each
// is refused with its exit code and exact message, and nothing outside the package changes: a
// directory standing for /tmp/victim keeps its planted file, byte for byte, and gains nothing;
// pkgkit leaves nothing in the TMPDIR it is given.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pkgkit, tmpRepo } from "../helpers.ts";
import type { Plan } from "../../lib/plan/schema.ts";

const ORG = `127.0.0.1:5000/contain-${process.pid}${Date.now().toString(36)}`;
const PLANTED = "planted by the test\n";
const work = mkdtempSync(join(tmpdir(), "pkgkit-contain-"));

/** A directory outside every package, standing for /tmp/victim. */
function victim(): { dir: string; intact(): void } {
  const dir = mkdtempSync(join(work, "victim-"));
  writeFileSync(join(dir, "planted"), PLANTED);
  return {
    dir,
    intact() {
      assert.equal(readdirSync(dir), ["planted"], `nothing appears in ${dir}`);
      assert.is(readFileSync(join(dir, "planted"), "utf8"), PLANTED, "the planted file survives byte for byte");
    },
  };
}

/** How a spec error shows the value given (lib/spec.ts). */
const given = (v: unknown) => (JSON.stringify(v).length > 60 ? `${JSON.stringify(v).slice(0, 57)}...` : JSON.stringify(v));

/** pkgkit with a TMPDIR of its own, which holds nothing of pkgkit's afterwards (tsx keeps its cache there). */
const run = (args: string[]) => {
  const tmp = mkdtempSync(join(work, "tmp-"));
  const r = pkgkit(args, { env: { TMPDIR: tmp } });
  assert.equal(readdirSync(tmp).filter((f) => f.startsWith("pkgkit")), [], "pkgkit leaves nothing in its TMPDIR");
  return r;
};

/** A repository with `pkg/` (a build.yml and a Dockerfile) and `payload/`, committed. */
function repo(buildYml: string, files: Record<string, string> = {}) {
  const r = tmpRepo({
    "pkg/build.yml": `image: contained\norg: ${ORG}\narches: [amd64]\n${buildYml}`,
    "pkg/Dockerfile": "FROM scratch\nCOPY . /\n",
    "payload/file": "payload\n",
    ...files,
  });
  return { ...r, pkg: join(r.dir, "pkg"), yml: join(r.dir, "pkg/build.yml") };
}

/** `build` (and `plan` with `alsoPlan`) refuses, exit 2, with `message` (after "pkgkit: "); the victim is untouched. */
function refused(dir: string, message: string, v: ReturnType<typeof victim>, alsoPlan = false) {
  for (const command of alsoPlan ? ["plan", "build"] : ["build"]) {
    const r = run([command, dir]);
    assert.is(r.code, 2, `${command}: ${r.stderr}`);
    assert.is(r.stderr, `pkgkit: ${message}\n`);
  }
  v.intact();
}

test("extra-sources dst climbing out with \"..\" (the /tmp/victim case): refused by plan and build, exit 2", () => {
  const v = victim();
  const dst = `/../../../../../../../../..${v.dir}`;
  const r = repo(`extra-sources:\n  - ../payload:${dst}\n`);
  refused(r.pkg, `${r.yml}:5:5: field "extra-sources[0]": expected the destination ${JSON.stringify(dst)} inside the build context: a path such as "/common", whose ".." never climbs above the context's root (got ${given(`../payload:${dst}`)})`, v, true);
  r.rm();
});

test("extra-sources dst \"..\" and \"common/../..\" (relative forms): refused, exit 2", () => {
  const v = victim();
  for (const dst of ["..", "common/../../x"]) {
    const r = repo(`extra-sources: ["../payload:${dst}"]\n`);
    refused(r.pkg, `${r.yml}:4:17: field "extra-sources[0]": expected the destination ${JSON.stringify(dst)} inside the build context: a path such as "/common", whose ".." never climbs above the context's root (got ${JSON.stringify(`../payload:${dst}`)})`, v);
    r.rm();
  }
});

test("pkg.config.ts: extraSources { dst } escaping: refused, exit 2, naming the field", () => {
  const v = victim();
  const r = tmpRepo({
    "pkg/pkg.config.ts": `export default { kind: "pkgkit.package" };\n`,
    "pkg/Dockerfile": "FROM scratch\n",
    "payload/file": "x\n",
  });
  r.write("pkg/pkg.config.ts", `import { definePackage } from "pkgkit";\nexport default definePackage({ image: "c", org: ${JSON.stringify(ORG)}, extraSources: [{ src: "../payload", dst: "/../x" }] });\n`);
  r.commit();
  const file = join(r.dir, "pkg/pkg.config.ts");
  refused(join(r.dir, "pkg"), `${file}: field "extraSources[0]": expected the destination "/../x" inside the build context: a path such as "/common", whose ".." never climbs above the context's root (got {"src":"../payload","dst":"/../x"})`, v);
  r.rm();
});

test("extra-sources dst through a symlink in the package pointing out: refused, exit 2", () => {
  const v = victim();
  const r = repo(`extra-sources: ["../payload:/out/sub"]\n`);
  symlinkSync(v.dir, join(r.pkg, "out"));
  r.commit();
  refused(r.pkg, `${r.yml}: field "extra-sources[0]": "../payload:/out/sub": "out" in the build context is a symlink (to ${v.dir}, from the package directory); an extra source is never copied through a symlink`, v, true);
  r.rm();
});

test("extra-sources dst onto a symlink an earlier extra source brings: refused, exit 2", () => {
  const v = victim();
  const r = repo(`extra-sources: ["../payload:/a", "../payload:/a/link"]\n`);
  symlinkSync(v.dir, join(r.dir, "payload/link"));
  r.commit();
  refused(r.pkg, `${r.yml}: field "extra-sources[1]": "../payload:/a/link": "a/link" in the build context is a symlink (to ${v.dir}, from the extra source ${join(r.dir, "payload")}); an extra source is never copied through a symlink`, v);
  r.rm();
});

test("extra-sources src: a symlink to a directory, a file, a missing path: refused, exit 2", () => {
  const v = victim();
  const r = repo(`extra-sources: ["../linked:/x"]\n`);
  symlinkSync(v.dir, join(r.dir, "linked"));
  r.commit();
  refused(r.pkg, `${r.yml}: field "extra-sources[0]": "../linked:/x": the source ${join(r.dir, "linked")} is a symlink (to ${v.dir}); name the directory itself`, v);
  r.write("pkg/build.yml", `image: contained\norg: ${ORG}\narches: [amd64]\nextra-sources: ["../payload/file:/x"]\n`);
  refused(r.pkg, `${r.yml}: field "extra-sources[0]": "../payload/file:/x": the source ${join(r.dir, "payload/file")} is not a directory; expected a directory`, v);
  r.write("pkg/build.yml", `image: contained\norg: ${ORG}\narches: [amd64]\nextra-sources: ["../nowhere:/x"]\n`);
  refused(r.pkg, `${r.yml}: field "extra-sources[0]": "../nowhere:/x": the source ${join(r.dir, "nowhere")} does not exist; expected a directory`, v);
  r.rm();
});

test("Dockerfile missing, a directory, a symlink out of the package, reached through a symlinked directory: refused, exit 2", () => {
  const v = victim();
  const r = repo("dockerfile: Dockerfile.build\n");
  refused(r.pkg, `${r.yml}: field "dockerfile": "Dockerfile.build": no such file in ${r.pkg}; expected a regular file inside the package directory`, v);
  mkdirSync(join(r.pkg, "Dockerfile.build"));
  writeFileSync(join(r.pkg, "Dockerfile.build/keep"), "");
  refused(r.pkg, `${r.yml}: field "dockerfile": "Dockerfile.build": is a directory; expected a regular file inside the package directory`, v);
  rmSync(join(r.pkg, "Dockerfile.build"), { recursive: true });
  symlinkSync(join(v.dir, "planted"), join(r.pkg, "Dockerfile.build"));
  refused(r.pkg, `${r.yml}: field "dockerfile": "Dockerfile.build": leads to ${join(v.dir, "planted")}, outside the package directory ${r.pkg} (through a symlink); expected a regular file inside it`, v);
  rmSync(join(r.pkg, "Dockerfile.build"));
  symlinkSync(v.dir, join(r.pkg, "sub"));
  r.write("pkg/build.yml", `image: contained\norg: ${ORG}\narches: [amd64]\ndockerfile: sub/planted\n`);
  refused(r.pkg, `${r.yml}: field "dockerfile": "sub/planted": leads to ${join(v.dir, "planted")}, outside the package directory ${r.pkg} (through a symlink); expected a regular file inside it`, v);
  r.rm();
});

test("dockerfile: ../../etc/passwd is refused by the schema, exit 2", () => {
  const v = victim();
  const r = repo("dockerfile: ../../etc/passwd\n");
  refused(r.pkg, `${r.yml}:4:13: field "dockerfile": expected "dockerfile" inside the package directory: a relative path without ".." (got "../../etc/passwd")`, v);
  r.rm();
});

test("a contained package builds; plan shows where the context step copies each source", () => {
  const r = repo(`extra-sources: ["../payload:/go/src/payload"]\n`);
  const p = run(["plan", r.pkg]);
  assert.is(p.code, 0, p.stderr);
  assert.match(p.stdout, `\n         ${r.pkg} → ./\n         ${join(r.dir, "payload")} → ./go/src/payload\n`);
  const b = run(["build", "--force", r.pkg]);
  assert.is(b.code, 0, b.stderr);
  r.rm();
});

/** A build plan file of a package with an extra source, and a function to apply an edited copy. */
function editedPlans() {
  const r = repo(`extra-sources: ["../payload:/payload"]\n`);
  const made = run(["plan", "--json", "--force", r.pkg]);
  assert.is(made.code, 0, made.stderr);
  const apply = (name: string, edit: (p: Plan & Record<string, unknown>) => void) => {
    const p = JSON.parse(made.stdout) as Plan & Record<string, unknown>;
    edit(p);
    const file = join(work, name);
    writeFileSync(file, JSON.stringify(p));
    return { file, result: run(["apply", file]) };
  };
  return { r, apply };
}

const stale = (file: string, differences: string[]) =>
  `pkgkit: ${file}: its steps are not what pkgkit plans now, although the registry and the engines are as the plan saw them (was it edited by hand, or made by another version of pkgkit?); nothing was done.\n${differences.map((d) => `  ${d}\n`).join("")}Make a new plan and apply that.\n`;

test("apply: a scratch directory added to the plan's inputs is refused, exit 3, naming inputs.scratchDir", () => {
  const v = victim();
  const { r, apply } = editedPlans();
  const { file, result } = apply("scratch.json", (p) => Object.assign(p.inputs!, { scratchDir: v.dir }));
  assert.is(result.code, 3, result.stderr);
  assert.is(result.stderr, stale(file, [`inputs.scratchDir: in the plan (${JSON.stringify(v.dir)}), not planned now`]));
  v.intact();
  r.rm();
});

test("apply: a context path in the context step, a build step's context, argv or dir naming another directory: refused, exit 3", () => {
  const v = victim();
  const { r, apply } = editedPlans();
  const ctx = (p: Plan) => p.steps.find((s) => s.kind === "context")! as unknown as Record<string, unknown>;
  const build = (p: Plan) => p.steps.find((s) => s.kind === "build")! as Extract<Plan["steps"][number], { kind: "build" }>;
  const cases: [string, (p: Plan) => void, string][] = [
    // What an older pkgkit wrote, and removed before and after the run.
    ["context-path.json", (p) => void (ctx(p).context = v.dir), `${ctx(JSON.parse(run(["plan", "--json", "--force", r.pkg]).stdout) as Plan).id}: context step differs in context`],
    ["context-dst.json", (p) => void ((ctx(p).sources as { dst: string }[])[1]!.dst = `../..${v.dir}`), "differs in sources"],
    ["build-context.json", (p) => void ((build(p) as unknown as Record<string, unknown>).context = v.dir), "build step differs in context"],
    ["build-argv.json", (p) => void build(p).command.argv.splice(-1, 1, v.dir), "build step differs in command"],
    ["build-dir.json", (p) => void (build(p).dir = v.dir), "build step differs in dir"],
  ];
  for (const [name, edit, difference] of cases) {
    const { file, result } = apply(name, edit);
    assert.is(result.code, 3, `${name}: ${result.stderr}`);
    assert.ok(result.stderr.startsWith(`pkgkit: ${file}: its steps are not what pkgkit plans now`), result.stderr);
    assert.match(result.stderr, difference);
    v.intact();
  }
  r.rm();
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
