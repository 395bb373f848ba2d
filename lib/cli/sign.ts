/** The signing flags' meaning (the flags: main.ts), and the `verify` command (its `--rebuild`: lib/cli/rebuild.ts). */
import process from "node:process";
import type { ParsedOptions } from "./args.ts";
import { ExitCode, InputError } from "../errors.ts";
import { verifyPackages, type SigningOptions } from "../../recipes/sign.ts";
import { graphOfTargets, type Targets } from "../../recipes/packages.ts";
import { SIGNER_NAMES, type SignerName } from "../sign/config.ts";
import { checkPemFile } from "../pemfile.ts";
import { predicateName } from "../attest/statement.ts";
import { settingsFor } from "./settings.ts";
import { registryFor } from "./registry.ts";

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

/** `pkgkit verify`: each package's index and per-arch images at the current tag checked against its signer (with --rebuild: rebuilt and compared, lib/cli/rebuild.ts). */
export async function verify(t: Targets, o: ParsedOptions): Promise<number> {
  const { workspace, settings } = await settingsFor(t, o, { registry: true, builders: o.rebuild === true });
  const packages = (await graphOfTargets(t, settings.packages, workspace)).roots;
  const registry = await registryFor(settings);
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
  const signatures = rows.filter((r) => !r.attestation);
  const attestations = rows.filter((r) => r.attestation);
  const badSignatures = signatures.filter((r) => !r.ok);
  const badAttestations = attestations.filter((r) => !r.ok);
  const lines = [
    badSignatures.length ? `${badSignatures.length} of ${signatures.length} not signed as configured: ${badSignatures.map((r) => r.ref).join(", ")}` : `${signatures.length} signed`,
    ...(attestations.length === 0 ? [] : badAttestations.length
      ? [`${badAttestations.length} of ${attestations.length} attestations missing or not signed as configured: ${badAttestations.map((r) => `${r.ref} (${predicateName(r.attestation!)})`).join(", ")}`]
      : [`${attestations.length} attestations verify`]),
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  return badSignatures.length || badAttestations.length ? ExitCode.failed : ExitCode.ok;
}
