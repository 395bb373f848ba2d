/**
 * The soak: many pushes of distinct 50 MB packages (random content, so nothing is skipped) to a
 * registry of its own, optionally while one core is kept busy; every failure is reported with its
 * cause. `npm run soak` runs 10 rounds of 10 packages (100 pushes) under load; the default suite
 * runs one round (test/integration/soak.test.ts).
 *
 *   tsx test/soak.ts [--rounds 10] [--packages 10] [--mb 50] [--load]
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createRegistry } from "../lib/registry/index.ts";
import { BIN, shAsync, sh, tmpRepo } from "./helpers.ts";
import { startRegistry } from "./services.ts";

export interface SoakOptions {
  rounds: number;
  /** Packages per round, pushed by one `pkgkit push`. */
  packages: number;
  /** Size of each package's random file, MB. */
  mb?: number;
  /** Keep one core busy meanwhile. */
  load?: boolean;
  log?: (line: string) => void;
}

export interface SoakResult {
  pushes: number;
  /** Packages whose push failed or whose index did not read back, with the cause. */
  failures: { round: number; pkg: string; cause: string }[];
  /** Registry retry lines pkgkit printed. */
  retries: string[];
  seconds: number;
}

function randomFile(path: string, mb: number) {
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < mb; i++) writeSync(fd, randomBytes(1024 * 1024));
  } finally {
    closeSync(fd);
  }
}

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const mb = options.mb ?? 50;
  const started = Date.now();
  const reg = await startRegistry();
  const busy = options.load ? spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }) : undefined;
  const run = `soak${process.pid}${Date.now().toString(36)}`;
  const org = `${reg.address}/${run}`;
  const repo = tmpRepo();
  const client = createRegistry();
  const result: SoakResult = { pushes: 0, failures: [], retries: [], seconds: 0 };
  try {
    const names = Array.from({ length: options.packages }, (_, i) => `p${i}`);
    for (const n of names) {
      mkdirSync(join(repo.dir, n));
      repo.write(`${n}/Dockerfile`, "FROM scratch\nCOPY data /data\n");
      repo.write(`${n}/build.yml`, `image: ${n}\narches: [amd64]\n`);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const n of names) randomFile(join(repo.dir, n, "data"), mb);
      repo.commit();
      const r = await shAsync([process.execPath, BIN, "push", "--json", "--disable-content-trust", "--org", org, ...names.map((n) => join(repo.dir, n))], repo.dir);
      result.retries.push(...r.stderr.split("\n").filter((l) => l.startsWith("retrying ")));
      let out: { packages?: { ref: string; index: { digest: string } | null }[] } = {};
      try {
        out = JSON.parse(r.stdout) as typeof out;
      } catch {
        // No JSON: the run stopped before its summary; the cause is in stderr.
      }
      const failedSteps = r.stderr.split("\n").filter((l, i, all) => / FAILED after /.test(l) || (i > 0 && / FAILED after /.test(all[i - 1]!)));
      for (const n of names) {
        const pkg = out.packages?.find((p) => p.ref.startsWith(`${org}/${n}:`));
        const tag = pkg?.ref.split(":").pop();
        const index = tag ? await client.getManifest(`${org}/${n}`, tag).catch(() => undefined) : undefined;
        const ok = r.code === 0 && pkg?.index && index?.digest === pkg.index.digest && index.json.manifests?.some((d) => d.platform?.architecture === "amd64");
        if (ok) result.pushes++;
        else {
          const cause = failedSteps.filter((l) => l.includes(`/${n} `) || !l.includes(" FAILED after ")).join("\n") || r.stderr.trim().split("\n").slice(-3).join("\n");
          result.failures.push({ round, pkg: n, cause });
        }
        if (tag) sh(["docker", "rmi", "-f", `${org}/${n}:${tag}-amd64`]);
      }
      log(`round ${round}/${options.rounds}: exit ${r.code}, ${result.pushes} pushed so far, ${result.failures.length} failed, ${result.retries.length} retry lines, ${((Date.now() - started) / 1000).toFixed(0)}s`);
    }
  } finally {
    busy?.kill();
    await reg.stop();
    rmSync(reg.dataDir, { recursive: true, force: true });
    repo.rm();
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
  const r = await soak({
    rounds: arg("rounds", 10),
    packages: arg("packages", 10),
    mb: arg("mb", 50),
    load: process.argv.includes("--load"),
    log: (l) => console.log(l),
  });
  console.log(`\n${r.pushes} pushed, ${r.failures.length} failed in ${r.seconds.toFixed(0)}s; ${r.retries.length} retry lines`);
  for (const f of r.failures) console.log(`round ${f.round} ${f.pkg}:\n${f.cause.replace(/^/gm, "  ")}`);
  for (const l of r.retries) console.log(`  ${l}`);
  process.exitCode = r.failures.length ? 1 : 0;
}
