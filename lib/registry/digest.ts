/** Content digests as the distribution spec writes them: `sha256:<64 hex>`. */
import { nodeCrypto } from "../node-crypto.ts";

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export const sha256 = (bytes: Uint8Array | string): string => `sha256:${nodeCrypto().createHash("sha256").update(bytes).digest("hex")}`;
