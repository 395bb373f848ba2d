/** Executes a sign step: `prepare` readies the signer, `sign` signs the digest the plan names or an earlier step produced. */
import { PkgkitError } from "../errors.ts";
import type { Descriptor } from "../registry/types.ts";
import type { SignStep } from "./plan.ts";
import type { Signature, Signer } from "./types.ts";

export interface SignStepContext {
  /** By description (`SignStep.using`). */
  signers?: Map<string, Signer>;
  /** What this run pushed or merged, by ref. */
  published(ref: string): Descriptor | undefined;
}

export interface SignOutcome {
  signer: string;
  prepared?: boolean;
  signature?: Signature;
  digest?: string;
}

export async function runSignStep(step: SignStep, ctx: SignStepContext): Promise<SignOutcome> {
  const signer = ctx.signers?.get(step.using);
  if (!signer) throw new PkgkitError(`${step.id}: this plan signs with ${step.using}, but run() was given no such signer (RunOptions.signers)`);
  if (step.action === "prepare") {
    await signer.prepare(step.repository);
    return { signer: step.using, prepared: true };
  }
  const d = step.digest ? { digest: step.digest, size: step.size!, mediaType: step.mediaType! } : ctx.published(step.ref);
  if (!d) throw new PkgkitError(`${step.ref}: nothing to sign: ${step.after ?? "the step before"} produced no digest; the image is not signed`);
  const signature = await signer.sign({ repository: step.repository, tags: step.tags, digest: d.digest, size: d.size, mediaType: d.mediaType });
  return { signer: step.using, signature, digest: d.digest };
}
