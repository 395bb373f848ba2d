/** The OCI registry client: `createRegistry()` and the Registry interface it implements. */
export { createRegistry } from "./client.ts";
export { RegistryError } from "./errors.ts";
export { parseRepository, type RepositoryName } from "./names.ts";
export * from "./types.ts";
