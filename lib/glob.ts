/**
 * Globs over directory paths, for workspace package lists, directory arguments and LinuxKit's
 * "@lkt:pkgs:<glob>". `*` and `?` stay within one path segment, `[abc]`/`[!abc]` are classes,
 * `{a,b}` alternatives, and a `**` segment matches any number of segments (none included).
 */
import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";

const META = /[*?[{]/;

/** True if `s` has glob syntax (as opposed to a plain path). */
export const isGlob = (s: string) => META.test(s);

/** `pattern` (slash-separated, relative) as a RegExp over slash-separated relative paths. */
export function globToRegExp(pattern: string): RegExp {
  const segments = normalize(pattern).split("/");
  let re = "";
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === "**") re += last ? (i === 0 ? ".*" : "(?:/.*)?") : i === 0 ? "(?:.*/)?" : "(?:/.*)?/";
    else re += (i === 0 || segments[i - 1] === "**" ? "" : "/") + segmentSource(seg);
  });
  return new RegExp(`^${re}$`);
}

function normalize(pattern: string): string {
  return pattern.split(sep).join("/").replace(/^(?:\.\/)+/, "").replace(/\/+$/, "") || ".";
}

function segmentSource(seg: string): string {
  let out = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        const body = seg.slice(i + 1, end).replace(/^[!^]/, "^").replace(/\\/g, "\\\\");
        out += `[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      const end = seg.indexOf("}", i);
      if (end < 0) out += "\\{";
      else {
        out += `(?:${seg.slice(i + 1, end).split(",").map(segmentSource).join("|")})`;
        i = end;
      }
    } else out += c.replace(/[.+^$()|\\\]}]/g, "\\$&");
  }
  return out;
}

/**
 * The directories matching `pattern` (relative to `base`, or absolute), read from the file
 * system, sorted. `..` segments apply before matching and `**` is `*`, as in Go's filepath.Glob.
 */
export function globDirs(base: string, pattern: string): string[] {
  const abs = resolve(base, pattern);
  const segments = abs.split(sep).filter(Boolean);
  let found = [isAbsolute(abs) ? sep : ""];
  for (const seg of segments) {
    if (!isGlob(seg)) {
      found = found.map((d) => join(d, seg));
      continue;
    }
    const re = new RegExp(`^${segmentSource(seg)}$`);
    found = found.flatMap((d) => {
      try {
        return readdirSync(d, { withFileTypes: true })
          .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && re.test(e.name))
          .map((e) => join(d, e.name));
      } catch {
        return [];
      }
    });
  }
  return found.filter((d) => isDirectory(d)).sort();
}

const isDirectory = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
