/**
 * Every package of a LinuxKit checkout: does `pkgkit show-tag` give the tag `linuxkit pkg show-tag`
 * gives? Clean, then after a dirty edit of every package (a changed Dockerfile line and an
 * untracked file, put back afterwards), one call per package and one batched call each.
 * With --migrate, also in a scratch clone where `pkgkit migrate` wrote each package's
 * pkg.config.ts (git-ignored there, so the trees stay the checkout's): the same tag from
 * pkg.config.ts as linuxkit's from build.yml, and the same `plan --json` as from the build.yml.
 *
 *   npx tsx bench/linuxkit-tree-tags.ts <linuxkit checkout> [--linuxkit <bin>] [--migrate | --migrate-only] [--verbose]
 *
 * Packages with an `@lkt:` build arg are left out (pkgkit folds dependency tags in, by design),
 * and so is the kernel's directory, which LinuxKit's Makefile reads with --build-yml: those three
 * files are compared with `--build-yml common/build-<x>.yml kernel`. The linuxkit binary is
 * --linuxkit, else the one test/linuxkit.ts finds. Prints matched/differing counts; exits 1 if any differ.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, table } from "./common.ts";
import { linuxkitOracle } from "../test/linuxkit.ts";

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, "..", "lib", "bin.mjs");
const usage = "usage: npx tsx bench/linuxkit-tree-tags.ts <linuxkit checkout> [--linuxkit <bin>] [--migrate | --migrate-only] [--verbose]";
const args = process.argv.slice(2);
const tree = args.find((a) => !a.startsWith("-") && args[args.indexOf(a) - 1] !== "--linuxkit");
const flags = parseFlags(args.filter((a) => a !== tree), { linuxkit: "string", migrate: "boolean", "migrate-only": "boolean", verbose: "boolean" }, usage);
if (!tree || !existsSync(join(tree, ".git"))) {
  console.error(`${usage}\n(a git checkout of github.com/linuxkit/linuxkit)`);
  process.exit(2);
}
const oracle = flags.linuxkit ? { bin: String(flags.linuxkit) } : linuxkitOracle();
if ("missing" in oracle) {
  console.error(oracle.missing);
  process.exit(2);
}
const root = resolve(tree);
// Neither tool gets an org from the caller's environment.
const env = { ...process.env, PKGKIT_ORG: "", LINUXKIT_PKG_ORG: "" };

interface Answer { code: number; out: string; err: string }
const run = (argv: string[], cwd = root): Answer => {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? 1, out: r.stdout ?? "", err: (r.stderr ?? "").trim() };
};
const linuxkit = (a: string[], cwd?: string) => run([oracle.bin, "pkg", "show-tag", ...a], cwd);
const pkgkit = (a: string[], cwd?: string) => run([process.execPath, BIN, "show-tag", ...a], cwd);
const git = (a: string[], cwd = root) => run(["git", "-C", cwd, ...a]);

/** A case: show-tag's arguments after the flags (one package, possibly with --build-yml). */
interface Case { name: string; args: string[]; dir: string; file: string }
const cases: Case[] = [];
const ymls = git(["ls-files", "-z", "--", "*build.yml", "*/build-*.yml"]).out.split("\0").filter(Boolean).sort();
let skipped = 0;
for (const f of ymls) {
  const text = readFileSync(join(root, f), "utf8");
  if (text.includes("@lkt:")) {
    skipped++;
    continue;
  }
  if (f.endsWith("/build.yml")) cases.push({ name: dirname(f), args: [dirname(f)], dir: dirname(f), file: f });
  else if (f.startsWith("kernel/common/")) cases.push({ name: `kernel (--build-yml ${f.slice("kernel/".length)})`, args: ["--build-yml", f.slice("kernel/".length), "kernel"], dir: "kernel", file: f });
}
const plain = cases.filter((c) => c.args.length === 1);

/** Compare both tools, one call per case and one batched call of the plain cases; returns the counts. */
function compare(state: string, cwd = root, tool: (a: string[], cwd?: string) => Answer = pkgkit): { state: string; matched: number; differing: number; batched: string } {
  let matched = 0;
  const differing: string[] = [];
  for (const c of cases) {
    const want = linuxkit(c.args, cwd);
    const got = tool(c.args, cwd);
    const same = want.code === 0 ? got.code === 0 && got.out === want.out : got.code !== 0;
    if (same) matched++;
    else differing.push(`${c.name}: linuxkit ${want.code === 0 ? want.out.trim() : `failed: ${want.err.split("\n").pop()}`} | pkgkit ${got.code === 0 ? got.out.trim() : `failed: ${got.err}`}`);
    if (flags.verbose) console.error(`${state} ${same ? "same" : "DIFFERS"} ${c.name}`);
  }
  // Batched: the plain packages both tools accept (a package either refuses fails the whole call).
  const ok = plain.filter((c) => linuxkit(c.args, cwd).code === 0).map((c) => c.dir);
  const lk = linuxkit(ok, cwd), pk = tool(ok, cwd);
  const batchedSame = lk.code === 0 && pk.code === 0 && lk.out === pk.out;
  for (const d of differing) console.log(`  ${state}: ${d}`);
  return { state, matched, differing: differing.length, batched: `${batchedSame ? "same" : "DIFFERENT"} (${ok.length} packages)` };
}

const rows: ReturnType<typeof compare>[] = [];
const report = (r: ReturnType<typeof compare>) => {
  rows.push(r);
  console.log(`${r.state}: ${r.matched} matched, ${r.differing} differing; batched call ${r.batched}`);
};
console.log(`${root}: ${cases.length} packages compared (${plain.length} build.yml, ${cases.length - plain.length} kernel --build-yml), ${skipped} with @lkt: left out`);
if (!flags["migrate-only"]) stateOfTheCheckout();
if (flags.migrate || flags["migrate-only"]) migrated().forEach(report);

console.log(`\n${table([["state", "matched", "differing", "batched call"], ...rows.map((r) => [r.state, String(r.matched), String(r.differing), r.batched])])}`);
if (rows.some((r) => r.differing > 0 || !r.batched.startsWith("same"))) process.exitCode = 1;

/** Clean, then dirty: every package edited and given an untracked file, put back byte for byte afterwards. */
function stateOfTheCheckout(): void {
  report(compare("clean"));

  // The dirty edit, put back afterwards byte for byte.
  const edited = new Map<string, string>();
  const created: string[] = [];
  try {
    for (const c of plain) {
      const dockerfile = join(root, c.dir, "Dockerfile");
      if (existsSync(dockerfile)) {
        edited.set(dockerfile, readFileSync(dockerfile, "utf8"));
        appendFileSync(dockerfile, "# local edit\n");
      }
      const extra = join(root, c.dir, "pkgkit-bench-untracked.txt");
      writeFileSync(extra, `${c.dir}\n`);
      created.push(extra);
    }
    report(compare("dirty"));
  } finally {
    for (const [f, text] of edited) writeFileSync(f, text);
    for (const f of created) unlinkSync(f);
  }
}

/**
 * A scratch clone (sharing the checkout's objects) in which `pkgkit migrate` wrote every plain
 * package's pkg.config.ts, ignored through .git/info/exclude so that the trees and their
 * cleanliness stay the checkout's: pkgkit reads those files, linuxkit the build.yml beside them.
 * Then the plan from the pkg.config.ts files against the plan from the build.yml files.
 */
function migrated(): ReturnType<typeof compare>[] {
  const scratch = mkdtempSync(join(tmpdir(), "pkgkit-migrate-tree-"));
  try {
    const clone = join(scratch, "linuxkit");
    const must = (r: Answer, what: string) => {
      if (r.code !== 0) throw new Error(`${what}: ${r.err}`);
      return r;
    };
    must(git(["clone", "-q", "--shared", "--no-checkout", root, clone]), "clone");
    // The sparse pattern keeps a checkout whose vendored files are missing from a partial mirror working.
    const sparse = git(["sparse-checkout", "list"]);
    if (sparse.code === 0 && sparse.out.trim()) must(git(["sparse-checkout", "set", "--no-cone", ...sparse.out.trim().split("\n")], clone), "sparse-checkout");
    must(git(["checkout", "-q", "HEAD"], clone), "checkout");
    mkdirSync(join(clone, ".git", "info"), { recursive: true });
    appendFileSync(join(clone, ".git", "info", "exclude"), "pkg.config.ts\n/node_modules/\n");
    // "pkgkit" resolves to this checkout, as an installed package would.
    mkdirSync(join(clone, "node_modules"));
    symlinkSync(resolve(here, ".."), join(clone, "node_modules", "pkgkit"));
    let failedMigrations = 0;
    for (const c of plain) {
      const r = run([process.execPath, BIN, "migrate", c.dir], clone);
      // A build.yml linuxkit refuses too (an unknown field) is no difference.
      if (r.code !== 0 && linuxkit(c.args, clone).code === 0) {
        failedMigrations++;
        console.log(`  migrate ${c.dir}: ${r.err}`);
      }
    }
    const tags = compare("migrated: pkg.config.ts vs linuxkit", clone);
    // Plans: from pkg.config.ts, and from the build.yml (--build-yml); the package file's path is the one expected difference.
    const dirs = plain.map((c) => c.dir).filter((d) => existsSync(join(clone, d, "pkg.config.ts")));
    const plan = (extra: string[]) => {
      const r = run([process.execPath, BIN, "plan", "--json", ...extra, ...dirs], clone);
      return r.code === 0 ? JSON.stringify(JSON.parse(r.out), (k, v) => (k === "file" || k === "resolved" ? undefined : v)) : `failed: ${r.err}`;
    };
    // A package both refuse to plan (LinuxKit's tests hold a Dockerfile that is not there, on purpose) is left out, and the rest planned again.
    const refusedBy = (failure: string) => new RegExp(`${clone.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/(.+?)/(?:pkg\\.config\\.ts|build\\.yml)`).exec(failure)?.[1];
    let fromTs = plan([]), fromYml = plan(["--build-yml", "build.yml"]);
    const refusedByBoth: string[] = [];
    for (let i = 0; i < 10 && fromTs.startsWith("failed") && fromYml.startsWith("failed"); i++) {
      const dir = refusedBy(fromTs);
      if (!dir || dir !== refusedBy(fromYml) || !dirs.includes(dir)) break;
      refusedByBoth.push(dir);
      dirs.splice(dirs.indexOf(dir), 1);
      fromTs = plan([]);
      fromYml = plan(["--build-yml", "build.yml"]);
    }
    const samePlan = fromTs === fromYml && !fromTs.startsWith("failed");
    console.log(
      `  plan --json over ${dirs.length} migrated packages: ${samePlan ? "same" : "DIFFERENT"}${fromTs.startsWith("failed") ? ` (${fromTs})` : ""}` +
        (refusedByBoth.length ? `; refused from both files alike: ${refusedByBoth.join(", ")}` : ""),
    );
    return [{ ...tags, differing: tags.differing + failedMigrations + (samePlan ? 0 : 1), batched: `${tags.batched}; plan --json of ${dirs.length}: ${samePlan ? "same" : "DIFFERENT"}` }];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
