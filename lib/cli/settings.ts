/** The settings of a package command, resolved once, and the workspace around its targets. */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { resolveBuildArgFiles, resolveSettings } from "../options.ts";
import { findWorkspace, workspaceDefaults } from "../workspace.ts";
import { targetsDir, type Targets } from "../../recipes/packages.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "../limits.ts";

/** The command's settings, resolved once, with the workspace around its targets (looked for once). */
export async function settingsFor(t: Targets, o: ParsedOptions, what: { builders?: boolean; registry?: boolean } = {}) {
  const workspace = await findWorkspace(targetsDir(t));
  const settings = resolveSettings(o, process.env, { ...what, workspace: workspace && workspaceDefaults(workspace) });
  const buildArgs = resolveBuildArgFiles(o, (f) => readTextLimited(f, MAX_CONFIG_BYTES, "a build arg file (KEY=value lines)", `--build-arg-file ${f}`));
  if (buildArgs) settings.packages.buildArgs = buildArgs;
  return { workspace, settings };
}
