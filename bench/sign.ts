/**
 * Benchmark: Sigstore key-pair signing, pkgkit against stock cosign, side by side, interleaved:
 *   A: pkgkit's Signer, sigstoreSigner({ key }, { registry }).sign() for each of N digests, at most
 *      --parallel at once (run()'s default jobs: one per core), in this process;
 *   B: `cosign sign --key cosign.key --tlog-upload=false --yes <repo>@<digest>` for each digest,
 *      one process per digest, `xargs -P <parallel>`.
 * Each run signs its own N images, pushed during setup, so every digest is signed for the first
 * time, as in a push. A writes more than B: the cosign signature and a Sigstore bundle referrer.
 *
 *   npx tsx bench/sign.ts [--images 20] [--rounds 3] [--parallel <cores>]
 *
 * Needs the test environment (test/env/start.sh: plain registry) and cosign on PATH
 * (test/env/install.sh). No target: it reports the ratio.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { mapLimit } from "../lib/concurrency.ts";
import { createRegistry, MediaTypes, type Registry } from "../lib/registry/index.ts";
import { sha256 } from "../lib/registry/digest.ts";
import { sigstoreSigner, type SignTarget } from "../lib/sign/index.ts";
import { benchEnv, median, mustRun, parseFlags, secs, table, timed, plainRegistry } from "./common.ts";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "..");
const BIN = join(ROOT, "lib", "bin.mjs");
const COSIGN = process.env.COSIGN ?? "cosign";

const usage = "usage: npx tsx bench/sign.ts [--images 20] [--rounds 3] [--parallel <cores>]";
const flags = parseFlags(process.argv.slice(2), { images: "string", rounds: "string", parallel: "string" }, usage);
const n = Number.parseInt(String(flags.images ?? "20"), 10);
const rounds = Number.parseInt(String(flags.rounds ?? "3"), 10);
const parallel = Number.parseInt(String(flags.parallel ?? availableParallelism()), 10);
if (!(n > 0) || !(rounds > 0) || !(parallel > 0)) {
  console.error(usage);
  process.exit(2);
}

const registryHost = plainRegistry();
if (timed([COSIGN, "version"]).code !== 0) {
  console.error(`${COSIGN} does not run: install it with test/env/install.sh (or point $COSIGN at a cosign 2.x)`);
  process.exit(2);
}

// Throwaway keys. The password is random, reaches cosign and pkgkit through $COSIGN_PASSWORD only.
const tmp = mkdtempSync(join(tmpdir(), "pkgkit-bench-sign-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
process.env.COSIGN_PASSWORD = randomBytes(12).toString("hex");
const env = { ...benchEnv, COSIGN_PASSWORD: process.env.COSIGN_PASSWORD };
const key = join(tmp, "pkgkit.pem");
const pub = join(tmp, "pkgkit.pub");
const cosignKey = join(tmp, "cosign.key");
mustRun(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "env:COSIGN_PASSWORD", "-out", key], tmp, env);
mustRun(["openssl", "pkey", "-in", key, "-passin", "env:COSIGN_PASSWORD", "-pubout", "-out", pub], tmp, env);
// cosign reads only its own encrypted key format: import the same key when cosign can, else
// let cosign make one (same curve and algorithm; either way cosign decrypts it in every process).
const plain = join(tmp, "plain.pem");
mustRun(["openssl", "pkey", "-in", key, "-passin", "env:COSIGN_PASSWORD", "-out", plain], tmp, env);
const imported = timed([COSIGN, "import-key-pair", "--key", plain, "--output-key-prefix", join(tmp, "cosign")], { env });
rmSync(plain);
let keyNote = "the same P-256 key, imported with cosign import-key-pair";
if (imported.code !== 0) {
  mustRun([COSIGN, "generate-key-pair", "--output-key-prefix", join(tmp, "cosign")], tmp, env);
  keyNote = `a P-256 key of cosign generate-key-pair: cosign import-key-pair refused the PEM key (${imported.stderr.trim().split("\n").at(-1)})`;
}
const cosignPub = join(tmp, "cosign.pub");

/** A tar holding one small file. */
function tarOf(name: string, content: string): Buffer {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write(" ".repeat(8), 148);
  header.write("0", 156);
  header.write("ustar\0" + "00", 257);
  const sum = header.reduce((s, b) => s + b, 0);
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  body.copy(padded);
  return Buffer.concat([header, padded, Buffer.alloc(1024)]);
}

/** Pushes a one-layer OCI image to `repository:tag` and returns what signing it needs. */
async function pushTinyImage(registry: Registry, repository: string, tag: string): Promise<SignTarget> {
  const tar = tarOf("id", `${repository}:${tag}\n`);
  const gz = gzipSync(tar);
  const layer = { digest: sha256(gz), size: gz.length, data: gz };
  const configBytes = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(tar)] }, config: {} }));
  const config = { digest: sha256(configBytes), size: configBytes.length, data: configBytes };
  for (const b of [config, layer]) await registry.uploadBlob(repository, b);
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: layer.digest, size: layer.size }],
  }));
  const digest = await registry.putManifest(repository, tag, bytes, MediaTypes.ociManifest);
  return { repository, tags: [tag], digest, size: bytes.length, mediaType: MediaTypes.ociManifest };
}

// One set of N images per run (warm-up included) and contender, in N repositories: each digest is
// signed once, the first time, as after a push. They stay in the registry, as noop-push's do.
const setup = createRegistry();
const repositories = Array.from({ length: n }, (_, i) => `${registryHost}/bench-sign-${process.pid}/img${i}`);
const t0 = performance.now();
const push = (tag: string) => mapLimit(repositories, 8, (repository) => pushTinyImage(setup, repository, tag));
const sets = { A: [] as SignTarget[][], B: [] as SignTarget[][] };
for (let run = 0; run <= rounds; run++) {
  sets.A.push(await push(`a${run}`));
  sets.B.push(await push(`b${run}`));
}
console.error(`setup: ${2 * (rounds + 1)} sets of ${n} images pushed to ${registryHost}/bench-sign-${process.pid}/img0..${n - 1} in ${secs(performance.now() - t0)}s`);

/** A: what a push's sign steps do: one signer for the run, prepare, then sign() each digest, `parallel` at once. */
async function runA(set: SignTarget[]): Promise<number> {
  const start = performance.now();
  const signer = sigstoreSigner({ key }, { registry: createRegistry() });
  for (const repository of new Set(set.map((t) => t.repository))) await signer.prepare(repository);
  const signatures = await mapLimit(set, parallel, (t) => signer.sign(t));
  const ms = performance.now() - start;
  const short = signatures.filter((s) => s.stored.length !== 2);
  if (short.length) throw new Error(`pkgkit stored ${short[0]!.stored.join(", ")} for ${short[0]!.ref}: expected a signature and a bundle`);
  return ms;
}

function runB(set: SignTarget[]): number {
  const r = timed(["xargs", "-P", String(parallel), "-n", "1", COSIGN, "sign", "--key", cosignKey, "--tlog-upload=false", "--yes"], {
    input: set.map((t) => `${t.repository}@${t.digest}`).join("\n"),
    env,
  });
  if (r.code !== 0) throw new Error(`cosign sign failed (xargs exit ${r.code}):\n${r.stderr.slice(-1500)}`);
  return r.ms;
}

/** Stock cosign must accept the signature of `t` with `publicKey`, for the digest signed. */
function cosignVerify(publicKey: string, t: SignTarget): void {
  const r = timed([COSIGN, "verify", "--key", publicKey, "--insecure-ignore-tlog=true", `${t.repository}@${t.digest}`], { env });
  const claims = r.code === 0 ? (JSON.parse(r.stdout) as { critical: { image: { "docker-manifest-digest": string } } }[]) : [];
  if (!claims.some((c) => c.critical.image["docker-manifest-digest"] === t.digest))
    throw new Error(`cosign verify --key ${publicKey} ${t.repository}@${t.digest} failed (${r.code}):\n${r.stderr.slice(-1500)}`);
}

const verifier = sigstoreSigner({ key }, { registry: setup });
async function check(run: number): Promise<void> {
  const a = sets.A[run]!;
  for (const t of [a[0]!, a.at(-1)!]) {
    cosignVerify(pub, t);
    const v = await verifier.verify(t);
    if (!v.ok) throw new Error(`pkgkit verify ${v.ref}: ${v.detail}`);
  }
  cosignVerify(cosignPub, sets.B[run]![0]!);
}

const times = { A: [] as number[], B: [] as number[] };
for (let run = 0; run <= rounds; run++) {
  const a = await runA(sets.A[run]!);
  const b = runB(sets.B[run]!);
  await check(run);
  if (run === 0) console.error(`  warm-up: A ${secs(a)}s, B ${secs(b)}s`);
  else {
    times.A.push(a);
    times.B.push(b);
    console.error(`  round ${run}/${rounds}: A ${secs(a)}s, B ${secs(b)}s`);
  }
}

const a = median(times.A);
const b = median(times.B);
const piece = (argv: string[]) => median(Array.from({ length: 5 }, () => timed(argv, { cwd: ROOT, env }).ms));
const pkgkitStart = piece(["node", BIN, "--help"]);
const sigstoreLoad = piece(["node", "--input-type=module", "-e", "await import('@sigstore/sign'); await import('@sigstore/bundle')"]) - piece(["node", "-e", "0"]);
const cosignStart = piece([COSIGN, "public-key", "--key", cosignKey]);
console.log(`\nSigstore key-pair signing of ${n} digests (ECDSA P-256, no transparency log), ${parallel} at once`);
console.log(`  A = pkgkit: sigstoreSigner({ key }, { registry }).sign() per digest, mapLimit ${parallel} (run()'s default jobs), in this process;`);
console.log(`      per digest: the cosign signature (sha256-<hex>.sig) AND a Sigstore bundle referrer + referrers tag: more writes than B`);
console.log(`  B = cosign sign --key cosign.key --tlog-upload=false --yes <repo>@<digest>, one process per digest, xargs -P ${parallel};`);
console.log(`      per digest: the cosign signature only`);
console.log(`  keys: A ${key.slice(tmp.length + 1)} (encrypted PKCS#8), B ${keyNote}`);
console.log(`medians of ${rounds} interleaved rounds after one warm-up each; each run signs ${n} digests of its own\n`);
console.log(table([
  ["", "A pkgkit (s)", "B cosign (s)", "A/B"],
  ...times.A.map((x, i) => [`round ${i + 1}`, secs(x), secs(times.B[i]!), (x / times.B[i]!).toFixed(2)]),
  ["median", secs(a), secs(b), (a / b).toFixed(2)],
]));
console.log(`\nbreakdown (median ms of 5, separate processes): pkgkit start-up (node lib/bin.mjs --help) ${pkgkitStart.toFixed(1)} ` +
  `and loading @sigstore/sign and @sigstore/bundle ${sigstoreLoad.toFixed(1)}, which A leaves out and a push pays once: ` +
  `(A + both)/B = ${((a + pkgkitStart + sigstoreLoad) / b).toFixed(2)}; ` +
  `cosign start-up + key decryption (cosign public-key --key) ${cosignStart.toFixed(1)}, which B pays per digest`);
console.log(`checked every run: stock cosign verify --key --insecure-ignore-tlog=true passes for 2 of A's digests (pkgkit verify, signature and bundle, too) and 1 of B's`);
console.log(`A/B = ${(a / b).toFixed(2)}`);
