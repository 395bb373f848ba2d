/**
 * Plans as files, the pure parts: read one back for `pkgkit apply`, compare what it rested on
 * with what is there now, and make one plan per arch for a CI matrix. The look-ups and the run
 * are in recipes/apply.ts.
 *
 * A plan still holds when
 *   1. every package resolves to the tag it had (the sources are the same),
 *   2. every per-arch tag (`<tag>-<arch>`) and every local image looked up gives the answer it gave,
 *      and so does every signature looked up (signed by the package's signer or not), and
 *   3. planning again from what is there now gives the same steps (their reasons aside), sign
 *      steps included: the same signer (`using`), tags and, for what the registry has, digest.
 * Index and release tags are shared: every writer merges into them and keeps the entries of the
 * others (lib/push.ts). A change there (another arch merged meanwhile, say by another group of
 * the same matrix) stops a plan only when it changes a step: an index the plan skipped no longer
 * lists its arches, for instance.
 */
import * as z from "zod/mini";
import { InputError } from "./errors.ts";
import { ARCHES, parseImageRef, type Arch } from "./names.ts";
import { indexRef, type Package } from "./package.ts";
import {
  observedSchema, planInputsSchema, planMatrixSchema, planSchema, resolvedWithSchema, STEP_KINDS,
  type Observed, type Plan, type PlanMatrix, type Step,
} from "./plan/schema.ts";

export type { PlanMatrix };

/** The packages that build `arch`, each with only that arch. */
export function restrictToArch(packages: Package[], arch: Arch): Package[] {
  return packages.filter((p) => p.arches.includes(arch)).map((p) => ({ ...p, arches: [arch] }));
}

/**
 * One plan per arch any package builds, in ARCHES order. `planOne` plans the packages restricted
 * to that arch: dependencies are per arch, so the groups are independent and can run anywhere,
 * in any order or at once (each run has a scratch directory of its own).
 */
export async function planByArch(packages: Package[], planOne: (packages: Package[], arch: Arch) => Promise<Plan>): Promise<PlanMatrix> {
  const arches = ARCHES.filter((a) => packages.some((p) => p.arches.includes(a)));
  const groups = await Promise.all(arches.map(async (arch) => ({ arch, plan: await planOne(restrictToArch(packages, arch), arch) })));
  return { version: 1, kind: "matrix", by: "arch", groups };
}

/**
 * A plan file: the plan's schema, with what a file must hold besides (the look-ups and how its
 * packages were resolved, which `apply` makes again), and loose where a field pkgkit does not
 * write (an edited path, say) must be kept, so that `apply` finds it when it compares the file
 * with its own plan (recipes/apply.ts). Steps are checked for their kind, id and needs only:
 * `apply` compares each one, field by field, with the plan it makes again from the sources, so a
 * step pkgkit would not plan never runs, and the refusal names the step and the fields that differ.
 */
const planFileSchema = z.extend(planSchema, {
  steps: z.array(z.looseObject({ kind: z.enum(STEP_KINDS), id: z.string(), needs: z.array(z.string()) })),
  observed: z.object(observedSchema.shape, {
    error: (i) => (i.input === undefined ? "missing: this plan does not record the look-ups it rests on; make it with `pkgkit plan --json`" : undefined),
  }),
  inputs: z.looseObject({
    ...planInputsSchema.shape,
    resolved: z.object(resolvedWithSchema.shape, {
      error: (i) => (i.input === undefined ? "missing: this plan does not record how its packages were resolved; make it with `pkgkit plan --json`" : undefined),
    }),
  }),
});
/** A matrix file: each group's plan is read as a plan file of its own (errors name `groups[<n>].plan.<field>`). */
const matrixFileSchema = z.extend(planMatrixSchema, {
  groups: z.array(z.extend(planMatrixSchema.shape.groups.def.element, { plan: z.unknown() })).check(z.minLength(1)),
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const fieldOf = (path: readonly PropertyKey[]) => path.map((k, i) => (typeof k === "number" ? `[${k}]` : `${i ? "." : ""}${String(k)}`)).join("");

function validate<T>(schema: z.ZodMiniType<T>, raw: unknown, file: string, prefix = ""): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.slice(0, 8).map((i) => `${file}: field "${prefix}${fieldOf(i.path)}": ${i.message}`);
  const more = r.error.issues.length > 8 ? `\n(and ${r.error.issues.length - 8} more)` : "";
  throw new InputError(`${problems.join("\n")}${more}\n${file} is not a plan this pkgkit can apply; make one with \`pkgkit plan --json\``);
}

const MAX_PLAN_DEPTH = 32;

/** Whether arrays and objects in `value` nest deeper than `limit`: walked without recursion. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Parse a plan file (or a matrix of them) as `pkgkit plan --json` writes it. Throws InputError naming `file` and the field. */
export function parsePlanFile(text: string, file: string): Plan | PlanMatrix {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not a pkgkit plan: not JSON (${(e as Error).message}); expected what \`pkgkit plan --json\` prints`);
  }
  // Plans nest a few levels; deeper input would overflow the recursive comparisons later on.
  if (nestedDeeperThan(raw, MAX_PLAN_DEPTH))
    throw new InputError(`${file}: not a pkgkit plan: nested more than ${MAX_PLAN_DEPTH} levels deep; expected what \`pkgkit plan --json\` prints`);
  if (!isObject(raw) || !("version" in raw) || !(Array.isArray(raw.steps) || raw.kind === "matrix"))
    throw new InputError(`${file}: not a pkgkit plan: expected the JSON object \`pkgkit plan --json\` prints, with "version", "command", "packages" and "steps"`);
  if (raw.version !== 1)
    throw new InputError(`${file}: field "version": ${JSON.stringify(raw.version)}: this pkgkit reads plan version 1; make the plan again with this version of pkgkit`);
  if (raw.kind !== "matrix") return validatePlan(raw, file);
  const matrix = validate(matrixFileSchema, raw, file);
  return { ...matrix, groups: matrix.groups.map((g, i) => ({ arch: g.arch, plan: validatePlan(g.plan, file, `groups[${i}].plan.`) })) };
}

/** Its steps are what the file says, checked by the comparison with a new plan (see planFileSchema). */
const validatePlan = (raw: unknown, file: string, prefix = "") => validate(planFileSchema, raw, file, prefix) as Plan;

/** The plan to apply: the file's plan, or with `arch`, that group of a matrix. */
export function selectPlan(parsed: Plan | PlanMatrix, file: string, arch?: string): Plan {
  if (!("kind" in parsed)) {
    if (arch !== undefined) throw new InputError(`--arch ${arch}: ${file} is a single plan, not a matrix (\`pkgkit plan --json --by arch\`); apply it without --arch`);
    return parsed;
  }
  const arches = parsed.groups.map((g) => g.arch);
  if (arch === undefined)
    throw new InputError(
      `${file} is a plan matrix, one plan per arch (${arches.join(", ")}); apply one group: \`pkgkit apply --arch ${arches[0]} ${file}\`, ` +
        `or extract it first: jq '.groups[] | select(.arch == "${arches[0]}") | .plan' ${file}`,
    );
  const group = parsed.groups.find((g) => g.arch === arch);
  if (!group) throw new InputError(`--arch ${arch}: ${file} has no group for it; its groups: ${arches.join(", ")}`);
  return group.plan;
}

/** A look-up whose answer changed since the plan was made. */
export interface Change {
  /**
   * `signatures`, `attestations`: `ref` is `<ref>@<digest>`, the answers the signer that signed it
   * or whose attestations of it verify (null: not signed, attestations missing or not verifying).
   */
  where: "registry" | "local" | "signatures" | "attestations";
  ref: string;
  planned: string | null;
  now: string | null;
  /** An index or release tag: merged into by every writer (see the top of this file). */
  shared: boolean;
}

/** The look-ups made both when planning and now whose answers differ. */
export function observedChanges(planned: Plan, now: Observed): Change[] {
  const shared = new Set(planned.packages.flatMap((p) => [p.name, ...(planned.inputs?.release ? [`${parseImageRef(p.name).repository}:${planned.inputs.release}`] : [])]));
  const changes: Change[] = [];
  for (const where of ["registry", "local", "signatures", "attestations"] as const) {
    const after = now[where] ?? {};
    for (const [ref, was] of Object.entries(planned.observed?.[where] ?? {}))
      if (Object.hasOwn(after, ref) && after[ref] !== was) changes.push({ where, ref, planned: was, now: after[ref]!, shared: where === "registry" && shared.has(ref) });
  }
  return changes;
}

/** How the plan's inputs differ from those pkgkit records now, field by field (`inputs.<field>`). */
export function inputDifferences(planned: Plan["inputs"], now: Plan["inputs"]): string[] {
  return fieldDifferences(planned ?? {}, now ?? {}, "inputs").map((d) => `${d.field}: ${d.text}`);
}

/** Leaf fields that differ: in the plan only, now only, or with another value (values shown trimmed). */
function fieldDifferences(a: unknown, b: unknown, at: string): { field: string; text: string }[] {
  if (canonical(a) === canonical(b)) return [];
  const both = (isObject(a) && isObject(b)) || (Array.isArray(a) && Array.isArray(b));
  if (!both) {
    const show = (v: unknown) => trim(canonical(v));
    const text = a === undefined ? `not in the plan, planned now (${show(b)})` : b === undefined ? `in the plan (${show(a)}), not planned now` : `${show(a)} in the plan, ${show(b)} now`;
    return [{ field: at, text }];
  }
  const keys = Array.isArray(a) ? [...Array(Math.max(a.length, (b as unknown[]).length)).keys()] : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])];
  return keys.flatMap((k) => fieldDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], typeof k === "number" ? `${at}[${k}]` : `${at}.${k}`));
}

const trim = (s: string) => (s.length > 80 ? `${s.slice(0, 77)}...` : s);

/** How `now` differs from the planned steps, reasons aside (they hold counts and wording, not decisions). */
export function stepDifferences(planned: Step[], now: Step[]): string[] {
  const strip = ({ reason: _, ...rest }: Step) => rest as Record<string, unknown>;
  const nowById = new Map(now.map((s) => [s.id, s]));
  const plannedIds = new Set(planned.map((s) => s.id));
  const out: string[] = [];
  const times = new Map<string, number>();
  for (const s of planned) times.set(s.id, (times.get(s.id) ?? 0) + 1);
  for (const [id, n] of times) if (n > 1) out.push(`${id}: in the plan ${n} times, planned once now`);
  for (const s of planned) {
    const n = nowById.get(s.id);
    if (!n) out.push(`${s.id}: in the plan (${s.kind}), not planned now`);
    else if (n.kind !== s.kind) out.push(`${s.id}: ${describe(s)} in the plan, ${describe(n)} now`);
    else {
      const a = strip(s);
      const b = strip(n);
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => canonical(a[k]) !== canonical(b[k]));
      if (keys.length) out.push(`${s.id}: ${s.kind} step differs in ${keys.join(", ")}`);
    }
  }
  for (const n of now) if (!plannedIds.has(n.id)) out.push(`${n.id}: planned now (${describe(n)}), not in the plan`);
  return out;
}

/**
 * Packages whose sign steps name another signer now (`using`: the signer's description, which
 * names a key by its fingerprint, so a key swapped at the same path shows here), one line each:
 * `<package>: signed with <planned> in the plan, with <now> now`.
 */
export function signerChanges(planned: Step[], now: Step[]): string[] {
  const using = (steps: Step[]) => new Map(steps.flatMap((s) => (s.kind === "sign" ? [[s.package, s.using] as const] : [])));
  const after = using(now);
  return [...using(planned)].flatMap(([pkg, was]) => {
    const is = after.get(pkg);
    return is !== undefined && is !== was ? [`${pkg}: signed with ${was} in the plan, with ${is} now`] : [];
  });
}

const describe = (s: Step) => (s.kind === "skip" ? `skip (${s.reason})` : s.kind === "sign" ? `sign${s.action === "prepare" ? " prepare" : ""} with ${s.using}` : s.kind);

/** JSON with sorted keys: equal for equal data however it was built or read. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v)) return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/**
 * The planned packages among `resolved` (matched by directory and repository), each restricted to
 * its planned arches, in plan order; and each one whose sources no longer give the planned tag.
 */
export function matchPackages(planned: Plan, resolved: Package[]): { packages: Package[]; changed: string[] } {
  const packages: Package[] = [];
  const changed: string[] = [];
  for (const want of planned.packages) {
    const here = resolved.filter((p) => p.dir === want.dir);
    const { repository } = parseImageRef(want.name);
    const p = here.find((r) => r.repository === repository);
    const missing = want.arches.filter((a) => !p?.arches.includes(a));
    if (!p) changed.push(`${want.dir}: planned ${want.name}; the directory now holds ${here.map(indexRef).join(", ") || "no such package"}`);
    else if (p.tag !== want.tag) changed.push(`${want.dir}: planned ${want.name}, now ${indexRef(p)}`);
    else if (missing.length) changed.push(`${want.dir}: planned ${want.name} for ${missing.join(", ")}, which it no longer builds (arches: ${p.arches.join(", ")})`);
    else packages.push(atCommit({ ...p, arches: want.arches }, want));
  }
  return { packages, changed };
}

const REVISION = "org.opencontainers.image.revision";

/**
 * Commits that leave a package's tag alone (elsewhere in the repository) move HEAD, which builds
 * record in their revision label and the REVISION and GOPKGVERSION build args: the plan's commit
 * names the same sources, so it stays.
 */
function atCommit(p: Package, { commit, goPkgVersion }: Plan["packages"][number]): Package {
  if (!commit || p.commit === commit || p.labels[REVISION] !== p.commit) return p;
  const info = { ...p.buildInfo };
  if (info.REVISION) info.REVISION = commit;
  if (info.GOPKGVERSION && goPkgVersion) info.GOPKGVERSION = goPkgVersion;
  return { ...p, commit, labels: { ...p.labels, [REVISION]: commit }, buildInfo: info };
}

const state = (c: Change, answer: string | null) =>
  c.where === "signatures" ? (answer ? `signed (${answer})` : "not signed")
  : c.where === "attestations" ? (answer ? `attested (${answer})` : "attestations missing or not verifying")
  : (answer ?? "not there");
const WHERE = { registry: "registry", local: "engine", signatures: "signature", attestations: "attestations" } as const;

/** Why a plan no longer holds, with what to do. */
export function formatStale(file: string, changes: Change[], differences: string[]): string {
  const lines = changes.length
    ? [`${file}: the registry${changes.some((c) => c.where === "attestations") ? ", an engine, a signature or an attestation" : changes.some((c) => c.where === "signatures") ? ", an engine or a signature" : " or an engine"} changed since this plan was made; nothing was done.`]
    : [
        `${file}: its steps are not what pkgkit plans now, although the registry and the engines are as the plan saw them ` +
          "(was it edited by hand, or made by another version of pkgkit?); nothing was done.",
      ];
  for (const c of changes)
    lines.push(`  ${c.ref} (${WHERE[c.where]}): planned ${state(c, c.planned)}, now ${state(c, c.now)}${c.shared ? " (an index or release tag)" : ""}`);
  if (differences.length && changes.every((c) => c.shared)) lines.push(...(changes.length ? ["so the plan would now be different:"] : []), ...differences.map((d) => `  ${d}`));
  lines.push("Make a new plan and apply that.");
  return lines.join("\n");
}

export function formatSignersChanged(file: string, changed: string[]): string {
  return [`${file}: the signer changed since this plan was made (another key, server or identity); nothing was done.`, ...changed.map((c) => `  ${c}`), "Make a new plan and apply that."].join("\n");
}

export function formatSourcesChanged(file: string, changed: string[]): string {
  return [`${file}: the sources changed since this plan was made; nothing was done.`, ...changed.map((c) => `  ${c}`), "Make a new plan and apply that."].join("\n");
}
