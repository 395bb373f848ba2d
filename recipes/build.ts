/**
 * Recipe: build packages. Look up what the local engine already has (one query), plan, run.
 * Each piece is exported so a pipeline can stop after planning, edit the plan, or run its own.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archRef, type Package } from "../lib/package.ts";
import { plan, type Plan } from "../lib/plan.ts";
import { run, type Reporter, type Result } from "../lib/run.ts";
import { detectBuilder, type Builder, type LocalImage } from "../lib/builder.ts";
import { defaultShell, type Shell } from "../lib/shell.ts";

export interface BuildOptions {
  shell?: Shell;
  builder?: Builder;
  /** Rebuild images that already exist locally: every package, or those with these ids. */
  force?: boolean | string[];
  reporter?: Reporter;
  scratchDir?: string;
}

/** The read-only look-up step: which `org/image:<tag>-<arch>` images the engine has. */
export async function lookupLocal(packages: Package[], builder: Builder): Promise<Map<string, LocalImage>> {
  return builder.inspect(packages.flatMap((p) => p.arches.map((a) => archRef(p, a))));
}

export async function planBuild(packages: Package[], options: BuildOptions = {}): Promise<{ plan: Plan; builder: Builder; shell: Shell }> {
  const shell = options.shell ?? (await defaultShell());
  const builder = options.builder ?? (await detectBuilder(shell));
  const local = await lookupLocal(packages, builder);
  return {
    plan: plan(packages, {
      command: "build",
      builder,
      local,
      force: options.force,
      scratchDir: options.scratchDir ?? join(tmpdir(), "pkgkit-contexts"),
    }),
    builder,
    shell,
  };
}

export async function buildPackages(packages: Package[], options: BuildOptions = {}): Promise<{ plan: Plan; result: Result }> {
  const { plan: p, builder, shell } = await planBuild(packages, options);
  const result = await run(p, { shell, builder, reporter: options.reporter });
  return { plan: p, result };
}
