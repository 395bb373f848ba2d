/**
 * Command-line options. Long options take `--name value` or `--name=value`; like LinuxKit's Go
 * flags, `-name=value` and `-name` are accepted too, so `-org=wombat -disable-content-trust` works.
 */
import { InputError } from "../errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  /** For booleans: option names that set it to false. */
  negatedBy?: string[];
  short?: string;
  help: string;
  /** Shown as `--name <value>`. */
  value?: string;
}

export type ParsedOptions = Record<string, string | boolean | undefined>;

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
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const hit = byName.get(name);
    if (!hit) throw new InputError(`unknown option ${arg.split("=")[0]}\n${usage}`);
    const spec = specs[hit.key]!;
    if (spec.type === "boolean") {
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
      options[hit.key] = value;
    }
  }
  return { options, positionals };
}

export function formatOptions(specs: Record<string, OptionSpec>): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const names = [s.short ? `-${s.short}, ` : "", `--${k}`, s.type === "string" ? ` ${s.value ?? "<value>"}` : "", ...(s.negatedBy ?? []).map((n) => `, --${n}`)].join("");
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  return rows.map(([n, h]) => `  ${n.padEnd(width)}${h}`).join("\n");
}
