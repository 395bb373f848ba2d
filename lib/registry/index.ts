/** The OCI registry client: `createRegistry()`, an in-memory one with fault hooks (`createMemoryRegistry()`), and the Registry interface they implement. */
export { createRegistry } from "./client.ts";
export { createMemoryRegistry, type MemoryCall, type MemoryFault, type MemoryRegistry } from "./memory.ts";
export { RegistryError } from "./errors.ts";
export { parseRepository, type RepositoryName } from "./names.ts";
export * from "./types.ts";
