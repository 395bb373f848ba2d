/** `pkgkit sbom <dir>`: the SBOM of a package's arch image at its current tag. */
import process from "node:process";
import { writeFile } from "node:fs/promises";
import type { ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import { ARCHES, type Arch } from "../names.ts";
import { createSession } from "../session.ts";
import { SBOM_FORMATS, type SbomFormat } from "../attest/sbom.ts";
import { graphOfTargets, type Targets } from "../../recipes/packages.ts";
import { packageSbom } from "../../recipes/sbom.ts";
import { settingsFor } from "./settings.ts";

/** The sbom command (its flags: main.ts). */
export async function sbom(t: Targets, o: ParsedOptions): Promise<number> {
  if (t.dirs.length > 1) throw new InputError(`sbom takes one package directory, got ${t.dirs.length}: ${t.dirs.join(" ")}`);
  const format = (typeof o.format === "string" ? o.format : "spdx") as SbomFormat;
  if (!SBOM_FORMATS.includes(format)) throw new InputError(`--format ${JSON.stringify(o.format)}: expected ${SBOM_FORMATS.join(" or ")}`);
  const askedArch = typeof o.arch === "string" ? o.arch.replace(/^linux\//, "") : undefined;
  if (askedArch !== undefined && !ARCHES.includes(askedArch as Arch)) throw new InputError(`--arch ${JSON.stringify(o.arch)}: expected one of ${ARCHES.join(", ")}`);
  const { workspace, settings } = await settingsFor(t, o, { builders: true, registry: true });
  const { roots } = await graphOfTargets(t, settings.packages, workspace);
  if (roots.length !== 1) throw new InputError(`sbom describes one package; ${t.dirs[0] ?? "the workspace"} gives ${roots.length}: ${roots.map((p) => p.dir).join(", ")}; name one package directory`);
  const pkg = roots[0]!;
  const session = await createSession(settings, { builders: "now", registry: true, log: (l) => void process.stderr.write(`${l}\n`) });
  const builderOf = (a: Arch) => session.builders?.[a] ?? session.builder!;
  let arch = askedArch as Arch | undefined;
  if (arch === undefined) {
    const native = (await session.builder!.engineArch()) as Arch | undefined;
    arch = native && pkg.arches.includes(native) ? native : pkg.arches[0];
  }
  if (!arch || !pkg.arches.includes(arch))
    throw new InputError(`--arch ${JSON.stringify(arch ?? "")}: ${pkg.file} builds ${pkg.arches.join(", ") || "no arch"}; expected one of them`);
  const sbom = await packageSbom(pkg, arch, { builder: builderOf(arch), registry: session.registry!, format, manifestFormat: o.oci ? "oci" : "docker", log: (l) => void process.stderr.write(`${l}\n`) });
  const text = `${JSON.stringify(sbom.document, null, 2)}\n`;
  if (typeof o.output === "string") await writeFile(o.output, text);
  else process.stdout.write(text);
  process.stderr.write(`${format === "spdx" ? "SPDX 2.3" : "CycloneDX 1.6"} SBOM of ${sbom.ref}@${sbom.digest} (from the ${sbom.from === "engine" ? "engine" : "registry"})${typeof o.output === "string" ? ` written to ${o.output}` : ""}\n`);
  return ExitCode.ok;
}
