/** RegistryError: a registry operation failed; says which registry, what happened and what to do. */
import { ExitCode, PkgkitError } from "../errors.ts";
import type { RegistryErrorInfo, RegistryErrorKind } from "./types.ts";

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
  }
}
