// The console reporter and the end-of-run summary, fed with plain step data.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { consoleReporter, summarize, summaryTable } from "../../recipes/report.ts";
import type { Plan, Step } from "../../lib/plan.ts";
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

test.run();
