/**
 * Executes a sign step: `prepare` readies the signer, `sign` signs the digest the plan names or an
 * earlier step produced.
 *
 * An index this run merged can move on while it is being signed: another machine pushing other
 * arches of the same tag merges its entries in and signs its result. Notary signs tags, so if our
 * signature of the older digest is published after theirs, the tag's trust data would name an
 * index the registry no longer has. So after signing an index, its tag is read again; if it now
 * holds another index that still lists every entry this run put in, that one is signed too (a
 * few rounds at most). One that lost our entries is left to the writer that replaced them.
 */
import { PkgkitError } from "../errors.ts";
import type { Descriptor, Registry } from "../registry/types.ts";
import type { SignStep } from "../plan/schema.ts";
import type { Signature, Signer } from "./types.ts";

export interface SignStepContext {
  /** By signer id (`SignStep.signerId`). */
  signers?: Map<string, Signer>;
  /** What this run pushed or merged, by ref. */
  published(ref: string): Descriptor | undefined;
  /** For an index this run merged: the registry, and the digests of the entries this run put in. */
  registry?: Registry;
  entries?(ref: string): string[] | undefined;
  log?(line: string): void;
}

const INDEX_RECHECKS = 3;

export interface SignOutcome {
  signer: string;
  prepared?: boolean;
  signature?: Signature;
  digest?: string;
}

export async function runSignStep(step: SignStep, ctx: SignStepContext): Promise<SignOutcome> {
  const signer = ctx.signers?.get(step.signerId);
  if (!signer) throw new PkgkitError(`${step.id}: this plan signs with ${step.using} (signer id ${step.signerId}), but run() was given no such signer (Session.signers, by signer id)`);
  if (step.action === "prepare") {
    await signer.prepare(step.repository);
    return { signer: step.using, prepared: true };
  }
  const d = step.digest ? { digest: step.digest, size: step.size!, mediaType: step.mediaType! } : ctx.published(step.ref);
  if (!d) throw new PkgkitError(`${step.ref}: nothing to sign: ${step.after ?? "the step before"} produced no digest; the image is not signed`);
  const options = { log: (line: string) => ctx.log?.(line) };
  let target = { repository: step.repository, tags: step.tags, digest: d.digest, size: d.size, mediaType: d.mediaType };
  let signature = await signer.sign(target, options);
  const ours = step.digest ? undefined : ctx.entries?.(step.ref);
  for (let round = 0; ours && ctx.registry && round < INDEX_RECHECKS; round++) {
    const tag = step.tags[0]!;
    const now = await ctx.registry.getManifest(step.repository, tag);
    if (!now || now.digest === target.digest) break;
    const listed = new Set((now.json.manifests ?? []).map((m) => m.digest));
    if (!ours.every((digest) => listed.has(digest))) {
      ctx.log?.(`${step.repository}:${tag} is now ${now.digest}, which no longer lists this run's entries; signed ${target.digest} only`);
      break;
    }
    ctx.log?.(`${step.repository}:${tag} moved on to ${now.digest} (another writer merged into it); signing that too`);
    target = { ...target, digest: now.digest, size: now.size, mediaType: now.mediaType };
    signature = await signer.sign(target, options);
  }
  return { signer: step.using, signature, digest: target.digest };
}
