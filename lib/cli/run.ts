/**
 * `pkgkit build` and `pkgkit push` (apply: lib/cli/apply.ts): a plan run, with its reporter, its
 * interrupts and its summary.
 */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { ExitCode } from "../errors.ts";
import type { Plan } from "../plan/schema.ts";
import { run, type Result } from "../run.ts";
import { resolveVerbosity } from "../options.ts";
import type { Targets } from "../../recipes/packages.ts";
import { consoleReporter, formatUnsigned, interruptReport, pushSummary, runExitCode, summarize, summaryTable, unsignedRefs } from "../../recipes/report.ts";
import { planFor, printPlan, unlessNothingToBuild } from "./planning.ts";
import { noticesTo } from "./registry.ts";
import type { Spelling } from "./push.ts";

export function build(t: Targets, o: ParsedOptions): Promise<number> {
  return unlessNothingToBuild(async () => {
    const { plan, session, settings } = await planFor(t, o);
    if (o["dry-run"]) return printPlan(plan, o);
    const reporter = reporterFor(o);
    const interrupt = catchInterrupts();
    const result = await run(plan, session, { reporter, jobs: settings.jobs, signal: interrupt.signal }).finally(interrupt.release);
    if (result.interrupted) return interrupted(plan, result, interrupt.received!);
    if (o.json) console.log(JSON.stringify({ plan, result }, null, 2));
    if (!resolveVerbosity(o).quiet || !result.ok) process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n`);
    return result.ok ? ExitCode.ok : ExitCode.failed;
  });
}

export function push(t: Targets, o: ParsedOptions, how?: Spelling): Promise<number> {
  return unlessNothingToBuild(async () => {
    const { pushPlanFor } = await import("./push.ts");
    const { plan, session, settings } = await pushPlanFor(t, o, undefined, how);
    if (o["dry-run"]) return printPlan(plan, o);
    const reporter = reporterFor(o);
    noticesTo(reporter.note);
    const interrupt = catchInterrupts();
    const result = await run(plan, session, { reporter, jobs: settings.jobs, signal: interrupt.signal }).finally(interrupt.release);
    if (result.interrupted) return interrupted(plan, result, interrupt.received!);
    return reportRun(plan, result, o);
  });
}

/** The step reporter for a build, push or apply: build output with `-v`, failures only with `-q`. */
export function reporterFor(o: ParsedOptions) {
  const v = resolveVerbosity(o);
  return consoleReporter({ verbose: v.buildOutput, quiet: v.quiet });
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
export type Interrupt = keyof typeof SIGNAL_NUMBERS;

/**
 * While a plan runs, SIGINT and SIGTERM abort it: run() stops its child processes and removes its
 * scratch directory, then returns, and the command reports what was published and exits 128+n.
 * A second signal exits at once.
 */
export function catchInterrupts(): { signal: AbortSignal; received?: Interrupt; release: () => void } {
  const controller = new AbortController();
  const state: { signal: AbortSignal; received?: Interrupt; release: () => void } = { signal: controller.signal, release: () => {} };
  const on = (name: Interrupt) => () => {
    if (state.received) process.exit(128 + SIGNAL_NUMBERS[state.received]);
    state.received = name;
    process.stderr.write(`\npkgkit: ${name}: stopping the running steps and their processes, removing temporary files (again to quit at once)\n`);
    controller.abort();
  };
  const handlers = (Object.keys(SIGNAL_NUMBERS) as Interrupt[]).map((name) => [name, on(name)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  state.release = () => {
    for (const [name, handler] of handlers) process.off(name, handler);
  };
  return state;
}

/** After push or apply: `--json`, the summary table, what was left unsigned; the exit code the run asks for. */
export function reportRun(plan: Plan, result: Result, o: ParsedOptions): number {
  const unsigned = unsignedRefs(plan, result);
  if (o.json) console.log(JSON.stringify(plan.command === "push" ? { ok: result.ok, packages: pushSummary(plan, result), unsigned, plan, result } : { plan, result }, null, 2));
  const code = runExitCode(result, unsigned);
  if (!resolveVerbosity(o).quiet || code !== ExitCode.ok)
    process.stderr.write(`\n${summaryTable(plan, result)}\n${summarize(result)}\n${unsigned.length ? `${formatUnsigned(unsigned)}\n` : ""}`);
  return code;
}

export function interrupted(plan: Plan, result: Result, signal: Interrupt): number {
  process.stderr.write(`\n${summaryTable(plan, result)}\npkgkit: interrupted by ${signal}; this run's temporary files are removed\n${interruptReport(plan, result)}\n`);
  return 128 + SIGNAL_NUMBERS[signal];
}
