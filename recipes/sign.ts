/**
 * Recipe: signing for a push, and `verify`. Which signer each package uses (run > package >
 * workspace > pkgkit.yml > notary, see lib/sign/config.ts), one Signer per distinct configuration, the
 * read-only look-up of what is already signed, and the sign steps added to a push plan.
 */
import { indexRef, archRef, type Package } from "../lib/package.ts";
import { resolve } from "node:path";
import type { Plan, SigningInputs } from "../lib/plan.ts";
import type { Descriptor, Manifest, Registry } from "../lib/registry/types.ts";
import type { Shell } from "../lib/shell.ts";
import { mapLimit } from "../lib/concurrency.ts";
import { registryTag, withArch } from "../lib/names.ts";
import { InputError } from "../lib/errors.ts";
import {
  loadSigningConfig, packageSigner, resolveSignerConfig, runSigner,
  type RunSigner, type SignerConfig, type SigningConfig,
} from "../lib/sign/config.ts";
import { createSigner } from "../lib/sign/index.ts";
import { signTargets, withSignSteps, type SigningAssignments } from "../lib/sign/plan.ts";
import type { Signer, Verification } from "../lib/sign/types.ts";

/** Who signs, as a run says it (signer, key, keyless), with pkgkit.yml's settings or signers made in code. */
export interface SigningOptions extends RunSigner {
  /** pkgkit.yml's settings; read from $PKGKIT_CONFIG or the current directory up when absent. */
  config?: SigningConfig;
  /** Use these signers instead of making them from the configuration (by type). */
  signers?: Partial<Record<SignerConfig["type"], Signer>>;
}

/** Which signer signs each package, and the signers themselves, as `resolveSigning` decides them. */
export interface Signing {
  assignments: SigningAssignments;
  /** By description (what sign steps name in `using`). */
  signers: Map<string, Signer>;
  /**
   * What plans record (`inputs.signing`) so that `pkgkit apply` makes the same signers: the run's
   * flags and the pkgkit.yml read. Settings given in code (a signer object, a passphrase function)
   * are not recorded: give them to applyPlan again.
   */
  inputs?: SigningInputs;
}

/**
 * Who signs each package that signs (content trust on; packages with it off are absent), decided
 * run > package > workspace > pkgkit.yml > notary, and one Signer per distinct configuration.
 */
export async function resolveSigning(packages: Package[], deps: { registry: Registry; shell?: Shell; signing?: SigningOptions }): Promise<Signing> {
  const options = deps.signing ?? {};
  const signing: Signing = { assignments: new Map(), signers: new Map() };
  const trusted = packages.filter((p) => p.trust);
  if (trusted.length === 0) return signing;
  const file = options.config ?? (await loadSigningConfig());
  const run = runSigner(options);
  const flags: SigningInputs = {
    signer: typeof options.signer === "string" ? options.signer : options.signer?.type,
    key: options.key !== undefined ? resolve(options.key) : undefined,
    keyless: options.keyless === true ? true : undefined,
    config: file.file,
  };
  signing.inputs = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const byConfig = new Map<string, Signer>();
  for (const pkg of trusted) {
    const config = resolveSignerConfig(run, packageSigner(pkg.spec.signer, pkg.dir), pkg.workspaceSigner, file);
    const key = JSON.stringify(config, (_k, v: unknown) => (typeof v === "function" ? `fn:${String(v)}` : v));
    let signer = byConfig.get(key);
    if (!signer) {
      signer = options.signers?.[config.type] ?? createSigner(config, { registry: deps.registry, shell: deps.shell, configFile: file.file });
      byConfig.set(key, signer);
    }
    let using = signer.description;
    for (let n = 2; signing.signers.has(using) && signing.signers.get(using) !== signer; n++) using = `${signer.description} #${n}`;
    signing.signers.set(using, signer);
    signing.assignments.set(indexRef(pkg), { signer: config.type, using, ...(signer.prepareAfterBuilds ? { prepareAfterBuilds: true } : {}) });
  }
  return signing;
}

/** What the push look-up found in the registry (per-arch refs and indexes). */
type RegistryLookup = { remote?: Map<string, Descriptor>; indexes?: Map<string, Manifest> };

/**
 * The read-only look-up: is each image and index of an unsigned push plan `p` that is already in
 * the registry (skipped by the plan) signed by its package's signer? `<ref>@<digest>` → that
 * signer's description, or null (as recorded in `Observed.signatures`), in plan order.
 */
export async function lookupSignatures(p: Plan, signing: Signing, state: RegistryLookup, concurrency = 16): Promise<Record<string, string | null>> {
  const known = signTargets(p, { signing: signing.assignments, remote: state.remote, indexes: state.indexes }).filter((t) => t.known);
  const found: Record<string, string | null> = Object.fromEntries(known.map((t) => [`${t.ref}@${t.known!.digest}`, null]));
  await mapLimit(known, concurrency, async (t) => {
    const { using } = signing.assignments.get(t.package)!;
    const v = await signing.signers.get(using)!.verify({ repository: t.repository, tags: t.tags, ...t.known! });
    if (v.ok) found[`${t.ref}@${t.known!.digest}`] = using;
  });
  return found;
}

/** The refs a signature look-up found signed. */
export const signedRefs = (found: Record<string, string | null>) => new Set(Object.keys(found).filter((k) => found[k] !== null));

/** Adds the sign steps to an unsigned push plan (after looking up what is signed already). */
export async function signPlan(p: Plan, signing: Signing, state: RegistryLookup, release?: string): Promise<Plan> {
  if (signing.assignments.size === 0) return p;
  const signed = signedRefs(await lookupSignatures(p, signing, state));
  return withSignSteps(p, { signing: signing.assignments, remote: state.remote, indexes: state.indexes, signed, release });
}

export interface VerifiedRef extends Verification {
  package: string;
  arch?: string;
  digest?: string;
}

/**
 * `verify`: the index at each package's current tag and each per-arch image must be in the
 * registry and signed by the package's signer (key or identity as configured).
 */
export async function verifyPackages(packages: Package[], deps: { registry: Registry; shell?: Shell; signing?: SigningOptions }): Promise<VerifiedRef[]> {
  const unsigned = packages.filter((p) => !p.trust);
  if (unsigned.length)
    throw new InputError(`content trust is off for ${unsigned.map((p) => indexRef(p)).join(", ")} (disableContentTrust or --disable-content-trust): there is nothing to verify`);
  const signing = await resolveSigning(packages, deps);
  const rows = packages.flatMap((pkg) => [
    { pkg, ref: indexRef(pkg), tag: pkg.tag, arch: undefined as string | undefined },
    ...pkg.arches.map((a) => ({ pkg, ref: archRef(pkg, a), tag: registryTag(withArch(pkg.ref, a)), arch: a as string | undefined })),
  ]);
  return mapLimit(rows, 8, async (r): Promise<VerifiedRef> => {
    const { signer: name, using } = signing.assignments.get(indexRef(r.pkg))!;
    const base = { package: indexRef(r.pkg), ...(r.arch ? { arch: r.arch } : {}) };
    const d = await deps.registry.headManifest(r.pkg.repository, r.tag);
    if (!d) return { ...base, ok: false, signer: name, ref: r.ref, detail: "not in the registry" };
    const v = await signing.signers.get(using)!.verify({ repository: r.pkg.repository, tags: [r.tag], digest: d.digest, size: d.size, mediaType: d.mediaType });
    return { ...base, ...v, ref: r.ref, digest: d.digest };
  });
}
