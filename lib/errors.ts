/**
 * Errors pkgkit reports to users. Every error says where (file, field), what was found and what
 * was expected; the CLI prints `message` alone (no stack) and exits with `exitCode`.
 */

/** `text` with the password of every `scheme://user:password@` in it as ***, for messages. */
export const redactUrlPasswords = (text: string) => text.replace(/(:\/\/[^/@:\s,]*):[^@/\s,]*@/g, "$1:***@");

/** Exit codes, as the CLI documents them. */
export const ExitCode = {
  ok: 0,
  /** A step failed while running (build error, engine error). */
  failed: 1,
  /** Bad input: usage, config file, build.yml, flags, a plan file (nothing was started), or what a signer's prepare refused (nothing was published). */
  usage: 2,
  /** `apply`: the plan no longer holds (the registry, an engine or the sources changed). Nothing was started. */
  stale: 3,
} as const;

/** Marks pkgkit's errors across module copies (the bundled CLI and the sources a config imports). */
const BRAND = Symbol.for("pkgkit.error");

/** An error pkgkit reports to users: its message says what and where, `exitCode` is what the CLI exits with (default 1). */
export class PkgkitError extends Error {
  override name = "PkgkitError";
  /** A `pkgkit doctor` check explains it: errorText() ends it with DOCTOR_HINT (set by explainedByDoctor). */
  declare doctor?: true;
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Like `instanceof PkgkitError`, but also true for one thrown by another copy of pkgkit. */
export function isPkgkitError(err: unknown): err is PkgkitError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

/** What an error a `pkgkit doctor` check would explain ends with, as errorText() shows it. */
export const DOCTOR_HINT = "to check everything this run needs, with the same packages and flags: run `pkgkit doctor`";

/**
 * Marks `err` as one a `pkgkit doctor` check explains (an engine, buildx or binfmt missing, a
 * registry unreachable, untrusted or refusing a login, a signer's tool, key or passphrase
 * missing): errorText() then ends it with DOCTOR_HINT. Returns `err`.
 */
export function explainedByDoctor<E extends PkgkitError>(err: E): E {
  err.doctor = true;
  return err;
}

/** An error as pkgkit shows it (the CLI, a failed step's result): its message, then DOCTOR_HINT when a doctor check explains it. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return isPkgkitError(err) && err.doctor ? `${err.message}\n${DOCTOR_HINT}` : err.message;
}

/** Bad input: a config file, a build.yml, a flag or an environment value. */
export class InputError extends PkgkitError {
  override name = "InputError";
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A plan that no longer holds: what it rested on has changed since it was made. Make a new plan. */
export class StalePlanError extends PkgkitError {
  override name = "StalePlanError";
  constructor(message: string) {
    super(message, ExitCode.stale);
  }
}

/** One problem with one field of one package file. */
export interface FieldProblem {
  /** Dotted path of the field, e.g. `arches[1]` or `buildArgs.BASE`. */
  field: string;
  /** The same field as keys, for mapping back to a position in the source. */
  path?: readonly PropertyKey[];
  /** What is wrong and what is expected. */
  message: string;
  /** 1-based line and column, when the source has positions (build.yml). */
  line?: number;
  column?: number;
}

/** A package file (pkg.config.ts or build.yml) failed validation. */
export class SpecError extends InputError {
  override name = "SpecError";
  constructor(
    readonly file: string,
    readonly problems: FieldProblem[],
  ) {
    super(
      problems
        .map((p) => {
          const at = p.line ? `${file}:${p.line}:${p.column ?? 1}` : file;
          return `${at}: ${p.field ? `field "${p.field}"` : "package"}: ${p.message}`;
        })
        .join("\n"),
    );
  }
}
