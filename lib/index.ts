/**
 * pkgkit: build, tag and publish LinuxKit-style packages from a typed `pkg.config.ts`.
 *
 * The SDK's public API. A package file needs `definePackage` (and a workspace root
 * `defineWorkspace`); a script composes the flow: load and resolve packages, `plan()` what a
 * command would do, `run()` the plan through a Builder, a Registry and Signers. Ready-made
 * pipelines (build, push, apply, verify) are in "pkgkit/recipes"; the OCI registry client in full
 * (its types, media types, an in-memory registry for tests) is "pkgkit/registry".
 *
 * @module
 */
import { installEntryHook } from "./cli/entry.ts";

// Package files import this module while the CLI is loading them: it loads none of the CLI, only
// the hook that makes a config file runnable (`npx tsx pkg.config.ts build`).
installEntryHook();

// Declaring packages (pkg.config.ts) and workspaces (pkgkit.config.ts).
export { definePackage } from "./define.ts";
export type { Arch, PackageDefinition, PackageSpecInput } from "./spec.ts";
export { defineWorkspace, type WorkspaceDefinition, type WorkspaceInput } from "./workspace.ts";

// Packages: loaded from their directories, resolved with git into tags and image names.
export { loadPackages } from "./load.ts";
export { resolvePackages, archRef, indexRef, type Package, type ResolveOptions } from "./package.ts";

// Image references: the one typed name (a Package's `ref`), made and read back once, never sliced.
export { imageRef, withArch, formatRef, parseImageRef, type ImageRef } from "./names.ts";

// Plans: what a command will do, as plain data; plan files read back for `apply`, and per-arch
// plan matrices for CI.
export { plan, type PlanOptions } from "./plan/plan.ts";
export { formatPlan } from "./plan/format.ts";
export type { Plan, Step } from "./plan/schema.ts";
export { parsePlanFile, selectPlan, planByArch, type PlanMatrix } from "./apply.ts";

// Running a plan.
export { run, type Result, type StepResult, type Reporter, type RunOptions } from "./run.ts";
// The session: flags, environment and workspace resolved once (precedence: lib/options.ts), and
// the shell, builders and registry client made from them at the edge, as one object run() takes.
export { resolveSettings, type Settings } from "./options.ts";
export { createSession, completeSession, type Session, type SessionParts, type SessionNeeds } from "./session.ts";

// The side effects, behind three interfaces (and the Shell that runs processes).
export { buildxBuilder, legacyBuilder, detectBuilder, type Builder } from "./builder.ts";
export { createRegistry } from "./registry/client.ts";
export type { Registry } from "./registry/types.ts";
export { createSigner } from "./sign/index.ts";
export type { Signer } from "./sign/types.ts";
export type { SignerConfig } from "./sign/schema.ts";
export { defaultShell, directShell, type Shell } from "./shell.ts";

// Errors: each carries the exit code the CLI exits with.
export { PkgkitError, InputError, SpecError, StalePlanError, ExitCode } from "./errors.ts";
