/**
 * Recipe: `pkgkit doctor`. From the packages and flags a push would take, what a run needs (the
 * engines, the arches each builds, the registries of the orgs, each package's signer) and the
 * checks of lib/doctor/ for each, run at once, each bounded in time.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DEFAULT_ARCHES, type Arch } from "../lib/spec.ts";
import { engineSocket } from "../lib/engine-api.ts";
import { resolveSettings, type Flags } from "../lib/options.ts";
import { BUILD_YML, CONFIG_FILE } from "../lib/load.ts";
import type { Package } from "../lib/package.ts";
import { parseRepository } from "../lib/registry/names.ts";
import { defaultShell } from "../lib/shell.ts";
import { findWorkspace, workspaceDefaults } from "../lib/workspace.ts";
import { loadSigningConfig, packageSigner, resolveSignerConfig, runSigner, type RunSigner, type SignerConfig } from "../lib/sign/config.ts";
import { NETWORK_TIMEOUT_MS, runChecks, type Check, type CheckRow } from "../lib/doctor/check.ts";
import { archEngineRow, builderKindRow, buildxRow, engineFacts, engineRow } from "../lib/doctor/engine.ts";
import { binfmtRow } from "../lib/doctor/binfmt.ts";
import { diskRow } from "../lib/doctor/disk.ts";
import { registryRows } from "../lib/doctor/registry.ts";
import { cosignRow, notaryCliRow, notaryKeysRow, notaryPassphraseRow, notaryServerRows, sigstoreKeylessRows, sigstoreKeyRow } from "../lib/doctor/signers.ts";
import { graphOfTargets, resolveRunSet, targetsDir, type Targets } from "./packages.ts";

export type { CheckRow, CheckStatus } from "../lib/doctor/check.ts";

/** What `doctor` is told: the flags and signer of the push it checks for, and how long a network request may wait. */
export interface DoctorOptions {
  /** The flags, as push takes them (`--org`, `--arches`, `--builders`, `--builder`, `--registry-ca`, ...). */
  flags: Flags;
  /** The run's signer (`--signer`, `--key`, `--keyless`). */
  signing?: RunSigner;
  /** Longest wait of one network request (default 5 s). */
  timeoutMs?: number;
}

/** What a run of the packages would need: found from the packages (none: the flags alone). */
export interface DoctorNeeds {
  /** The packages looked at (`org/image`), none for machine checks only. */
  packages: string[];
  arches: Arch[];
  registries: string[];
  signers: { config: SignerConfig; repositories: string[] }[];
  /** The pkgkit.yml the signers' settings were read from, if any. */
  signingConfig?: string;
}

/** The report: what was looked at, and one row per check. */
export interface DoctorReport {
  needs: DoctorNeeds;
  rows: CheckRow[];
}

/** The GOARCH of this machine, for when the engine does not say its own. */
const HOST_ARCH: Partial<Record<string, Arch>> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };

/** Checks everything a push of the targets would need; with no targets and no package here, the machine alone. */
export async function doctor(t: Targets, options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  const workspace = await findWorkspace(targetsDir(t));
  const settings = resolveSettings(options.flags, process.env, { builders: true, registry: true, workspace: workspace && workspaceDefaults(workspace) });
  const shell = await defaultShell();
  const here = process.cwd();
  const hasPackages = t.defs !== undefined || t.dirs.length > 0 || workspace !== undefined || existsSync(join(here, CONFIG_FILE)) || existsSync(join(here, BUILD_YML));
  const packages = hasPackages ? resolveRunSet(await graphOfTargets(t, settings.packages, workspace, shell), false).packages : [];
  const needs = await needsOf(packages, settings.packages.org, settings.packages.arches, options.signing);
  const registry = settings.registry!;
  const engines = settings.engines;

  const checks: { name: string; run: Check }[] = [
    {
      name: "engine",
      run: async () => {
        const f = await engineFacts(shell, undefined, timeoutMs);
        const native = f.arch ?? HOST_ARCH[process.arch];
        const emulated = needs.arches.filter((a) => a !== native && !engines[a]);
        const local = engineSocket(undefined) !== undefined && f.rootDir !== undefined && existsSync(f.rootDir);
        return [engineRow(f), ...emulated.map((a) => binfmtRow(a, f.platforms)), ...(local ? [diskRow("engine data", f.rootDir!)] : [])];
      },
    },
    { name: "buildx", run: async () => [await buildxRow(shell, settings.builderKind, timeoutMs)] },
    { name: "builder kind", run: async () => [await builderKindRow(shell, settings.builderKind)] },
    ...Object.entries(engines).map(([arch, engine]) => ({ name: `builder ${arch}`, run: async () => [archEngineRow(arch, engine, await engineFacts(shell, engine, timeoutMs))] })),
    ...needs.registries.map((r) => ({ name: `registry ${r}`, run: () => registryRows(r, { ca: registry.ca, insecure: registry.insecure, timeoutMs: Math.min(timeoutMs, registry.bounds.requestMs.value) }) })),
    ...needs.signers.flatMap(({ config, repositories }) => signerChecks(config, repositories)),
    { name: "disk scratch", run: async () => [diskRow("scratch", tmpdir())] },
    { name: "cosign", run: async () => [await cosignRow(shell, timeoutMs)] },
  ];

  function signerChecks(config: SignerConfig, repositories: string[]): { name: string; run: Check }[] {
    if (config.type === "sigstore")
      return config.keyless === true || (config.keyless === undefined && !config.key)
        ? [{ name: "sigstore keyless", run: () => sigstoreKeylessRows(config, timeoutMs) }]
        : [{ name: "sigstore key", run: async () => [sigstoreKeyRow(config)] }];
    return [
      { name: "notary cli", run: async () => [await notaryCliRow(shell, timeoutMs)] },
      { name: "notary server", run: () => notaryServerRows(config, repositories, timeoutMs) },
      { name: "notary keys", run: async () => [notaryKeysRow(config, repositories)] },
      { name: "notary passphrase", run: async () => [await notaryPassphraseRow(shell, config, repositories, { configFile: needs.signingConfig, timeoutMs })] },
    ];
  }

  // A check's own waits are bounded by timeoutMs each; the engine check makes a few in a row.
  const rows = await runChecks(checks, timeoutMs * 3);
  return { needs, rows: dedupe(rows) };
}

/** Rows once each (two signer configurations share the notary CLI's row). */
function dedupe(rows: CheckRow[]): CheckRow[] {
  const seen = new Set<string>();
  return rows.filter((r) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What the packages need: their arches, their orgs' registries, their signers (with the repositories each signs). */
async function needsOf(packages: Package[], org: string | undefined, arches: Arch[] | undefined, signing: RunSigner | undefined): Promise<DoctorNeeds> {
  const run = runSigner(signing);
  const file = await loadSigningConfig();
  const signingConfig = file.file ? { signingConfig: file.file } : {};
  if (packages.length === 0) {
    const configured = run !== undefined || file.signer !== undefined || file.notary !== undefined || file.sigstore !== undefined;
    const repositories = org ? [`${org}/doctor`] : [];
    return {
      packages: [],
      arches: arches ?? DEFAULT_ARCHES,
      registries: org ? [parseRepository(`${org}/doctor`).registry] : [],
      signers: configured ? [{ config: resolveSignerConfig(run, undefined, undefined, file), repositories }] : [],
      ...signingConfig,
    };
  }
  const signers = new Map<string, { config: SignerConfig; repositories: string[] }>();
  for (const p of packages.filter((p) => p.trust)) {
    const config = resolveSignerConfig(run, packageSigner(p.spec.signer, p.dir), p.workspaceSigner, file);
    const key = JSON.stringify(config, (_k, v: unknown) => (typeof v === "function" ? `fn:${String(v)}` : v));
    const entry = signers.get(key) ?? { config, repositories: [] };
    entry.repositories.push(p.repository);
    signers.set(key, entry);
  }
  return {
    packages: packages.map((p) => p.repository),
    arches: [...new Set(packages.flatMap((p) => p.arches))],
    registries: [...new Set(packages.map((p) => parseRepository(p.repository).registry))],
    signers: [...signers.values()],
    ...signingConfig,
  };
}
