/** Recipe: progress and summaries on a terminal or in CI logs (stderr), results on stdout. */
import process from "node:process";
import type { Reporter, Result, StepResult } from "../lib/run.ts";
import type { Step } from "../lib/plan.ts";

export interface ConsoleReporterOptions {
  /** Print every line of build output, prefixed. */
  verbose?: boolean;
  /** Seconds between "still building" lines. */
  heartbeat?: number;
  write?: (line: string) => void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
/** `[org/image arch]`: the package name without its (long) tag. */
const label = (s: Step) => {
  const name = s.package.slice(0, s.package.lastIndexOf(":"));
  return "arch" in s ? `[${name} ${s.arch}]` : `[${name}]`;
};

export function consoleReporter(options: ConsoleReporterOptions = {}): Reporter {
  const write = options.write ?? ((l: string) => process.stderr.write(`${l}\n`));
  const timers = new Map<string, ReturnType<typeof setInterval>>();
  const started = new Map<string, number>();
  return {
    stepStart(step) {
      started.set(step.id, Date.now());
      if (step.kind === "build") {
        write(`${label(step)} building ${step.ref} (${step.platform}, ${step.builder})`);
        const t = setInterval(() => write(`${label(step)} still building, ${seconds(Date.now() - started.get(step.id)!)}`), (options.heartbeat ?? 10) * 1000);
        (t as { unref?: () => void }).unref?.();
        timers.set(step.id, t);
      } else if (step.kind === "context") write(`${label(step)} assembling build context with extra sources`);
      else if (step.kind === "push") write(`${label(step)} pushing ${step.ref}`);
      else if (step.kind === "index") write(`${label(step)} merging ${step.arches.map((a) => a.arch).join(", ")} into ${step.ref}`);
    },
    stepOutput(step, line) {
      // Index merges report only notable events (another writer, dropped entries): always shown.
      if (options.verbose || step.kind === "index") write(`${label(step)} ${line}`);
    },
    stepEnd(step, r) {
      clearInterval(timers.get(step.id));
      if (step.kind === "skip") write(`${label(step)} skip ${step.ref}: ${step.reason}`);
      else if (r.status === "failed") write(`${label(step)} FAILED after ${seconds(r.durationMs)}\n${r.error}`);
      else if (step.kind === "build") write(`${label(step)} built ${step.ref} in ${seconds(r.durationMs)} (${r.image?.id.slice(0, 19)})`);
      else if (step.kind === "push" && r.pushed) {
        const b = r.pushed.blobs;
        write(`${label(step)} pushed ${step.ref}@${r.pushed.descriptor.digest} in ${seconds(r.durationMs)} (blobs: ${b.uploaded} uploaded, ${b.mounted} mounted, ${b.exists} already there)`);
      } else if (step.kind === "index" && r.index) {
        const arches = r.index.manifests.filter((d) => d.platform && d.platform.os !== "unknown").map((d) => [d.platform!.architecture, d.platform!.variant].filter(Boolean).join("/"));
        write(`${label(step)} ${r.index.written ? "wrote" : "unchanged:"} ${step.ref}@${r.index.digest} (${arches.join(", ")})${step.release ? `, also ${step.repository}:${step.release}` : ""}`);
      }
    },
  };
}

export function summarize(result: Result): string {
  const count = (s: StepResult["status"], kind?: StepResult["kind"]) =>
    result.steps.filter((r) => r.status === s && r.kind !== "context" && (!kind || r.kind === kind)).length;
  const pushing = result.command === "push";
  return [
    `${count("done", "build")} built`,
    ...(pushing ? [`${count("done", "push")} pushed`, `${count("done", "index")} index(es) merged`] : []),
    `${count("skipped")} skipped`,
    `${count("failed")} failed`,
  ].join(", ");
}
