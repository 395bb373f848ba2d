/** `pkgkit plan`: what build (or push, with --push) would do, printed or as JSON; with --by arch, one plan per arch. */
import type { ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import { formatPlan } from "../plan/format.ts";
import type { Targets } from "../../recipes/packages.ts";
import { planFor, printPlan } from "./planning.ts";

export async function planCommand(t: Targets, o: ParsedOptions): Promise<number> {
  // A push plan's look-ups and signers load only with --push.
  const pushPlanFor = async () => (await import("./push.ts")).pushPlanFor;
  if (o.by === undefined) return printPlan((o.push ? await (await pushPlanFor())(t, o) : await planFor(t, o)).plan, o);
  if (o.by !== "arch") throw new InputError(`--by ${JSON.stringify(o.by)}: expected arch`);
  // Groups merge into the index at once; each would point the release tag at the index as it saw it.
  if (typeof o.release === "string")
    throw new InputError(`--release with --by arch: the groups would race to point ${o.release} at the index; once every group has run, \`pkgkit push --release ${o.release}\` points it (everything else exists by then)`);
  const matrix = o.push ? await (await pushPlanFor())(t, o, "arch") : await planFor(t, o, "arch");
  console.log(o.json ? JSON.stringify(matrix, null, 2) : matrix.groups.map((g) => `group ${g.arch}:\n${formatPlan(g.plan)}`).join("\n\n"));
  return ExitCode.ok;
}
