// The scheduler on the real engine: dependency order, builds FROM images that exist only
// locally, parallel builds shown by overlapping intervals in the run's JSON, and failures that
// stop only their dependents.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { must, pkgkit, ROOT, tmpRepo } from "../helpers.ts";

const RUN = `sched-${process.pid}${Date.now().toString(36)}`;
const BUSYBOX = join(ROOT, "examples/hello/busybox-amd64");

interface StepResult { id: string; kind: string; status: string; startedAt: string; endedAt: string; blockedBy?: string; error?: string }
interface RunJson { plan: { steps: { id: string; kind: string; needs: string[]; command?: { argv: string[] } }[] }; result: { ok: boolean; steps: StepResult[] } }

/** A repo of amd64 build.yml packages; `base` has busybox, the others build on what they name. */
function workspace(files: Record<string, string>) {
  const repo = tmpRepo({ ...files, "base/Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n", "base/build.yml": `image: base\norg: ${RUN}\narches: [amd64]\n` });
  copyFileSync(BUSYBOX, join(repo.dir, "base/busybox"));
  repo.commit();
  return repo;
}
const onBase = (image: string, dep: string, run: string) => ({
  [`${image}/Dockerfile`]: `ARG DEP\nFROM \${DEP}\nRUN ${run}\n`,
  [`${image}/build.yml`]: `image: ${image}\norg: ${RUN}\narches: [amd64]\nbuildArgs:\n  - DEP=@lkt:pkg:../${dep}\n`,
});
const build = (cwd: string, args: string[]) => {
  const r = pkgkit(["build", "--json", ...args], { cwd });
  return { ...r, json: r.stdout ? (JSON.parse(r.stdout) as RunJson) : undefined };
};
const interval = (s: StepResult) => [Date.parse(s.startedAt), Date.parse(s.endedAt)] as const;
const byImage = (j: RunJson, image: string) => j.result.steps.find((s) => s.kind === "build" && s.id.startsWith(`${RUN}/${image}:`))!;

test("a chain builds in dependency order, each FROM the one before, which exists only in the local engine", () => {
  const repo = workspace({ ...onBase("mid", "base", "echo mid > /mid"), ...onBase("app", "mid", "cat /mid > /app") });
  const r = build(repo.dir, ["app"]);
  assert.is(r.code, 0, r.stderr);
  const [base, mid, app] = ["base", "mid", "app"].map((i) => byImage(r.json!, i));
  assert.ok(base && mid && app, "all three were built");
  assert.ok(interval(base!)[1] <= interval(mid!)[0], "mid starts after base ended");
  assert.ok(interval(mid!)[1] <= interval(app!)[0], "app starts after mid ended");
  // app's build arg is mid's per-arch reference, and app ran FROM it.
  const appStep = r.json!.plan.steps.find((s) => s.id === app!.id)!;
  const midRef = must(["node", join(ROOT, "lib/bin.mjs"), "show-tag", "mid"], repo.dir).trim();
  assert.ok(appStep.command!.argv.includes(`DEP=${midRef}-amd64`), appStep.command!.argv.join(" "));
  assert.equal(appStep.needs, [mid!.id]);
  const appRef = must(["node", join(ROOT, "lib/bin.mjs"), "show-tag", "app"], repo.dir).trim();
  assert.is(must(["docker", "run", "--rm", `${appRef}-amd64`, "cat", "/app"]).trim(), "mid");
  repo.rm();
});

test("independent packages build in parallel with --jobs (overlapping intervals), one at a time with --jobs 1", () => {
  const files = Object.assign({}, ...["p1", "p2", "p3"].map((p) => onBase(p, "base", `sleep 2 && echo ${p} > /${p}`)));
  const repo = workspace(files);
  assert.is(build(repo.dir, ["base"]).code, 0);
  const overlaps = (j: RunJson) => {
    const b = ["p1", "p2", "p3"].map((p) => interval(byImage(j, p)));
    return b.some((x, i) => b.some((y, k) => i < k && x[0] < y[1] && y[0] < x[1]));
  };
  const parallel = build(repo.dir, ["--jobs", "3", "--disable-cache", "--force", "p1", "p2", "p3"]);
  assert.is(parallel.code, 0, parallel.stderr);
  assert.ok(overlaps(parallel.json!), "with --jobs 3 some builds overlap");
  const serial = build(repo.dir, ["--jobs", "1", "--disable-cache", "--force", "p1", "p2", "p3"]);
  assert.is(serial.code, 0, serial.stderr);
  assert.not.ok(overlaps(serial.json!), "with --jobs 1 none overlap");
  repo.rm();
});

test("a failing package leaves its siblings built and its dependents skipped because of it; exit 1 and a summary", () => {
  const repo = workspace({ ...onBase("bad", "base", "exit 3"), ...onBase("ok", "base", "echo ok > /ok"), ...onBase("after", "bad", "true") });
  assert.is(build(repo.dir, ["base"]).code, 0);
  const r = build(repo.dir, ["--jobs", "2", "bad", "ok", "after"]);
  assert.is(r.code, 1);
  const j = r.json!;
  assert.is(j.result.ok, false);
  const bad = byImage(j, "bad");
  assert.is(bad.status, "failed");
  assert.match(bad.error!, "exit code");
  assert.is(byImage(j, "ok").status, "done", "the sibling is built");
  const after = byImage(j, "after");
  assert.equal([after.status, after.blockedBy], ["skipped", bad.id], "the dependent is skipped because of the failure");
  assert.match(r.stderr, /after:\S+-amd64 +build +skipped +\S+bad\S+ failed/);
  assert.match(r.stderr, "1 built, 2 skipped, 1 failed", "base exists (skip), ok built, after skipped, bad failed");
  repo.rm();
});

test("--jobs must be a whole number", () => {
  const r = pkgkit(["build", "--jobs", "0", "examples/hello"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--jobs "0": expected a whole number of at least 1');
});

test("on a terminal a live status line shows what is running; in a pipe there is none", () => {
  const files = Object.assign({}, onBase("slow", "base", "sleep 2"));
  const repo = workspace(files);
  // script(1) runs the build on a pseudo-terminal and copies what it wrote to stdout.
  const tty = must(["script", "-qec", `${process.execPath} ${join(ROOT, "lib/bin.mjs")} build --force --disable-cache slow`, "/dev/null"], repo.dir);
  assert.match(tty, /\r\x1b\[K/, "the status line is redrawn in place");
  assert.match(tty, new RegExp(`done · running: \\[${RUN}/slow amd64\\] building \\d+\\.\\d`)); // cut to the terminal width
  const piped = pkgkit(["build", "--force", "--disable-cache", "slow"], { cwd: repo.dir });
  assert.is(piped.code, 0, piped.stderr);
  assert.not.match(piped.stderr, "\x1b[K");
  assert.not.match(piped.stderr, "running:");
  repo.rm();
});

test.run();
