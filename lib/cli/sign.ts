/** The signing flags of `push` and `plan --push`, and the `verify` command (its `--rebuild`: lib/cli/rebuild.ts). */
import process from "node:process";
import type { OptionSpec, ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import type { Package } from "../package.ts";
import type { Registry } from "../registry/types.ts";
import { verifyPackages, type SigningOptions } from "../../recipes/sign.ts";
import { SIGNER_NAMES, type SignerName } from "../sign/config.ts";
import { checkPemFile } from "../pemfile.ts";
import type { Settings } from "../options.ts";

export const signingFlags: Record<string, OptionSpec> = {
  signer: { type: "string", value: "<notary|sigstore>", help: "sign with this signer (overrides the package and pkgkit.yml; default notary)" },
  key: { type: "string", value: "<pem>", help: "sigstore: sign with this ECDSA P-256 private key (password, if encrypted, in $COSIGN_PASSWORD); verify: or a public key" },
  keyless: { type: "boolean", help: "sigstore: sign keylessly (Fulcio certificate for $SIGSTORE_ID_TOKEN or the CI's OIDC token)" },
};

/** The signing flags; `--key` names a PEM private key (for verify, `keyKind` "key": or a public one), checked now. */
export function signingOptions(o: ParsedOptions, keyKind: "private key" | "key" = "private key"): SigningOptions {
  const signer = o.signer;
  if (signer !== undefined && !SIGNER_NAMES.includes(signer as SignerName))
    throw new InputError(`--signer ${JSON.stringify(signer)}: expected ${SIGNER_NAMES.join(" or ")}`);
  if (typeof o.key === "string") checkPemFile(o.key, keyKind, `--key ${JSON.stringify(o.key)}`);
  return {
    ...(typeof signer === "string" ? { signer: signer as SignerName } : {}),
    ...(typeof o.key === "string" ? { key: o.key } : {}),
    ...(o.keyless === true ? { keyless: true } : {}),
  };
}

interface CliParts {
  /** What the package commands take: directories, globs, or none (the workspace's packages). */
  args: string;
  naming: Record<string, OptionSpec>;
  /** How to reach registries (--registry-ca, --insecure-registry, timeouts, retries). */
  registryFlags: Record<string, OptionSpec>;
  common: Record<string, OptionSpec>;
  /** The packages the arguments name, the registry client the flags ask for, and the settings (builders too with --rebuild). */
  packagesAndRegistry(t: { dirs: string[] }, o: ParsedOptions): Promise<{ packages: Package[]; registry: Registry; settings: Settings }>;
}

/** `verify --rebuild` and what the rebuild takes (see lib/cli/rebuild.ts). */
const rebuildFlags: Record<string, OptionSpec> = {
  rebuild: { type: "boolean", help: "instead of signatures: rebuild each arch's image without cache and say whether it is the registry's, and where it differs (exit 1 if any differs)" },
  builder: { type: "string", value: "<buildx|legacy>", help: "--rebuild: builder to use (default: buildx if the docker CLI has it, else legacy)" },
  builders: { type: "string", value: "<arch=engine,...>", help: "--rebuild: build these arches in an engine of their own, as build --builders" },
  "source-date-epoch": { type: "string", value: "<seconds>", help: "--rebuild: the SOURCE_DATE_EPOCH the images were pushed with, if not the package's (default 0; env: SOURCE_DATE_EPOCH)" },
  verbose: { type: "level", short: "v", value: "<n>", help: "--rebuild: print build output" },
};

export function verifyCommand(cli: CliParts) {
  return {
    summary: "check that the index and each per-arch image at the current tag are signed by the package's signer",
    args: cli.args,
    options: {
      ...cli.naming,
      arches: { type: "string" as const, value: "<a,b>", help: "check only these arches' images (and the index), as after push --arches" },
      ...cli.registryFlags,
      ...signingFlags,
      ...rebuildFlags,
      ...cli.common,
    },
    async run(t: { dirs: string[] }, o: ParsedOptions): Promise<number> {
      const { packages, registry, settings } = await cli.packagesAndRegistry(t, o);
      if (o.rebuild) return (await import("./rebuild.ts")).verifyRebuild(packages, registry, settings, o);
      // For verifying, --key may name a public key.
      const signing = signingOptions(o, "key");
      if (signing.key) {
        const { readFileSync } = await import("node:fs");
        if (readFileSync(signing.key, "utf8").includes("PUBLIC KEY")) {
          const { resolve } = await import("node:path");
          signing.signer = { type: "sigstore", key: resolve(signing.key), publicKey: resolve(signing.key), keyless: false };
          delete signing.key;
        }
      }
      const rows = await verifyPackages(packages, { registry, signing });
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else
        for (const r of rows)
          console.log(`${r.ok ? "ok  " : "FAIL"}  ${r.ref}${r.digest ? `@${r.digest}` : ""}  [${r.signer}] ${r.detail}`);
      const bad = rows.filter((r) => !r.ok);
      process.stderr.write(bad.length ? `${bad.length} of ${rows.length} not signed as configured: ${bad.map((r) => r.ref).join(", ")}\n` : `${rows.length} signed\n`);
      return bad.length ? ExitCode.failed : ExitCode.ok;
    },
  };
}
