/** RegistryError: a registry operation failed; says which registry, what happened and what to do. */
import { ExitCode, explainedByDoctor, PkgkitError } from "../errors.ts";

/** What kind of failure a RegistryError is, for code that treats them differently. */
export type RegistryErrorKind = "auth" | "forbidden" | "not-found" | "unreachable" | "tls" | "server" | "protocol";

/** The failures a `pkgkit doctor` registry check explains. */
const DOCTOR_KINDS = new Set<RegistryErrorKind>(["unreachable", "tls", "auth"]);

/** Registry failures carry a kind, the registry host and (for HTTP errors) the status. */
export interface RegistryErrorInfo {
  kind: RegistryErrorKind;
  registry: string;
  status?: number;
}

/** A registry operation failed: its message names the registry, what happened and what to do; `kind` and `status` say it for code. */
export class RegistryError extends PkgkitError implements RegistryErrorInfo {
  override name = "RegistryError";
  readonly kind: RegistryErrorKind;
  readonly registry: string;
  declare readonly status?: number;
  constructor(info: RegistryErrorInfo, message: string) {
    super(message, ExitCode.failed);
    this.kind = info.kind;
    this.registry = info.registry;
    if (info.status !== undefined) this.status = info.status;
    // `pkgkit doctor` checks each registry's reachability, TLS trust and login.
    if (DOCTOR_KINDS.has(info.kind)) explainedByDoctor(this);
  }
}
