/**
 * Sign steps in a push plan. `withSignSteps()` takes the plan plan() made and adds, for each
 * package that signs (content trust on), as steps of the DAG (`needs`):
 *   - `prepare` (proves the signer can sign: the passphrase opens the keys, the key signs, the
 *     identity token gets a Fulcio certificate; Notary trust data for a new repository), needing
 *     nothing, or for keyless signing the package's builds (certificates live 10 minutes); every
 *     push and index step of the package needs it, so a signer that cannot sign stops the
 *     package before anything of it is pushed unsigned (builds publish nothing);
 *   - per arch, `sign <ref>@<digest>` needing that arch's push step, the digest being the push's;
 *   - `sign <index ref>@<digest>` needing the index step (with the release tag for Notary);
 *   - for images and indexes already in the registry: a sign step (needing `prepare`) when the
 *     look-up found them unsigned by this signer, else nothing.
 * Steps are plain data like every other step; the Signer objects they name are given to run().
 */
import type { Arch } from "../spec.ts";
import type { Descriptor, Manifest } from "../registry/types.ts";
import type { Plan, Step } from "../plan.ts";
import type { SignerName } from "./config.ts";

export interface SignStep {
  kind: "sign";
  id: string;
  package: string;
  action: "prepare" | "sign";
  signer: SignerName;
  /** Which signer (its description): the key of `RunOptions.signers`. */
  using: string;
  /** `org/image:<tag>[-<arch>]`; for `prepare`, the package's index ref. */
  ref: string;
  repository: string;
  /** Tags the digest is published under (Notary signs each); empty for `prepare`. */
  tags: string[];
  arch?: Arch;
  /** Known when planned for what the registry already has; else the `after` step's result. */
  digest?: string;
  size?: number;
  mediaType?: string;
  /** The push or index step whose result is the digest to sign. */
  after?: string;
  reason: string;
}

/**
 * Per package (by `org/image:<tag>`): the signer's name and description, when it signs, and
 * whether its prepare waits for the package's builds (see Signer.prepareAfterBuilds).
 */
export type SigningAssignments = Map<string, { signer: SignerName; using: string; prepareAfterBuilds?: boolean }>;

export interface SignPlanOptions {
  signing: SigningAssignments;
  /** The push look-up: per-arch refs and indexes the registry has. */
  remote?: Map<string, Descriptor>;
  indexes?: Map<string, Manifest>;
  /** `ref@digest` of what the signature look-up found signed by the package's signer. */
  signed: Set<string>;
  release?: string;
}

/** What in a push plan needs a signature: refs with their digest when already known. */
export function signTargets(p: Plan, options: Pick<SignPlanOptions, "signing" | "remote" | "indexes">) {
  const out: { package: string; ref: string; repository: string; tags: string[]; arch?: Arch; after?: string; skipId?: string; known?: Descriptor }[] = [];
  for (const s of p.steps) {
    if (!options.signing.has(s.package)) continue;
    const repository = s.package.slice(0, s.package.lastIndexOf(":"));
    const tagOf = (ref: string) => ref.slice(repository.length + 1);
    if (s.kind === "push") out.push({ package: s.package, ref: s.ref, repository, tags: [s.tag], arch: s.arch, after: s.id });
    else if (s.kind === "index") out.push({ package: s.package, ref: s.ref, repository, tags: [s.tag], after: s.id });
    else if (s.kind === "skip" && s.skips === "build+push" && s.arch) {
      const known = options.remote?.get(s.ref);
      if (known) out.push({ package: s.package, ref: s.ref, repository, tags: [tagOf(s.ref)], arch: s.arch, skipId: s.id, known });
    } else if (s.kind === "skip" && s.skips === "index") {
      const m = options.indexes?.get(s.ref);
      if (m) out.push({ package: s.package, ref: s.ref, repository, tags: [tagOf(s.ref)], skipId: s.id, known: { mediaType: m.mediaType, digest: m.digest, size: m.size } });
    }
  }
  return out;
}

export const prepareId = (pkg: string) => `${pkg}/sign-prepare`;

export function withSignSteps(p: Plan, options: SignPlanOptions): Plan {
  const targets = signTargets(p, options);
  /** Sign steps by the id of the step they follow in the plan's order (a push, an index, a skip). */
  const after = new Map<string, Step>();
  const prepares = new Map<string, Step>();
  for (const t of targets) {
    const { signer, using, prepareAfterBuilds } = options.signing.get(t.package)!;
    if (t.known && options.signed.has(`${t.ref}@${t.known.digest}`)) continue;
    const isIndex = t.arch === undefined;
    const tags = isIndex && options.release && signer === "notary" ? [...t.tags, options.release] : t.tags;
    const prepare = prepareId(t.package);
    const step: Step = {
      kind: "sign",
      id: `${t.ref}/sign`,
      package: t.package,
      action: "sign",
      signer,
      using,
      ref: t.ref,
      repository: t.repository,
      tags,
      ...(t.arch ? { arch: t.arch } : {}),
      ...(t.known ? { digest: t.known.digest, size: t.known.size, mediaType: t.known.mediaType } : { after: t.after }),
      reason: t.known ? `in the registry, not signed with ${signer} yet` : `${isIndex ? "index" : "image"} written by this run`,
      // What pushes needs prepare already; what is in the registry only needs the signer ready.
      needs: t.after ? [t.after] : [prepare],
    };
    after.set(t.after ?? t.skipId!, step);
    if (!prepares.has(t.package))
      prepares.set(t.package, {
        kind: "sign",
        id: prepare,
        package: t.package,
        action: "prepare",
        signer,
        using,
        ref: t.package,
        repository: t.repository,
        tags: [],
        reason: signer === "notary"
          ? "before anything is pushed: the passphrase opens the keys; trust data for the repository"
          : prepareAfterBuilds
            ? "after the builds, right before the first push: the identity token, and a Fulcio certificate (valid 10 minutes)"
            : "before anything is pushed: the key signs, and its public key verifies that",
        // A certificate that expires is fetched once the package's images are built, not before.
        needs: prepareAfterBuilds ? p.steps.filter((s) => s.kind === "build" && s.package === t.package).map((s) => s.id) : [],
      });
  }
  if (prepares.size === 0) return p;
  // Prepares that need nothing come first; one that waits for builds, right before the first step that needs it.
  const steps: Step[] = [...prepares.values()].filter((s) => s.needs.length === 0);
  const placed = new Set(steps.map((s) => s.id));
  const place = (prepare: Step | undefined) => {
    if (!prepare || placed.has(prepare.id)) return;
    steps.push(prepare);
    placed.add(prepare.id);
  };
  for (const s of p.steps) {
    const prepare = prepares.get(s.package);
    // Nothing of a signing package is published before its signer is ready.
    const publishes = s.kind === "push" || s.kind === "index";
    if (publishes) place(prepare);
    steps.push(prepare && publishes ? { ...s, needs: [...s.needs, prepare.id] } : s);
    const sign = after.get(s.id);
    if (sign?.needs.includes(prepareId(s.package))) place(prepare);
    if (sign) steps.push(sign);
  }
  return { ...p, steps };
}

/** The plan's line for a sign step. */
export function formatSignStep(s: SignStep): string {
  if (s.action === "prepare") return `  sign   prepare ${s.using} for ${s.repository}  ${s.reason}`;
  const digest = s.digest ?? `<digest of ${s.after?.endsWith("/index") ? "the merged index" : "the push"}>`;
  return `  sign   ${s.ref}@${digest} with ${s.signer}${s.tags.length > 1 ? ` (tags ${s.tags.join(", ")})` : ""}  ${s.reason}`;
}
