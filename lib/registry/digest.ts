/** Content digests as the distribution spec writes them: `sha256:<64 hex>`. */
import { createHash } from "node:crypto";

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export const sha256 = (bytes: Uint8Array | string): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
