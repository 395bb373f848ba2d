/**
 * pkgkit: build, tag and publish LinuxKit-style packages from a typed pkg.config.ts.
 * The CLI (`main`) lives in "pkgkit/cli": package files import this module while the CLI is
 * loading them, so it loads none of the CLI, only the hook that makes a config file runnable.
 */
import { installEntryHook } from "./cli/entry.ts";

installEntryHook();

export { definePackage, isPackageDefinition, type PackageDefinition } from "./define.ts";
export {
  packageSpecSchema, parseSpec, platformString, ARCHES, DEFAULT_ARCHES, DEFAULT_ORG, PLATFORMS,
  type Arch, type PackageSpec, type PackageSpecInput,
} from "./spec.ts";
export { loadBuildYml, parseBuildYml, toConfigSource } from "./buildyml.ts";
export { loadPackage, loadPackages, findPackageFile, CONFIG_FILE, BUILD_YML } from "./load.ts";
export { gitStates, type DirState } from "./git.ts";
export { resolvePackages, archRef, indexRef, type Package, type ResolveOptions } from "./package.ts";
export { plan, type PlanOptions } from "./plan/plan.ts";
export { formatPlan } from "./plan/format.ts";
export {
  type Plan, type Step, type BuildStep, type SkipStep, type ContextStep, type Observed, type PlanInputs, type ResolvedWith, type SigningInputs,
} from "./plan/schema.ts";
export {
  parsePlanFile, selectPlan, planByArch, restrictToArch, observedChanges, stepDifferences, matchPackages, type PlanMatrix, type Change,
} from "./apply.ts";
export { run, type Result, type StepResult, type Reporter, type RunOptions } from "./run.ts";
export {
  buildxBuilder, legacyBuilder, detectBuilder, builderFor, parseBuilders,
  type Builder, type ArchBuilders, type Engine, type BuildRequest, type BuildCommand, type LocalImage,
} from "./builder.ts";
export { defaultShell, type Shell, type ExecOptions, type ExecResult } from "./shell.ts";
export { PkgkitError, InputError, SpecError, StalePlanError, ExitCode, type FieldProblem } from "./errors.ts";
// Workspaces and dependencies between packages.
export { resolveGraph, type Dependency, type ResolvedGraph, type WorkspaceDefaults } from "./package.ts";
export type { BuildArgValue } from "./spec.ts";
export { buildGraph, type DefinitionGraph, type GraphNode } from "./graph.ts";
export { formatGraph, graphJson, type GraphJson } from "./package.ts";
export {
  defineWorkspace, isWorkspaceDefinition, findWorkspace, findPackageDirs, selectPackageDirs, WORKSPACE_FILE,
  type WorkspaceDefinition, type WorkspaceInput,
} from "./workspace.ts";
