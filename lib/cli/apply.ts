/** `pkgkit apply <plan.json|->`: run a plan written by `plan --json`, once what it saw still holds. */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { parsePlanFile, selectPlan } from "../apply.ts";
import { resolveSettings } from "../options.ts";
import { MAX_PLAN_BYTES, readTextLimited, tooLarge } from "../limits.ts";
import { applyPlan } from "../../recipes/apply.ts";
import { registryFor, noticesTo } from "./registry.ts";
import { catchInterrupts, interrupted, reporterFor, reportRun } from "./run.ts";

const PLAN_FILE = "a plan written by `pkgkit plan --json`";

/** `file`: the one argument the command was given, a file or - (stdin). */
export async function apply(file: string, o: ParsedOptions): Promise<number> {
  const name = file === "-" ? "the plan on stdin" : file;
  const text = file === "-" ? await readStdin(MAX_PLAN_BYTES, name, PLAN_FILE) : readTextLimited(file, MAX_PLAN_BYTES, PLAN_FILE);
  const plan = selectPlan(parsePlanFile(text, name), name, typeof o.arch === "string" ? o.arch : undefined);
  const settings = resolveSettings(o, process.env, { registry: plan.command === "push" });
  const registry = plan.command === "push" ? await registryFor(settings) : undefined;
  const reporter = reporterFor(o);
  noticesTo(reporter.note);
  const interrupt = catchInterrupts();
  const { result, changes } = await applyPlan(plan, { registry, reporter, jobs: settings.jobs, file: name, signal: interrupt.signal }).finally(interrupt.release);
  if (result.interrupted) return interrupted(plan, result, interrupt.received!);
  for (const c of changes)
    process.stderr.write(`note: ${c.ref} changed since the plan (${c.planned ?? "not there"} → ${c.now ?? "not there"}); other writers merge into it, and the plan's steps are the same, so it still holds\n`);
  return reportRun(plan, result, o);
}

/** Standard input, refused once it passes `limit` bytes (it is not read further). */
async function readStdin(limit: number, name: string, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      process.stdin.destroy();
      throw tooLarge(name, undefined, limit, what);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
