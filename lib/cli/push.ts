/** The plan of `push` and `plan --push`: what to build, push, merge and sign, after the registry look-ups. */
import type { ParsedOptions } from "./args.ts";
import { InputError } from "../errors.ts";
import type { Plan } from "../plan/schema.ts";
import type { PlanMatrix } from "../apply.ts";
import { resolveRelease, type Settings } from "../options.ts";
import { createSession } from "../session.ts";
import { graphOfTargets, resolveRunSet, type Targets } from "../../recipes/packages.ts";
import { planPush, refuseDirty } from "../../recipes/push.ts";
import { signingOptions } from "./sign.ts";
import { settingsFor } from "./settings.ts";
import { noticeLine } from "./registry.ts";
import { buildsAtHead, checkBuildFlags, resolvedWith, withArches } from "./planning.ts";

/** How the command was spelled: `pkgkit pkg <command>` keeps LinuxKit's current defaults (see LINUXKIT_COMMANDS in main.ts). */
export interface Spelling {
  linuxkit: boolean;
}

export async function pushPlanFor(t: Targets, o: ParsedOptions, by?: undefined, how?: Spelling): Promise<Awaited<ReturnType<typeof planPush>> & { settings: Settings }>;
export async function pushPlanFor(t: Targets, o: ParsedOptions, by: "arch", how?: Spelling): Promise<PlanMatrix>;
export async function pushPlanFor(t: Targets, o: ParsedOptions, by?: "arch", how?: Spelling) {
  const release = resolveRelease(o);
  const { mode, attestations } = checkBuildFlags(o, true);
  const { workspace, settings } = await settingsFor(t, o, { builders: true, registry: true });
  buildsAtHead(settings);
  // LinuxKit removed content trust: under its spelling only a configured signer signs.
  const signing = { ...signingOptions(o), ...(how?.linuxkit ? { signByDefault: false as const } : {}) };
  const { packages: all, force } = resolveRunSet(await graphOfTargets(t, settings.packages, workspace), o.force === true);
  const packages = withArches(all);
  refuseDirty(packages, o["allow-dirty"] === true);
  const session = await createSession(settings, { builders: "when-building", registry: true, log: noticeLine });
  const options = {
    ...session,
    registry: session.registry!,
    force,
    release,
    format: o.oci ? "oci" as const : "docker" as const,
    resolved: resolvedWith(t, settings),
    signing,
    ...(mode.manifest ? {} : { manifest: false as const }),
    ...attestations,
  };
  if (by) {
    const { planByArch } = await import("../apply.ts");
    return planByArch(packages, async (pkgs) => nothingToBuild((await planPush(pkgs, options)).plan, mode.nobuild));
  }
  const planned = await planPush(packages, options);
  return { ...planned, plan: nothingToBuild(planned.plan, mode.nobuild), settings };
}

/** `--nobuild`: the plan must build nothing; else refused, naming each image neither the registry nor the engine has. */
function nothingToBuild(plan: Plan, nobuild: boolean): Plan {
  const builds = nobuild ? plan.steps.filter((s) => s.kind === "build") : [];
  if (builds.length)
    throw new InputError(`--nobuild: ${builds.length === 1 ? "this image is neither in the registry nor in its engine, so it" : "these images are neither in the registry nor in their engines, so they"} would be built:\n${builds.map((s) => `  ${s.kind === "build" ? s.ref : s.id}`).join("\n")}\nbuild them first (pkgkit build), or push without --nobuild`);
  return plan;
}
