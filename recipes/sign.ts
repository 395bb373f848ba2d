/**
 * Recipe: signing for a push, and `verify`. Which signer each package uses (run > package >
 * workspace > pkgkit.yml > notary, see lib/sign/config.ts), one Signer per distinct configuration, the
 * read-only look-up of what is already signed, and push plans with their sign steps.
 */
import { indexRef, archRef, type Package } from "../lib/package.ts";
import { resolve } from "node:path";
import { plan, type PlanOptions } from "../lib/plan/plan.ts";
import type { Plan, SigningInputs } from "../lib/plan/schema.ts";
import { signedKey, signingTargets, type RegistryLookup, type SigningAssignments } from "../lib/plan/sign.ts";
import type { Registry } from "../lib/registry/types.ts";
import type { Shell } from "../lib/shell.ts";
import { mapLimit } from "../lib/concurrency.ts";
import { parseImageRef, registryTag, withArch } from "../lib/names.ts";
import { InputError } from "../lib/errors.ts";
import {
  loadSigningConfig, packageSigner, resolveSignerConfig, runSigner,
  type RunSigner, type SignerConfig, type SigningConfig,
} from "../lib/sign/config.ts";
import { createSigner } from "../lib/sign/index.ts";
import type { Signer, Verification } from "../lib/sign/types.ts";
import { verifyAttestations } from "../lib/attest/attach.ts";
import { PREDICATE_TYPES, predicateName } from "../lib/attest/statement.ts";

/** Who signs, as a run says it (signer, key, keyless), with pkgkit.yml's settings or signers made in code. */
export interface SigningOptions extends RunSigner {
  /** pkgkit.yml's settings; read from $PKGKIT_CONFIG or the current directory up when absent. */
  config?: SigningConfig;
  /** Use these signers instead of making them from the configuration (by type). */
  signers?: Partial<Record<SignerConfig["type"], Signer>>;
  /**
   * false: LinuxKit's default (it removed content trust): a package signs only when a signer is
   * configured for it: by the run (signer, key, keyless), its package file's `signer`, its
   * workspace's `signer`, or pkgkit.yml (`signer`, `notary:` or `sigstore:`). `pkgkit pkg push` sets it.
   */
  signByDefault?: false;
}

/** Which signer signs each package, and the signers themselves, as `resolveSigning` decides them. */
export interface Signing {
  assignments: SigningAssignments;
  /** By signer id (what sign steps name in `signerId`): what run() is given as Session.signers. */
  signers: Map<string, Signer>;
  /**
   * What plans record (`inputs.signing`) so that `pkgkit apply` makes the same signers: the run's
   * flags and the pkgkit.yml read. Settings given in code (a signer object, a passphrase function)
   * are not recorded: give them to applyPlan again.
   */
  inputs?: SigningInputs;
  /** Where the signatures and attestations are looked up. */
  registry?: Registry;
}

/**
 * Who signs each package that signs (content trust on; packages with it off are absent), decided
 * run > package > workspace > pkgkit.yml > notary, and one Signer per distinct configuration.
 * Each configuration gets an id, given in package order: its type (`notary`, `sigstore`), then
 * `sigstore#2` for the second sigstore configuration, and so on. The same packages and settings
 * give the same ids, so `pkgkit apply` names its signers as the plan does.
 */
export async function resolveSigning(packages: Package[], deps: { registry: Registry; shell?: Shell; signing?: SigningOptions }): Promise<Signing> {
  const options = deps.signing ?? {};
  const signing: Signing = { assignments: new Map(), signers: new Map(), registry: deps.registry };
  const withTrust = packages.filter((p) => p.trust);
  if (withTrust.length === 0) return signing;
  const file = options.config ?? (await loadSigningConfig());
  const run = runSigner(options);
  const flags: SigningInputs = {
    signer: typeof options.signer === "string" ? options.signer : options.signer?.type,
    key: options.key !== undefined ? resolve(options.key) : undefined,
    keyless: options.keyless === true ? true : undefined,
    config: file.file,
    signByDefault: options.signByDefault,
  };
  signing.inputs = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const configured = run !== undefined || file.signer !== undefined || file.notary !== undefined || file.sigstore !== undefined;
  const trusted = options.signByDefault === false && !configured ? withTrust.filter((p) => p.spec.signer !== undefined || p.workspaceSigner !== undefined) : withTrust;
  const byConfig = new Map<string, { signer: Signer; signerId: string }>();
  const ofType = new Map<string, number>();
  /** Descriptions shown in plans, each of one signer (`#2` added when two signers describe themselves alike). */
  const described = new Map<string, Signer>();
  for (const pkg of trusted) {
    const config = resolveSignerConfig(run, packageSigner(pkg.spec.signer, pkg.dir), pkg.workspaceSigner, file);
    const key = JSON.stringify(config, (_k, v: unknown) => (typeof v === "function" ? `fn:${String(v)}` : v));
    let made = byConfig.get(key);
    if (!made) {
      const signer = options.signers?.[config.type] ?? createSigner(config, { registry: deps.registry, shell: deps.shell, configFile: file.file });
      const n = (ofType.get(config.type) ?? 0) + 1;
      ofType.set(config.type, n);
      made = { signer, signerId: n === 1 ? config.type : `${config.type}#${n}` };
      byConfig.set(key, made);
      signing.signers.set(made.signerId, signer);
    }
    const { signer, signerId } = made;
    let using = signer.description;
    for (let n = 2; described.has(using) && described.get(using) !== signer; n++) using = `${signer.description} #${n}`;
    described.set(using, signer);
    signing.assignments.set(indexRef(pkg), { signer: config.type, signerId, using, ...(signer.prepareAfterBuilds ? { prepareAfterBuilds: true } : {}) });
  }
  return signing;
}

/**
 * The read-only look-up: is each image and index of an unsigned push plan `p` that is already in
 * the registry (skipped by the plan) signed by its package's signer? `<ref>@<digest>` → that
 * signer's description, or null (as recorded in `Observed.signatures`), in plan order.
 */
export async function lookupSignatures(p: Plan, signing: Signing, state: RegistryLookup, concurrency = 16): Promise<Record<string, string | null>> {
  const known = p.packages.flatMap((pkg) => {
    const who = signing.assignments.get(pkg.name);
    if (!who) return [];
    const steps = p.steps.filter((s) => s.package === pkg.name);
    return signingTargets(parseImageRef(pkg.name), steps, state).filter((t) => t.known).map((t) => ({ ...t, who }));
  });
  const found: Record<string, string | null> = Object.fromEntries(known.map((t) => [signedKey(t), null]));
  await mapLimit(known, concurrency, async (t) => {
    const v = await signing.signers.get(t.who.signerId)!.verify({ repository: t.ref.repository, tags: [registryTag(t.ref)], ...t.known! });
    if (v.ok) found[signedKey(t)] = t.who.using;
  });
  return found;
}

/**
 * The read-only look-up of attestations: for each arch image of a push plan `p` that is already in
 * the registry and would be attested, do its attestations (each predicate type) exist and verify
 * with its package's signer? `<ref>@<digest>` → that signer's description, or null (as recorded
 * in `Observed.attestations`).
 */
export async function lookupAttestations(p: Plan, signing: Signing, concurrency = 16): Promise<Record<string, string | null>> {
  const known = p.steps.flatMap((s) => (s.kind === "attest" && s.digest ? [s] : []));
  const found: Record<string, string | null> = Object.fromEntries(known.map((s) => [`${s.ref}@${s.digest}`, null]));
  if (!signing.registry) return found;
  const registry = signing.registry;
  await mapLimit(known, concurrency, async (s) => {
    const image = { repository: s.repository, descriptor: { digest: s.digest!, size: s.size!, mediaType: s.mediaType! } };
    const checks = await verifyAttestations(registry, signing.signers.get(s.signerId)!, image, s.predicateTypes);
    if (checks.every((c) => c.ok)) found[`${s.ref}@${s.digest}`] = s.using;
  });
  return found;
}

/** The refs a signature look-up found signed. */
export const signedRefs = (found: Record<string, string | null>) => new Set(Object.keys(found).filter((k) => found[k] !== null));

/**
 * The options of a push plan that signs: who signs each package, and which of what the registry
 * has (`options.remote`, `options.indexes`) its signer signed already, looked up on the plan
 * without signing; recorded in the plan (`observed.signatures`, `inputs.signing`).
 */
export async function planOptionsWithSigning(packages: Package[], options: PlanOptions, signing: Signing, concurrency?: number): Promise<PlanOptions> {
  // Nothing signs: the inputs still say why (LinuxKit's default), so apply decides alike.
  if (signing.assignments.size === 0) return signing.inputs?.signByDefault === false ? { ...options, signingWith: signing.inputs } : options;
  const signatures = await lookupSignatures(plan(packages, options), signing, options, concurrency);
  const signed = signedRefs(signatures);
  const attestations = await lookupAttestations(plan(packages, { ...options, signing: signing.assignments, signed }), signing, concurrency);
  return {
    ...options,
    signing: signing.assignments,
    signed,
    attested: signedRefs(attestations),
    ...(options.observed ? { observed: { ...options.observed, signatures, ...(Object.keys(attestations).length ? { attestations } : {}) } } : {}),
    signingWith: signing.inputs,
  };
}

export interface VerifiedRef extends Verification {
  package: string;
  arch?: string;
  digest?: string;
  /** For an attestation's row: its predicate type. */
  attestation?: string;
}

/**
 * `verify`: the index at each package's current tag and each per-arch image must be in the
 * registry and signed by the package's signer (key or identity as configured); and, for packages
 * that attest (`attest`, on by default), each per-arch image must have an SPDX SBOM and a SLSA
 * provenance attestation whose statement names its digest, signed by that signer (one row each).
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
  return mapLimit(rows, 8, async (r): Promise<VerifiedRef[]> => {
    const { signer: name, signerId } = signing.assignments.get(indexRef(r.pkg))!;
    const base = { package: indexRef(r.pkg), ...(r.arch ? { arch: r.arch } : {}) };
    const d = await deps.registry.headManifest(r.pkg.repository, r.tag);
    if (!d) return [{ ...base, ok: false, signer: name, ref: r.ref, detail: "not in the registry" }];
    const signer = signing.signers.get(signerId)!;
    const v = await signer.verify({ repository: r.pkg.repository, tags: [r.tag], digest: d.digest, size: d.size, mediaType: d.mediaType });
    const row = { ...base, ...v, ref: r.ref, digest: d.digest };
    if (!r.arch || !r.pkg.attest) return [row];
    const checks = await verifyAttestations(deps.registry, signer, { repository: r.pkg.repository, descriptor: d }, [PREDICATE_TYPES.sbom, PREDICATE_TYPES.provenance]);
    return [row, ...checks.map((c) => ({ ...base, ok: c.ok, signer: name, ref: r.ref, digest: d.digest, attestation: c.predicateType, detail: `${predicateName(c.predicateType)} attestation: ${c.detail}` }))];
  }).then((rows) => rows.flat());
}
