/** `pkgkit sbom <dir>`: the SBOM of a package's arch image at its current tag. */
import process from "node:process";
import { writeFile } from "node:fs/promises";
import type { OptionSpec, ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import type { Settings } from "../options.ts";
import { ARCHES, type Arch } from "../names.ts";
import type { WorkspaceDefinition } from "../workspace.ts";
import { createSession } from "../session.ts";
import { SBOM_FORMATS, type SbomFormat } from "../attest/sbom.ts";
import { graphOfTargets, type Targets } from "../../recipes/packages.ts";
import { packageSbom } from "../../recipes/sbom.ts";

interface CliParts {
  naming: Record<string, OptionSpec>;
  /** How to reach registries (--registry-ca, --insecure-registry, timeouts, retries). */
  registryFlags: Record<string, OptionSpec>;
  common: Record<string, OptionSpec>;
  /** The command's settings and workspace, as every package command resolves them. */
  settingsFor(t: Targets, o: ParsedOptions, what: { builders?: boolean; registry?: boolean }): Promise<{ workspace?: WorkspaceDefinition; settings: Settings }>;
}

export function sbomCommand(cli: CliParts) {
  const { json: _json, ...naming } = cli.naming;
  return {
    summary: "print the SBOM (SPDX 2.3 or CycloneDX 1.6 JSON) of a package's arch image at its tag, from its engine if there, else from the registry",
    args: "<dir>",
    options: {
      ...naming,
      format: { type: "string" as const, value: "<spdx|cyclonedx>", help: "the document format (default spdx: SPDX 2.3 JSON; cyclonedx: CycloneDX 1.6 JSON); its creation time is the package's SOURCE_DATE_EPOCH, as push attests it (env SOURCE_DATE_EPOCH, else the package's or workspace's sourceDateEpoch, else 0: 1970-01-01)" },
      arch: { type: "string" as const, value: "<arch>", help: "the arch image to describe (default: the engine's arch when the package builds it, else the package's first arch)" },
      output: { type: "string" as const, short: "o", value: "<file>", help: "write the document to this file instead of stdout" },
      oci: { type: "boolean" as const, help: "the engine's image as push --oci exports it (OCI media types), so the digest the document names is the one push --oci gives it" },
      ...cli.registryFlags,
      ...cli.common,
    },
    async run(t: Targets, o: ParsedOptions): Promise<number> {
      if (t.dirs.length > 1) throw new InputError(`sbom takes one package directory, got ${t.dirs.length}: ${t.dirs.join(" ")}`);
      const format = (typeof o.format === "string" ? o.format : "spdx") as SbomFormat;
      if (!SBOM_FORMATS.includes(format)) throw new InputError(`--format ${JSON.stringify(o.format)}: expected ${SBOM_FORMATS.join(" or ")}`);
      const askedArch = typeof o.arch === "string" ? o.arch.replace(/^linux\//, "") : undefined;
      if (askedArch !== undefined && !ARCHES.includes(askedArch as Arch)) throw new InputError(`--arch ${JSON.stringify(o.arch)}: expected one of ${ARCHES.join(", ")}`);
      const { workspace, settings } = await cli.settingsFor(t, o, { builders: true, registry: true });
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
    },
  };
}
