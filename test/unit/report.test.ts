// The console reporter and the end-of-run summary, fed with plain step data.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { consoleReporter, formatUnsigned, runExitCode, summarize, summaryTable, unsignedRefs } from "../../recipes/report.ts";
import type { Plan, Step } from "../../lib/plan/schema.ts";
import type { Result, StepResult } from "../../lib/run.ts";

const build = (image: string, needs: string[] = []): Step => ({
  kind: "build", id: `ex/${image}:t/amd64`, package: `ex/${image}:t`, dir: "/x", arch: "amd64", platform: "linux/amd64",
  ref: `ex/${image}:t-amd64`, builder: "buildx", context: "package", command: { argv: ["docker"] }, reason: "not in local engine", needs,
});
const result = (step: Step, extra: Partial<StepResult>): StepResult => ({
  id: step.id, kind: step.kind, status: "done", startedAt: "", endedAt: "", durationMs: 1500, ...extra,
});

test("plain output: a 'still building' line every heartbeat while a build runs, none after it ends", async () => {
  const lines: string[] = [];
  const r = consoleReporter({ write: (l) => lines.push(l), heartbeat: 0.1 });
  const step = build("a");
  r.stepStart(step);
  await new Promise((res) => setTimeout(res, 350));
  r.stepEnd(step, result(step, {}));
  const beats = lines.filter((l) => l.startsWith("[ex/a amd64] still building, "));
  assert.ok(beats.length >= 2, lines.join("\n"));
  const after = lines.length;
  await new Promise((res) => setTimeout(res, 250));
  assert.is(lines.length, after, "the heartbeat stops with the step");
  assert.match(lines.at(-1)!, /^\[ex\/a amd64\] built ex\/a:t-amd64 in 1\.5s/);
});

test("summary table: built, failed with its error, skipped because of the failure; counts", () => {
  const a = build("a"), b = build("b"), c = build("c", [b.id]);
  const plan: Plan = { version: 1, command: "build", packages: [], steps: [a, b, c] };
  const res: Result = {
    ok: false, command: "build",
    steps: [result(a, {}), result(b, { status: "failed", error: "build of ex/b failed with exit code 1:\n  | boom" }), result(c, { status: "skipped", blockedBy: b.id, error: "not run" })],
  };
  const table = summaryTable(plan, res).split("\n");
  assert.match(table[2]!, /^ex\/a:t-amd64 +build +ok +1\.5s$/);
  assert.match(table[3]!, /^ex\/b:t-amd64 +build +failed +build of ex\/b failed with exit code 1:$/);
  assert.match(table[4]!, /^ex\/c:t-amd64 +build +skipped +ex\/b:t\/amd64 failed$/);
  assert.is(summarize(res), "1 built, 1 skipped, 1 failed");
});

test("unsigned: each sign step that failed or did not run, whose image or index is in the registry, with its digest; exit 1 then, 2 when only a prepare's bad input failed", () => {
  const pkg = "r/app:t";
  const base = { package: pkg, signer: "sigstore" as const, signerId: "sigstore", using: "sigstore keyless", repository: "r/app", reason: "" };
  const prepare: Step = { kind: "sign", id: `${pkg}/sign-prepare`, action: "prepare", ref: pkg, tags: [], ...base, needs: [] };
  const push: Step = { kind: "push", id: `${pkg}/amd64/push`, package: pkg, arch: "amd64", platform: "linux/amd64", ref: "r/app:t-amd64", repository: "r/app", tag: "t-amd64", format: "docker", builder: "buildx", reason: "", needs: [prepare.id] };
  const signPush: Step = { kind: "sign", id: "r/app:t-amd64/sign", action: "sign", ref: "r/app:t-amd64", tags: ["t-amd64"], arch: "amd64", after: push.id, ...base, needs: [push.id] };
  const signOld: Step = { kind: "sign", id: "r/app:t-arm64/sign", action: "sign", ref: "r/app:t-arm64", tags: ["t-arm64"], arch: "arm64", digest: "sha256:old", size: 1, mediaType: "m", ...base, needs: [prepare.id] };
  const plan: Plan = { version: 1, command: "push", packages: [], steps: [prepare, push, signPush, signOld] };
  const pushed = { ref: "r/app:t-amd64", descriptor: { mediaType: "m", digest: "sha256:new", size: 1, platform: { os: "linux", architecture: "amd64" } }, blobs: { exists: 0, mounted: 0, uploaded: 1 } };

  const rekorDown: Result = { ok: false, command: "push", steps: [
    result(prepare, {}), result(push, { pushed }), result(signPush, { status: "failed", error: "sigstore: Rekor said 500\nmore" }), result(signOld, { status: "failed", error: "sigstore: Rekor said 500" }),
  ] };
  const unsigned = unsignedRefs(plan, rekorDown);
  assert.equal(unsigned, [
    { ref: "r/app:t-amd64", digest: "sha256:new", thisRun: true, error: "sigstore: Rekor said 500" },
    { ref: "r/app:t-arm64", digest: "sha256:old", thisRun: false, error: "sigstore: Rekor said 500" },
  ]);
  assert.match(formatUnsigned(unsigned), "unsigned: r/app:t-amd64@sha256:new  (sigstore: Rekor said 500)\nunsigned: r/app:t-arm64@sha256:old  (sigstore: Rekor said 500)\n2 image(s) and index(es) in the registry are not signed.");
  assert.is(runExitCode(rekorDown, unsigned), 1);

  const badToken: Result = { ok: false, command: "push", steps: [
    result(prepare, { status: "failed", error: "sigstore keyless: the identity token ...", exitCode: 2 }),
    result(push, { status: "skipped", blockedBy: prepare.id }), result(signPush, { status: "skipped", blockedBy: prepare.id }), result(signOld, { status: "skipped", blockedBy: prepare.id }),
  ] };
  const before = unsignedRefs(plan, badToken);
  assert.equal(before.map((u) => [u.ref, u.thisRun, u.error]), [["r/app:t-arm64", false, `not run: ${prepare.id} failed`]], "the push did not happen: only what was there before is listed");
  assert.is(runExitCode(badToken, before), 2);
  const fulcioDown: Result = { ...badToken, steps: [{ ...badToken.steps[0]!, exitCode: undefined }, ...badToken.steps.slice(1)] };
  assert.is(runExitCode(fulcioDown, unsignedRefs(plan, fulcioDown)), 1);
  assert.is(runExitCode({ ok: true, command: "push", steps: [] }, []), 0);
});

test.run();
