/** Plans for people: one line per step, then the look-ups the decisions rest on. */
import type { AttestStep, Plan, SignStep, Step } from "./schema.ts";
import { predicateName } from "../attest/statement.ts";

/** Human-readable plan, one line per step. */
export function formatPlan(p: Plan): string {
  const count = (k: Step["kind"]) => p.steps.filter((s) => s.kind === k).length;
  const signs = p.steps.filter((s) => s.kind === "sign" && s.action === "sign").length;
  const attests = count("attest");
  const counts = [`${count("build")} to build`, ...(p.command === "push" ? [`${count("push")} to push`, `${count("index")} index(es) to write`, ...(signs ? [`${signs} to sign`] : []), ...(attests ? [`${attests} to attest`] : [])] : []), `${count("skip")} to skip`];
  const lines = [`plan: ${p.command} (${counts.join(", ")})`];
  for (const s of p.steps) {
    if (s.kind === "build") {
      lines.push(`  build  ${s.ref}  [${s.platform}, ${s.builder}${s.driver ? ` (${s.driver} driver${s.driver === "docker" ? "" : ", loaded into the local engine"})` : ""}]  ${s.reason}`);
      lines.push(`         $ ${[...Object.entries(s.command.env ?? {}).map(([k, v]) => `${k}=${v}`), ...s.command.argv].map(quoteForDisplay).join(" ")}   # in ${s.context === "package" ? s.dir : "its assembled context"}`);
    } else if (s.kind === "skip") lines.push(`  skip   ${s.ref}  ${s.reason}${s.found ? ` (${s.found.slice(0, 19)})` : ""}`);
    else if (s.kind === "push") lines.push(`  push   ${s.ref}  [${s.platform}, ${s.format} manifest, from ${s.builder}]  ${s.reason}`);
    else if (s.kind === "index")
      lines.push(`  index  ${s.ref}${s.release ? ` (+ ${s.repository}:${s.release})` : ""}  ${s.arches.map((a) => a.arch).join(", ")}: ${s.reason}`);
    else if (s.kind === "sign") lines.push(formatSignStep(s));
    else if (s.kind === "attest") lines.push(formatAttestStep(s));
    else if (s.kind === "tag")
      lines.push(`  ${s.from ? `copy   ${s.ref}  [from ${s.from} to ${s.builder}]` : `tag    ${s.ref}  [${s.builder}]`}${s.alias ? `  also as ${s.alias}` : ""}  ${s.reason}`);
    else
      lines.push(
        `  context ${s.package}  ${s.reason}`,
        ...s.sources.map((c) => `         ${c.src} → ${c.dst === "." ? "./" : `./${c.dst}`}`),
        ...(s.images?.emptyDir !== undefined ? [`         (emptied) ./${s.images.emptyDir}`] : []),
        ...(s.images?.archives ?? []).map((a) => `         ${a.refs.join(" ")} → ./${a.dst}`),
      );
  }
  if (p.command === "push" && p.inputs?.manifest === false) lines.push("  (no index: --manifest=false pushes the per-arch images only)");
  if (p.command === "push" && p.inputs?.signing?.signByDefault === false)
    lines.push(`  (${signs ? "signing only packages with a signer configured" : "nothing signed: no signer configured"}: LinuxKit's default under \`pkgkit pkg\`; --signer, --key or --keyless, a package's or workspace's signer, or pkgkit.yml signs)`);
  const state = (where: string, seen: Record<string, string | null>) =>
    Object.entries(seen).map(([ref, found]) => `  ${where}  ${ref}  ${found ?? "not found"}`);
  const signatures = Object.entries(p.observed?.signatures ?? {}).map(([ref, by]) => `  signature  ${ref}  ${by ? `signed (${by})` : "not signed"}`);
  const attestations = Object.entries(p.observed?.attestations ?? {}).map(([ref, by]) => `  attestations  ${ref}  ${by ? `verify (${by})` : "missing or not verifying"}`);
  const observed = [...state("registry", p.observed?.registry ?? {}), ...state("engine  ", { ...p.observed?.local, ...p.observed?.plain }), ...state("local engine", p.observed?.localEngine ?? {}), ...signatures, ...attestations];
  if (observed.length) lines.push("looked up (what these decisions rest on):", ...observed);
  return lines.join("\n");
}

/** Quote for display only: plans are executed from argv arrays, never from this text. */
function quoteForDisplay(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;
}

/** The plan's line for an attest step. */
function formatAttestStep(s: AttestStep): string {
  return `  attest ${s.ref}@${s.digest ?? "<digest of the push>"} (${s.predicateTypes.map(predicateName).join(", ")}) with ${s.signer}  ${s.reason}`;
}

/** The plan's line for a sign step. */
function formatSignStep(s: SignStep): string {
  if (s.action === "prepare") return `  sign   prepare ${s.using} for ${s.repository}  ${s.reason}`;
  const digest = s.digest ?? `<digest of ${s.after?.endsWith("/index") ? "the merged index" : "the push"}>`;
  return `  sign   ${s.ref}@${digest} with ${s.signer}${s.tags.length > 1 ? ` (tags ${s.tags.join(", ")})` : ""}  ${s.reason}`;
}
