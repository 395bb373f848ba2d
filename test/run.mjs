#!/usr/bin/env node
// Runs every uvu suite in its own process and prints one closing line: "N passed, N failed".
// Unit suites (test/unit) run under Node (tsx), Deno and Bun; integration suites
// (test/integration) run under Node against the real engine and registries that test/env/start.sh
// starts (the registry client's suites under Deno and Bun too; sign-runtimes drives pkg.config.ts
// under Deno and Bun); the CLI suite runs twice, through the bundled CLI and from the sources.
//   node test/run.mjs [--unit] [--only <substring>]
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const bin = (name) => join(root, "node_modules/.bin", name);

const list = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith(".test.ts")).sort().map((f) => join(dir, f));
const runs = [];
for (const file of list("test/unit")) {
  runs.push({ label: `node ${file}`, argv: [bin("tsx"), file] });
  runs.push({ label: `deno ${file}`, argv: [bin("deno"), "run", "-A", "--quiet", file] });
  runs.push({ label: `bun  ${file}`, argv: [bin("bun"), file] });
}
if (!unitOnly) {
  for (const file of list("test/integration")) runs.push({ label: `node ${file}`, argv: [bin("tsx"), file] });
  // The registry client has a transport per runtime (undici, Deno's and Bun's fetch, each with its own
  // timeouts): its suites run under all three.
  for (const registrySuite of ["test/integration/registry.test.ts", "test/integration/registry-auth.test.ts", "test/integration/registry-faults.test.ts"]) {
    runs.push({ label: `deno ${registrySuite}`, argv: [bin("deno"), "run", "-A", "--quiet", registrySuite] });
    runs.push({ label: `bun  ${registrySuite}`, argv: [bin("bun"), registrySuite] });
  }
  // The bin runs the bundled CLI when it is fresh; check the CLI again from the sources.
  runs.push({ label: "node test/integration/cli.test.ts (sources, no bundle)", argv: [bin("tsx"), "test/integration/cli.test.ts"], env: { PKGKIT_NO_BUNDLE: "1" } });
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");
let passed = 0;
let failed = 0;
const failures = [];
for (const r of runs.filter((r) => !only || r.label.includes(only))) {
  const started = Date.now();
  process.stdout.write(`\n=== ${r.label}\n`);
  const { code, output } = await new Promise((resolve) => {
    const child = spawn(r.argv[0], r.argv.slice(1), { cwd: root, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...r.env } });
    let output = "";
    const onData = (d) => {
      output += d;
      process.stdout.write(d);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => resolve({ code, output }));
  });
  const text = strip(output);
  const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  const ok = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(ok)) {
    // The suite crashed before uvu could report: count it as one failure.
    failed += 1;
    failures.push(`${r.label} (crashed, exit ${code})`);
  } else {
    passed += ok;
    failed += total - ok;
    if (total !== ok || code !== 0) failures.push(`${r.label} (${total - ok} failed, exit ${code})`);
    if (total === ok && code !== 0) failed += 1;
  }
  process.stdout.write(`--- ${r.label}: ${Number.isNaN(ok) ? "crashed" : `${ok}/${total}`} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}
if (failures.length) process.stdout.write(`\nFailed suites:\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
