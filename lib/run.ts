/**
 * run(): executes a Plan, exactly its steps, in order. Progress goes to a Reporter; the Result
 * records what each step did and when, for `--json` and for tests.
 */
import { cp, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { PkgkitError } from "./errors.ts";
import type { Plan, Step } from "./plan.ts";
import type { Builder, LocalImage } from "./builder.ts";
import type { Shell } from "./shell.ts";

export interface StepResult {
  id: string;
  kind: Step["kind"];
  status: "done" | "skipped" | "failed";
  ref?: string;
  startedAt: string;
  durationMs: number;
  /** For builds: the image as the engine reports it afterwards. */
  image?: LocalImage;
  error?: string;
}

export interface Result {
  ok: boolean;
  steps: StepResult[];
}

export interface Reporter {
  stepStart(step: Step): void;
  stepOutput(step: Step, line: string): void;
  stepEnd(step: Step, result: StepResult): void;
}

export interface RunOptions {
  shell: Shell;
  builder: Builder;
  reporter?: Reporter;
}

export async function run(p: Plan, options: RunOptions): Promise<Result> {
  try {
    return await runSteps(p, options);
  } finally {
    // Assembled contexts are scratch space: gone once the run ends, however it ends.
    for (const step of p.steps) if (step.kind === "context") await rm(step.context, { recursive: true, force: true });
  }
}

async function runSteps(p: Plan, options: RunOptions): Promise<Result> {
  const results: StepResult[] = [];
  for (const step of p.steps) {
    const started = Date.now();
    options.reporter?.stepStart(step);
    const base = { id: step.id, kind: step.kind, ref: "ref" in step ? step.ref : undefined, startedAt: new Date(started).toISOString() };
    let result: StepResult;
    try {
      const image = await runStep(step, options);
      result = { ...base, status: step.kind === "skip" ? "skipped" : "done", durationMs: Date.now() - started, ...(image ? { image } : {}) };
    } catch (err) {
      result = { ...base, status: "failed", durationMs: Date.now() - started, error: (err as Error).message };
    }
    results.push(result);
    options.reporter?.stepEnd(step, result);
    if (result.status === "failed") return { ok: false, steps: results };
  }
  return { ok: true, steps: results };
}

async function runStep(step: Step, { shell, builder, reporter }: RunOptions): Promise<LocalImage | undefined> {
  switch (step.kind) {
    case "skip":
      return undefined;
    case "context": {
      await rm(step.context, { recursive: true, force: true });
      for (const s of step.sources) {
        const dst = join(step.context, s.dst);
        await mkdir(dst, { recursive: true });
        await cp(s.src, dst, { recursive: true, filter: (src) => !src.endsWith("/.git") });
      }
      return undefined;
    }
    case "build": {
      const tail: string[] = [];
      const r = await shell.exec(step.command.argv, {
        env: step.command.env,
        onLine: (line) => {
          tail.push(line);
          if (tail.length > 25) tail.shift();
          reporter?.stepOutput(step, line);
        },
      });
      if (r.code !== 0)
        throw new PkgkitError(`build of ${step.ref} (${step.platform}) failed with exit code ${r.code}:\n${tail.map((l) => `  | ${l}`).join("\n")}`);
      const image = (await builder.inspect([step.ref])).get(step.ref);
      if (!image) throw new PkgkitError(`build of ${step.ref} reported success, but the engine has no image ${step.ref}`);
      const built = [image.os, image.architecture, image.variant].filter(Boolean).join("/");
      // The legacy builder can silently produce the host's platform (see legacyBuilder).
      if (!step.platform.startsWith(`${image.os}/${image.architecture}`))
        throw new PkgkitError(`build of ${step.ref} produced a ${built} image, expected ${step.platform}`);
      return image;
    }
  }
}
