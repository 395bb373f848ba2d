/**
 * Sign steps in a push plan. plan() gives each package that signs (content trust on), as steps of
 * the DAG (`needs`):
 *   - `prepare` (proves the signer can sign: the passphrase opens the keys, the key signs, the
 *     identity token gets a Fulcio certificate; Notary trust data for a new repository), needing
 *     nothing, or for keyless signing the package's builds (certificates live 10 minutes); every
 *     push and index step of the package needs it, so a signer that cannot sign stops the
 *     package before anything of it is pushed unsigned (builds publish nothing);
 *   - per arch, `sign <ref>@<digest>` needing that arch's push step, the digest being the push's;
 *   - `sign <index ref>@<digest>` needing the index step (with the release tag for Notary);
 *   - for images and indexes already in the registry: a sign step (needing `prepare`) when the
 *     look-up found them unsigned by this signer, else nothing;
 *   - per arch image, unless attestations are off, an `attest` step listed after its sign step,
 *     needing its push: an SBOM and a provenance signed by the same signer. For an image already
 *     in the registry, only when the look-up found its attestations missing or not verifying.
 * Steps are plain data like every other step; the Signer objects they name (by `signerId`) are
 * given to run().
 */
import { formatRef, registryTag, withArch, type ImageRef } from "../names.ts";
import type { Descriptor, Manifest } from "../registry/types.ts";
import type { SignerName } from "../sign/schema.ts";
import type { AttestStep, SignStep, Step } from "./schema.ts";

/**
 * Who signs a package: the signer's name, its id (the key of `Session.signers`), its
 * description, and whether its prepare waits for the package's builds (see Signer.prepareAfterBuilds).
 */
export interface PackageSigner {
  signer: SignerName;
  signerId: string;
  using: string;
  prepareAfterBuilds?: boolean;
}

/** Per package that signs (by `org/image:<tag>`): who signs it. */
export type SigningAssignments = Map<string, PackageSigner>;

/** What the push look-up found in the registry: per-arch refs and indexes. */
export interface RegistryLookup {
  remote?: Map<string, Descriptor>;
  indexes?: Map<string, Manifest>;
}

/**
 * One image or index of a package that needs a signature: written by the step `after`, or
 * already in the registry (`known`, skipped by the step `skipId`).
 */
export interface SigningTarget {
  ref: ImageRef;
  after?: string;
  skipId?: string;
  known?: Descriptor;
}

/** What of one package's steps (`ref`: its index) needs a signature, in step order. */
export function signingTargets(ref: ImageRef, steps: Step[], lookup: RegistryLookup): SigningTarget[] {
  const out: SigningTarget[] = [];
  for (const s of steps) {
    if (s.kind === "push") out.push({ ref: withArch(ref, s.arch), after: s.id });
    else if (s.kind === "index") out.push({ ref, after: s.id });
    else if (s.kind === "skip" && s.skips === "build+push" && s.arch) {
      const known = lookup.remote?.get(s.ref);
      if (known) out.push({ ref: withArch(ref, s.arch), skipId: s.id, known });
    } else if (s.kind === "skip" && s.skips === "index") {
      const m = lookup.indexes?.get(s.ref);
      if (m) out.push({ ref, skipId: s.id, known: { mediaType: m.mediaType, digest: m.digest, size: m.size } });
    }
  }
  return out;
}

/** `<ref>@<digest>`: how signature look-ups and `PlanOptions.signed` name what is in the registry. */
export const signedKey = (t: SigningTarget) => `${formatRef(t.ref)}@${t.known!.digest}`;

/** The id of a package's prepare step (`name`: `org/image:<tag>`). */
export const prepareId = (name: string) => `${name}/sign-prepare`;

export interface SignStepsOptions extends RegistryLookup {
  /** `<ref>@<digest>` of what the signature look-up found signed by the package's signer. */
  signed: Set<string>;
  release?: string;
  /** Attach attestations of these predicate types to each arch image, except those `attested` (`<ref>@<digest>`) already. */
  attest?: { predicateTypes: string[]; attested: Set<string>; about: AttestedPackage };
}

/** What an attest step says of its package (see AttestStep). */
export type AttestedPackage = Pick<AttestStep, "tag" | "source" | "buildArgs" | "sourceDateEpoch">;

/**
 * One package's steps (`ref`: its index) with its sign steps in their places: each after the
 * step it follows, and its prepare before the first step that needs it. `first`: the prepare,
 * when it needs nothing (plan() lists those before every package's steps). Unchanged when
 * everything is signed already.
 */
export function withSigning(ref: ImageRef, steps: Step[], who: PackageSigner, options: SignStepsOptions): { first?: SignStep; steps: Step[] } {
  const name = formatRef(ref);
  const prepare = prepareId(name);
  /** Sign and attest steps by the id of the step they follow (a push, an index, a skip). */
  const after = new Map<string, Step[]>();
  for (const t of signingTargets(ref, steps, options)) {
    const sign = t.known && options.signed.has(signedKey(t)) ? undefined : signStep(name, t, who, options.release);
    const attest = options.attest && t.ref.arch && !(t.known && options.attest.attested.has(signedKey(t)))
      ? attestStep(name, t, who, options.attest, steps.find((s) => s.kind === "build" && s.id === `${name}/${t.ref.arch}`)?.id)
      : undefined;
    const following = [...(sign ? [sign] : []), ...(attest ? [attest] : [])];
    if (following.length) after.set(t.after ?? t.skipId!, following);
  }
  if (after.size === 0) return { steps };
  const prepareStep: SignStep = {
    kind: "sign",
    id: prepare,
    package: name,
    action: "prepare",
    signer: who.signer,
    signerId: who.signerId,
    using: who.using,
    ref: name,
    repository: ref.repository,
    tags: [],
    reason: who.signer === "notary"
      ? "before anything is pushed: the passphrase opens the keys; trust data for the repository"
      : who.prepareAfterBuilds
        ? "after the builds, right before the first push: the identity token, and a Fulcio certificate (valid 10 minutes)"
        : "before anything is pushed: the key signs, and its public key verifies that",
    // A certificate that expires is fetched once the package's images are built, not before.
    needs: who.prepareAfterBuilds ? steps.filter((s) => s.kind === "build").map((s) => s.id) : [],
  };
  // A prepare that needs nothing comes first; one that waits for builds, right before the first step that needs it.
  let placed = prepareStep.needs.length === 0;
  const out: Step[] = [];
  const place = () => {
    if (!placed) out.push(prepareStep);
    placed = true;
  };
  for (const s of steps) {
    // Nothing of a signing package is published before its signer is ready.
    const publishes = s.kind === "push" || s.kind === "index";
    if (publishes) place();
    out.push(publishes ? { ...s, needs: [...s.needs, prepare] } : s);
    for (const next of after.get(s.id) ?? []) {
      if (next.needs.includes(prepare)) place();
      out.push(next);
    }
  }
  return { ...(prepareStep.needs.length === 0 ? { first: prepareStep } : {}), steps: out };
}

/**
 * The attest step of an arch image: after its push (alongside its sign step: the SBOM is made
 * while the image is signed; their writes to the image's referrers tag take turns, see
 * lib/sign/oci.ts), or, for an image in the registry, once the signer is ready.
 */
function attestStep(name: string, t: SigningTarget, who: PackageSigner, attest: NonNullable<SignStepsOptions["attest"]>, build: string | undefined): AttestStep {
  return {
    kind: "attest",
    id: `${formatRef(t.ref)}/attest`,
    package: name,
    ref: formatRef(t.ref),
    repository: t.ref.repository,
    arch: t.ref.arch!,
    signer: who.signer,
    signerId: who.signerId,
    using: who.using,
    predicateTypes: attest.predicateTypes,
    ...attest.about,
    ...(t.known ? { digest: t.known.digest, size: t.known.size, mediaType: t.known.mediaType } : { after: t.after }),
    ...(build ? { build } : {}),
    reason: t.known ? "in the registry, its attestations missing or not verifying" : "image written by this run",
    needs: t.after ? [t.after] : [prepareId(name)],
  };
}

function signStep(name: string, t: SigningTarget, who: PackageSigner, release: string | undefined): SignStep {
  const isIndex = t.ref.arch === undefined;
  const tag = registryTag(t.ref);
  return {
    kind: "sign",
    id: `${formatRef(t.ref)}/sign`,
    package: name,
    action: "sign",
    signer: who.signer,
    signerId: who.signerId,
    using: who.using,
    ref: formatRef(t.ref),
    repository: t.ref.repository,
    tags: isIndex && release && who.signer === "notary" ? [tag, release] : [tag],
    ...(t.ref.arch ? { arch: t.ref.arch } : {}),
    ...(t.known ? { digest: t.known.digest, size: t.known.size, mediaType: t.known.mediaType } : { after: t.after }),
    reason: t.known ? `in the registry, not signed with ${who.signer} yet` : `${isIndex ? "index" : "image"} written by this run`,
    // What pushes needs prepare already; what is in the registry only needs the signer ready.
    needs: t.after ? [t.after] : [prepareId(name)],
  };
}
