/**
 * Command-line options. Long options take `--name value` or `--name=value` (today's linuxkit, a
 * cobra CLI, spells them so); like the Go flags of older linuxkit releases, `-name=value` and
 * `-name` are accepted too, so `-org=wombat -disable-content-trust` works.
 */
import { InputError } from "../errors.ts";

export interface OptionSpec {
  /**
   * `strings`: repeatable, every value kept in order (`--build-arg-file a --build-arg-file b`).
   * `level`: a boolean that may take a whole number, as linuxkit's `-v N`: bare it is `true`;
   * `-v 2`, `-v=2`, `-v2` and `--verbose=2` give "2".
   */
  type: "string" | "boolean" | "strings" | "level";
  /** For booleans: option names that set it to false. */
  negatedBy?: string[];
  short?: string;
  help: string;
  /** Shown as `--name <value>`. */
  value?: string;
}

export type ParsedOptions = Record<string, string | boolean | string[] | undefined>;

export function parseArgs(argv: string[], specs: Record<string, OptionSpec>, usage: string): { options: ParsedOptions; positionals: string[] } {
  const options: ParsedOptions = {};
  const positionals: string[] = [];
  const byName = new Map<string, { key: string; value?: boolean }>();
  for (const [key, s] of Object.entries(specs)) {
    byName.set(key, { key });
    if (s.short) byName.set(s.short, { key });
    for (const n of s.negatedBy ?? []) byName.set(n, { key, value: false });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    let body = arg.replace(/^--?/, "");
    // `-v2`: a short level option glued to its number.
    const glued = /^([a-zA-Z])(\d+)$/.exec(body);
    if (glued && !byName.has(body) && specs[byName.get(glued[1]!)?.key ?? ""]?.type === "level") body = `${glued[1]}=${glued[2]}`;
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const hit = byName.get(name);
    if (!hit) throw new InputError(`unknown option ${arg.split("=")[0]}\n${usage}`);
    const spec = specs[hit.key]!;
    if (spec.type === "level") {
      const text = eq >= 0 ? body.slice(eq + 1) : /^\d+$/.test(argv[i + 1] ?? "") ? argv[++i]! : undefined;
      if (text !== undefined && !/^\d+$/.test(text)) throw new InputError(`${arg}: expected a whole number, e.g. --${hit.key}=2, or --${hit.key} alone`);
      options[hit.key] = text ?? true;
    } else if (spec.type === "boolean") {
      let value = hit.value ?? true;
      if (eq >= 0) {
        const text = body.slice(eq + 1);
        if (text !== "true" && text !== "false") throw new InputError(`${arg}: expected true or false`);
        value = hit.value === false ? text === "false" : text === "true";
      }
      options[hit.key] = value;
    } else {
      const value = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("-")))
        throw new InputError(`option --${hit.key} needs a value: --${hit.key} ${spec.value ?? "<value>"}`);
      const before = options[hit.key];
      options[hit.key] = spec.type === "strings" ? [...(Array.isArray(before) ? before : []), value] : value;
    }
  }
  return { options, positionals };
}

export function formatOptions(specs: Record<string, OptionSpec>): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const value = s.type === "string" || s.type === "strings" ? ` ${s.value ?? "<value>"}` : s.type === "level" ? `[=${s.value ?? "<n>"}]` : "";
    const names = [s.short ? `-${s.short}, ` : "", `--${k}`, value, ...(s.negatedBy ?? []).map((n) => `, --${n}`)].join("");
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  return rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`).join("\n");
}
