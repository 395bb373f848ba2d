/**
 * pkgkit/registry: the OCI registry client pkgkit pushes with, on its own.
 *
 * `createRegistry()` speaks the OCI distribution API (Docker credentials, certs.d CAs, bounded
 * retries and timeouts); `createMemoryRegistry()` implements the same `Registry` interface in
 * memory, with fault hooks, for tests of code that talks to a registry.
 *
 * @module
 */
export { createRegistry } from "./client.ts";
export { createMemoryRegistry, type MemoryCall, type MemoryFault, type MemoryRegistry } from "./memory.ts";
export { RegistryError, type RegistryErrorKind } from "./errors.ts";
export {
  MediaTypes,
  type Blob, type Descriptor, type Manifest, type Platform, type Registry, type RegistryOptions, type UploadOutcome,
} from "./types.ts";
