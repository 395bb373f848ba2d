// A custom pipeline composed from pkgkit's recipes, the same pieces the CLI uses:
// resolve packages, refuse dirty ones, plan, show the plan, run it, then smoke-test every image
// the run built by running it on its platform.
//
//   npx tsx examples/pipeline/pipeline.ts [dir...]        (default: examples/hello)
import process from "node:process";
import { formatPlan, run, archRef, ExitCode } from "pkgkit";
import { packagesFromDirs, planBuild, consoleReporter, summarize } from "pkgkit/recipes";

const dirs = process.argv.slice(2);
const packages = await packagesFromDirs(dirs.length ? dirs : ["examples/hello"], {
  org: process.env.PKGKIT_ORG ?? "pipeline-example",
});

const dirty = packages.filter((p) => p.dirty);
if (dirty.length > 0 && !process.env.ALLOW_DIRTY) {
  console.error(`refusing to build dirty packages: ${dirty.map((p) => p.dir).join(", ")} (set ALLOW_DIRTY=1)`);
  process.exit(ExitCode.usage);
}

const { plan, session } = await planBuild(packages);
console.log(formatPlan(plan));
const result = await run(plan, session, { reporter: consoleReporter() });
console.error(summarize(result));
if (!result.ok) process.exit(ExitCode.failed);

// The custom part: run each package's image for each arch and print what it says.
for (const pkg of packages) {
  for (const arch of pkg.arches) {
    const r = await session.shell.exec(["docker", "run", "--rm", "--platform", `linux/${arch}`, archRef(pkg, arch)]);
    console.log(`smoke test ${archRef(pkg, arch)}: ${r.code === 0 ? r.stdout.trim() : `FAILED (${r.stderr.trim()})`}`);
    if (r.code !== 0) process.exitCode = ExitCode.failed;
  }
}
