/**
 * Which signer signs a package, and with what settings. Four places can say, most specific first:
 *   run        `--signer`, `--key`, `--keyless` (or `signing.signer` in code)
 *   package    the `signer` field of pkg.config.ts / build.yml
 *   workspace  `signer` in the pkgkit.config.ts of the workspace the package is in (a name only)
 *   pkgkit.yml `signer`, `notary:` and `sigstore:` ($PKGKIT_CONFIG, else the first pkgkit.yml
 *              from the current directory up): the signing config, not to be confused with a
 *              workspace's pkgkit.config.ts
 * and the default is notary, LinuxKit's signer. The signer's type comes from the most specific
 * place that names one; its settings are merged from every place that has settings for that type.
 * That merge is why the signer is resolved here; every other setting's precedence is in lib/options.ts.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import * as z from "zod/mini";
import { notaryOptionsSchema, signerName, sigstoreOptionsSchema, type SignerConfig, type SignerName, type SignerSpec } from "./schema.ts";
import { InputError } from "../errors.ts";
import { MAX_CONFIG_BYTES, readTextLimited } from "../limits.ts";
import { checkPemFile, type PemKind } from "../pemfile.ts";

export {
  NOTARY_ROLE, NOTARY_ROLE_EXPECTED, notaryOptionsSchema, SIGNER_NAMES, signerSpecSchema, sigstoreOptionsSchema,
  type NotaryOptions, type SignerConfig, type SignerName, type SignerSpec, type SigstoreOptions,
} from "./schema.ts";

/** pkgkit.yml */
export const signingConfigSchema = z.strictObject({
  signer: z.optional(signerName),
  notary: z.optional(notaryOptionsSchema),
  sigstore: z.optional(sigstoreOptionsSchema),
});
export type SigningConfig = z.infer<typeof signingConfigSchema> & { file?: string };

export const SIGNING_CONFIG_FILE = "pkgkit.yml";

/** $PKGKIT_CONFIG, else the first pkgkit.yml from `cwd` up; paths in it are made absolute. */
export async function loadSigningConfig(cwd = process.cwd(), env: Record<string, string | undefined> = process.env): Promise<SigningConfig> {
  let file = env.PKGKIT_CONFIG ? resolve(cwd, env.PKGKIT_CONFIG) : undefined;
  if (file && !existsSync(file)) throw new InputError(`PKGKIT_CONFIG=${env.PKGKIT_CONFIG}: no such file; expected a ${SIGNING_CONFIG_FILE}`);
  for (let dir = resolve(cwd); !file; dir = dirname(dir)) {
    if (existsSync(join(dir, SIGNING_CONFIG_FILE))) file = join(dir, SIGNING_CONFIG_FILE);
    if (dirname(dir) === dir) break;
  }
  if (!file) return {};
  const { parseYaml } = await import("../yaml.ts");
  const parsed = parseYaml(readTextLimited(file, MAX_CONFIG_BYTES, `a ${SIGNING_CONFIG_FILE}`, env.PKGKIT_CONFIG ? `PKGKIT_CONFIG=${file}` : file));
  if ("problems" in parsed) throw new InputError(parsed.problems.map((p) => `${file}${p.line ? `:${p.line}:${p.column}` : ""}: ${p.message}`).join("\n"));
  const raw = parsed.value ?? {};
  const r = signingConfigSchema.safeParse(raw);
  if (!r.success) throw new InputError(r.error.issues.map((i) => `${file}: field "${i.path.join(".")}": ${i.message}`).join("\n"));
  const config = withAbsolutePaths(r.data, dirname(file));
  checkPaths(config, file);
  return { ...config, file };
}

/** The key and certificate files pkgkit.yml names exist and hold what they should, before anything is built. */
function checkPaths(config: z.infer<typeof signingConfigSchema>, file: string): void {
  const pem = (section: "notary" | "sigstore", field: string, kind: PemKind) => {
    const path = (config[section] as Record<string, unknown> | undefined)?.[field];
    if (typeof path === "string") checkPemFile(path, kind, `${file}: field "${section}.${field}": ${JSON.stringify(path)}`);
  };
  pem("notary", "ca", "certificate");
  pem("sigstore", "key", "private key");
  pem("sigstore", "publicKey", "public key");
}

const PATH_FIELDS = ["ca", "trustDir", "key", "publicKey", "trustedRoot"] as const;

function absolutize<T extends object>(o: T | undefined, base: string): T | undefined {
  if (!o) return o;
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  for (const k of PATH_FIELDS) if (typeof out[k] === "string" && !isAbsolute(out[k] as string)) out[k] = resolve(base, out[k] as string);
  return out as T;
}

function withAbsolutePaths(w: z.infer<typeof signingConfigSchema>, base: string) {
  return { ...w, notary: absolutize(w.notary, base), sigstore: absolutize(w.sigstore, base) };
}

/** A package's `signer` field, its paths made absolute against the package directory. */
export function packageSigner(spec: SignerSpec | undefined, dir: string): Partial<SignerConfig> | undefined {
  if (spec === undefined) return undefined;
  return typeof spec === "string" ? { type: spec } : absolutize(spec, dir);
}

/** What a run asks for, from flags or code. */
export interface RunSigner {
  signer?: SignerName | SignerConfig;
  /** `--key <pem>`: sigstore with this key. */
  key?: string;
  /** `--keyless` */
  keyless?: boolean;
}

/** The flags as a partial signer config; `--key`/`--keyless` imply sigstore and contradict notary. */
export function runSigner(r: RunSigner | undefined): Partial<SignerConfig> | undefined {
  if (!r) return undefined;
  const base: Partial<SignerConfig> | undefined = typeof r.signer === "string" ? { type: r.signer } : r.signer;
  if (r.key === undefined && !r.keyless) return base;
  if (base?.type === "notary") throw new InputError(`--${r.key !== undefined ? "key" : "keyless"} is a sigstore option; it does not go with --signer notary`);
  if (r.key !== undefined && r.keyless) throw new InputError("--key and --keyless exclude each other: sign with a key pair, or keylessly");
  return { ...base, type: "sigstore", ...(r.key !== undefined ? { key: resolve(r.key), keyless: false } : { keyless: true, key: undefined }) } as Partial<SignerConfig>;
}

/**
 * The type: run > package > workspace > pkgkit.yml > notary. Settings for that type: pkgkit.yml's,
 * then the package's, then the run's (a workspace names a signer, with no settings).
 */
export function resolveSignerConfig(
  run: Partial<SignerConfig> | undefined,
  pkg: Partial<SignerConfig> | undefined,
  workspace: SignerName | undefined,
  file: SigningConfig,
): SignerConfig {
  const type: SignerName = run?.type ?? pkg?.type ?? workspace ?? file.signer ?? "notary";
  const settings = (p: Partial<SignerConfig> | undefined) => (p && (p.type === undefined || p.type === type) ? p : {});
  const merged: Record<string, unknown> = { ...(file[type] ?? {}), ...settings(pkg), ...settings(run), type };
  for (const k of Object.keys(merged)) if (merged[k] === undefined) delete merged[k];
  return merged as SignerConfig;
}
