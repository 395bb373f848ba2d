/** `pkgkit doctor`: the report of recipes/doctor.ts as a table or JSON, and its exit code. */
import type { ParsedOptions } from "./args.ts";
import { ExitCode } from "../errors.ts";
import { doctor, type CheckRow } from "../../recipes/doctor.ts";
import type { Targets } from "../../recipes/packages.ts";
import { signingOptions } from "./sign.ts";

const MARK: Record<CheckRow["status"], string> = { ok: "ok", warn: "warn", missing: "MISSING" };

/** The rows as a table: status, check, what was found; below a row that is not ok, what to do. */
export function formatDoctor(rows: CheckRow[]): string {
  const width = Math.max(...rows.map((r) => r.check.length));
  const lines = rows.flatMap((r) => [
    `${MARK[r.status].padEnd(8)}${r.check.padEnd(width + 2)}${r.found}`,
    ...(r.fix ? [`${" ".repeat(8 + width + 2)}fix: ${r.fix}`] : []),
  ]);
  const count = (s: CheckRow["status"]) => rows.filter((r) => r.status === s).length;
  return [...lines, "", `${count("ok")} ok, ${count("warn")} warning${count("warn") === 1 ? "" : "s"}, ${count("missing")} missing`].join("\n");
}

/** The `doctor` command (its flags, push's that say what a run needs: main.ts): the report, exit 1 when something needed is missing. */
export async function doctorCommand(t: Targets, o: ParsedOptions): Promise<number> {
  const { rows, needs } = await doctor(t, { flags: o, signing: signingOptions(o) });
  if (o.json) console.log(JSON.stringify(rows, null, 2));
  else {
    const what = needs.packages.length ? `for ${needs.packages.join(", ")} (${needs.arches.join(", ")})` : `for this machine (no package here; ${needs.arches.join(", ")})`;
    console.log(`pkgkit doctor ${what}\n\n${formatDoctor(rows)}`);
  }
  return rows.some((r) => r.status === "missing") ? ExitCode.failed : ExitCode.ok;
}
