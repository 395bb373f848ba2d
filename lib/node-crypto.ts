/**
 * node:crypto, loaded by the first call instead of with each module that imports it: the public
 * entry imports the signers, the registry's digests and the run, while a show-tag of a clean
 * package hashes nothing. Loading it costs a show-tag about 5 ms on Node and 3 on Bun here
 * (bench/README.md, "startup"). A require() of a built-in is synchronous on Node, Deno and Bun alike.
 */
import { createRequire } from "node:module";

let loaded: typeof import("node:crypto") | undefined;

/** The node:crypto module, loaded on the first call. */
export const nodeCrypto = (): typeof import("node:crypto") => (loaded ??= createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto"));
