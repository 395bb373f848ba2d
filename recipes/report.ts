/**
 * Recipe: progress and summaries on a terminal or in CI logs (stderr), results on stdout.
 * Lines are prefixed `[org/image arch]`, so output from parallel steps stays readable. On a
 * terminal a live line at the bottom shows what is running and for how long; elsewhere (CI
 * logs, pipes) plain lines only, with a "still building" line every `heartbeat` seconds.
 */
import process from "node:process";
import type { Reporter, Result, StepResult } from "../lib/run.ts";
import type { Plan, Step } from "../lib/plan/schema.ts";
import { parseImageRef } from "../lib/names.ts";
import { predicateName } from "../lib/attest/statement.ts";

/** How `consoleReporter` prints. */
export interface ConsoleReporterOptions {
  /** Print every line of build output, prefixed. */
  verbose?: boolean;
  /** Print only failures (and lines of no step: `note`). */
  quiet?: boolean;
  /** Seconds between "still building" lines (plain output only). */
  heartbeat?: number;
  /** Keep a live status line at the bottom (default: when stderr is a terminal and no `write` is given). */
  live?: boolean;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
/** `[org/image arch]`: the package name without its (long) tag. */
const label = (s: Step) => {
  const name = parseImageRef(s.package).repository;
  return "arch" in s && s.arch ? `[${name} ${s.arch}]` : `[${name}]`;
};
const verb: Partial<Record<Step["kind"], string>> = { build: "building", push: "pushing", index: "merging index", context: "assembling context", sign: "signing" };

/** A Reporter for terminals and CI logs: step lines prefixed `[org/image arch]`, a live status line on a terminal; `note` prints a line of its own. */
export function consoleReporter(options: ConsoleReporterOptions = {}): Reporter & { note(line: string): void } {
  const live = !options.quiet && (options.live ?? (!options.write && process.stderr.isTTY === true));
  const out = options.write ?? ((l: string) => process.stderr.write(`${l}\n`));
  const timers = new Map<string, ReturnType<typeof setInterval>>();
  const started = new Map<string, number>();
  const active = new Map<string, Step>();
  let finished = 0;
  let statusShown = false;
  const status = () => {
    const now = Date.now();
    const parts = [...active.values()].map((s) => `${label(s)} ${verb[s.kind] ?? s.kind} ${seconds(now - started.get(s.id)!)}`);
    return `${finished} done · running: ${parts.join(" · ")}`.slice(0, (process.stderr.columns ?? 120) - 1);
  };
  const clear = () => {
    if (statusShown) process.stderr.write("\r\x1b[K");
    statusShown = false;
  };
  const redraw = () => {
    clear();
    if (active.size > 0) {
      process.stderr.write(status());
      statusShown = true;
    }
  };
  const write = (line: string) => {
    if (!live) return out(line);
    clear();
    out(line);
    redraw();
  };
  /** A step's progress line: none when quiet. */
  const say = options.quiet ? () => {} : write;
  let ticker: ReturnType<typeof setInterval> | undefined;

  return {
    /** A line that belongs to no step (a registry's retry line), always shown, below the live line. */
    note: (line) => write(line),
    stepStart(step) {
      started.set(step.id, Date.now());
      if (step.kind !== "skip") active.set(step.id, step);
      if (live && !ticker) {
        ticker = setInterval(redraw, 500);
        (ticker as { unref?: () => void }).unref?.();
      }
      if (step.kind === "build") {
        say(`${label(step)} building ${step.ref} (${step.platform}, ${step.builder})`);
        if (!live) {
          const t = setInterval(() => say(`${label(step)} still building, ${seconds(Date.now() - started.get(step.id)!)}`), (options.heartbeat ?? 10) * 1000);
          (t as { unref?: () => void }).unref?.();
          timers.set(step.id, t);
        }
      } else if (step.kind === "context") say(`${label(step)} assembling build context with extra sources`);
      else if (step.kind === "push") say(`${label(step)} pushing ${step.ref}`);
      else if (step.kind === "tag") say(`${label(step)} ${step.from ? `copying ${step.ref} from ${step.from} to ${step.builder}` : `tagging ${step.ref}`}${step.alias ? ` as ${step.alias}` : ""}`);
      else if (step.kind === "index") say(`${label(step)} merging ${step.arches.map((a) => a.arch).join(", ")} into ${step.ref}`);
      else if (step.kind === "sign" && step.action === "prepare") say(`${label(step)} preparing ${step.using}`);
    },
    stepOutput(step, line) {
      // Index merges report only notable events (another writer, dropped entries): always shown.
      if (options.verbose || step.kind === "index") write(`${label(step)} ${line}`);
    },
    stepEnd(step, r) {
      clearInterval(timers.get(step.id));
      active.delete(step.id);
      finished += 1;
      if (r.blockedBy) write(`${label(step)} skip ${"ref" in step ? step.ref : step.id}: ${r.error}`);
      else if (step.kind === "skip") say(`${label(step)} skip ${step.ref}: ${step.reason}`);
      else if (r.status === "failed") write(`${label(step)} FAILED after ${seconds(r.durationMs)}\n${r.error}`);
      else if (step.kind === "build") say(`${label(step)} built ${step.ref} in ${seconds(r.durationMs)} (${r.image?.id.slice(0, 19)})`);
      else if (step.kind === "push" && r.pushed) {
        const b = r.pushed.blobs;
        say(`${label(step)} pushed ${step.ref}@${r.pushed.descriptor.digest} in ${seconds(r.durationMs)} (blobs: ${b.uploaded} uploaded, ${b.mounted} mounted, ${b.exists} already there)`);
      } else if (step.kind === "index" && r.index) {
        const arches = r.index.manifests.filter((d) => d.platform && d.platform.os !== "unknown").map((d) => [d.platform!.architecture, d.platform!.variant].filter(Boolean).join("/"));
        say(`${label(step)} ${r.index.written ? "wrote" : "unchanged:"} ${step.ref}@${r.index.digest} (${arches.join(", ")})${step.release ? `, also ${step.repository}:${step.release}` : ""}`);
      } else if (step.kind === "sign" && r.signed?.signature) say(`${label(step)} signed ${step.ref}@${r.signed.digest} with ${step.signer}: ${r.signed.signature.stored.join("; ")}`);
      else if (step.kind === "attest" && r.attested) say(`${label(step)} attested ${step.ref} (${r.attested.predicateTypes.map(predicateName).join(", ")}) with ${step.signer}: ${r.attested.stored.join("; ")}`);
      if (active.size === 0 && ticker) {
        clearInterval(ticker);
        ticker = undefined;
        clear();
      }
    },
  };
}

/** One line saying what a run did: how many images were built, pushed, indexes merged, signed, skipped and failed. */
export function summarize(result: Result): string {
  const count = (s: StepResult["status"], kind?: StepResult["kind"]) =>
    result.steps.filter((r) => r.status === s && r.kind !== "context" && (!kind || r.kind === kind)).length;
  const pushing = result.command === "push";
  return [
    `${count("done", "build")} built`,
    ...(pushing ? [`${count("done", "push")} pushed`, `${count("done", "index")} index(es) merged`] : []),
    ...(result.steps.some((r) => r.signed?.signature) ? [`${result.steps.filter((r) => r.signed?.signature).length} signed`] : []),
    ...(result.steps.some((r) => r.attested) ? [`${result.steps.filter((r) => r.attested).length} attested`] : []),
    `${count("skipped")} skipped`,
    `${count("failed")} failed`,
  ].join(", ");
}

/**
 * The table printed at the end of a run: one row per image (and index), with what happened to it
 * and why: built, pushed, skipped (exists, or because a step it needs failed), failed (the error).
 */
export function summaryTable(plan: Plan, result: Result): string {
  const byId = new Map(result.steps.map((r) => [r.id, r]));
  const rows = plan.steps
    .filter((s) => s.kind !== "context")
    .map((s) => {
      const r = byId.get(s.id);
      const what = s.kind === "skip" ? `skip ${s.skips === "index" ? "index" : s.skips}` : s.kind === "sign" && s.action === "prepare" ? "sign prepare" : s.kind;
      const outcome = !r ? "not run" : r.blockedBy ? "skipped" : r.status === "done" ? "ok" : r.status;
      const why = !r ? "" : r.blockedBy ? `${r.blockedBy} failed` : r.status === "failed" ? (r.error ?? "").split("\n")[0]! : s.kind === "skip" ? s.reason : seconds(r.durationMs);
      return ["ref" in s ? s.ref : (s as Step).id, what, outcome, why];
    });
  const head = ["image", "step", "result", "why / time"];
  const widths = head.map((h, i) => Math.min(90, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** An image or index in the registry that a sign step of the run should have signed, and did not. */
export interface UnsignedRef {
  ref: string;
  digest: string;
  /** Pushed or merged by this run (else it was in the registry before). */
  thisRun: boolean;
  /** Why: the sign step's error, or the step it waited for that failed. */
  error: string;
}

/**
 * What the run left in the registry unsigned: each sign step that failed or did not run, whose
 * image or index is in the registry (pushed or merged by this run, or there before it).
 */
export function unsignedRefs(plan: Plan, result: Result): UnsignedRef[] {
  const byId = new Map(result.steps.map((r) => [r.id, r]));
  const out: UnsignedRef[] = [];
  for (const s of plan.steps) {
    if (s.kind !== "sign" || s.action !== "sign") continue;
    const r = byId.get(s.id);
    if (r?.status === "done") continue;
    const before = s.after ? byId.get(s.after) : undefined;
    const digest = s.digest ?? before?.pushed?.descriptor.digest ?? before?.index?.digest;
    if (!digest) continue;
    out.push({ ref: s.ref, digest, thisRun: !s.digest, error: r?.blockedBy ? `not run: ${r.blockedBy} failed` : (r?.error ?? "not run").split("\n")[0]! });
  }
  return out;
}

/** The lines naming what is unsigned, and how to sign it. */
export function formatUnsigned(unsigned: UnsignedRef[]): string {
  if (!unsigned.length) return "";
  return [
    ...unsigned.map((u) => `unsigned: ${u.ref}@${u.digest}  (${u.error})`),
    `${unsigned.length} image(s) and index(es) in the registry are not signed. Once the signer works again, run \`pkgkit push\` again with the same arguments: it signs what is in the registry unsigned, and pushes nothing again.`,
  ].join("\n");
}

/**
 * The exit code of a run: 0 when every step succeeded; 2 when only bad input failed (a signer's
 * prepare: a malformed token, a wrong key password) and the run published nothing unsigned; else 1.
 */
export function runExitCode(result: Result, unsigned: UnsignedRef[]): number {
  if (result.ok) return 0;
  const failed = result.steps.filter((r) => r.status === "failed");
  return !unsigned.some((u) => u.thisRun) && failed.length > 0 && failed.every((r) => r.exitCode === 2) ? 2 : 1;
}

/** Per package: the index and each arch's image as they are in the registry after the run. */
export function pushSummary(plan: Plan, result: Result) {
  const byId = new Map(result.steps.map((r) => [r.id, r]));
  return plan.packages.map((p) => {
    const steps = plan.steps.filter((s) => s.package === p.name);
    const arches = Object.fromEntries(
      p.arches.map((arch) => {
        const mine = steps.filter((s) => "arch" in s && s.arch === arch);
        const push = mine.find((s) => s.kind === "push");
        const skip = mine.find((s) => s.kind === "skip");
        const built = mine.some((s) => s.kind === "build" && byId.get(s.id)?.status === "done");
        const pushed = push && byId.get(push.id)?.pushed;
        const digest = pushed ? pushed.descriptor.digest : skip?.kind === "skip" && skip.skips === "build+push" ? skip.found : undefined;
        const action = pushed ? (built ? "built, pushed" : "pushed") : digest ? "exists in registry" : "not pushed";
        return [arch, { ref: `${p.name}-${arch}`, digest: digest ?? null, action }];
      }),
    );
    const indexStep = steps.find((s) => s.id === `${p.name}/index`);
    const r = indexStep && byId.get(indexStep.id);
    const index = r?.index
      ? { ref: p.name, digest: r.index.digest, mediaType: r.index.mediaType, written: r.index.written }
      : indexStep?.kind === "skip" ? { ref: p.name, digest: indexStep.found ?? null, written: false } : null;
    return { dir: p.dir, ref: p.name, index, arches };
  });
}

/**
 * After an interrupted run (Result.interrupted): what reached the registry and what did not, per
 * image and index, and which of those published are not signed although their package signs.
 * For a build: what was built and what was not.
 */
export function interruptReport(plan: Plan, result: Result): string {
  const byId = new Map(result.steps.map((r) => [r.id, r]));
  const done = (s: Step) => byId.get(s.id)?.status === "done";
  if (plan.command === "build") {
    const builds = plan.steps.filter((s): s is Extract<Step, { kind: "build" }> => s.kind === "build");
    const built = builds.filter(done).map((s) => `  ${s.ref}`);
    const not = builds.filter((s) => !done(s)).map((s) => `  ${s.ref}`);
    return [...(built.length ? ["built:", ...built] : []), ...(not.length ? ["not built:", ...not] : [])].join("\n");
  }
  const signs = plan.steps.filter((s): s is Extract<Step, { kind: "sign" }> => s.kind === "sign" && s.action === "sign");
  const interrupted = (s: Step) => byId.get(s.id)?.interrupted === true && byId.get(s.id)?.status === "failed";
  // A signature being written when the run was interrupted may be in the registry already.
  const signing = (ref: string) => {
    const open = signs.filter((s) => s.ref === ref && !done(s));
    if (!open.length) return "";
    return open.every(interrupted) ? ", signing in progress when interrupted (not confirmed; a re-run signs what is missing)" : ", NOT SIGNED";
  };
  const published: string[] = [];
  const there: string[] = [];
  const not: string[] = [];
  const unconfirmed: string[] = [];
  for (const s of plan.steps) {
    const r = byId.get(s.id);
    const note = signing;
    if (s.kind === "push" || s.kind === "index") {
      const digest = r?.pushed?.descriptor.digest ?? r?.index?.digest;
      const what = s.kind === "index" ? `${s.ref} (index)` : s.ref;
      if (r?.status === "done" && digest) published.push(`  ${what}  ${digest}${note(s.ref)}`);
      // Its write may have reached the registry before the interrupt: not "not published".
      else if (r?.interrupted && r.status === "failed") unconfirmed.push(`  ${what}`);
      else not.push(`  ${what}`);
    } else if (s.kind === "skip" && s.skips !== "build") there.push(`  ${s.skips === "index" ? `${s.ref} (index)` : s.ref}  ${s.found ?? ""}${note(s.ref)}`);
  }
  return [
    ...(published.length ? ["published by this run:", ...published] : []),
    ...(there.length ? ["already in the registry:", ...there] : []),
    ...(unconfirmed.length ? ["in progress when interrupted (the registry may have it or not; a re-run pushes what is missing):", ...unconfirmed] : []),
    ...(not.length ? ["not published:", ...not] : []),
  ].join("\n");
}
