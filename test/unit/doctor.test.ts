// The doctor hint: errors a `pkgkit doctor` check explains end with it (errorText), others do not;
// the table's shape; the binfmt row read from a handler file of the test's own (a stand-in for
// /proc/sys/fs/binfmt_misc, whose real handlers the integration suite checks).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DOCTOR_HINT, errorText, PkgkitError } from "../../lib/errors.ts";
import { RegistryError } from "../../lib/registry/errors.ts";
import { passphrase } from "../../lib/sign/secrets.ts";
import { loadPrivateKey } from "../../lib/sign/sigstore.ts";
import { notarySigner } from "../../lib/sign/notary.ts";
import type { Shell } from "../../lib/shell.ts";
import { buildxBuilder, isMachineProblem } from "../../lib/builder.ts";
import { binfmtRow } from "../../lib/doctor/binfmt.ts";
import { formatDoctor } from "../../lib/cli/doctor.ts";

const textOf = async (f: () => unknown) => {
  try {
    await f();
  } catch (e) {
    return errorText(e);
  }
  throw new Error("expected an error");
};

test("errors a doctor check explains end with the hint; others do not (the notary CLI missing and an engine refusing the certificate from Shell stand-ins)", async () => {
  delete process.env.PKGKIT_TEST_NO_PASSPHRASE;
  const hinted = [
    await textOf(() => passphrase({ env: "PKGKIT_TEST_NO_PASSPHRASE", commands: [], what: "the test passphrase" })()),
    await textOf(() => loadPrivateKey(join(tmpdir(), "pkgkit-no-such-key.pem"))),
    errorText(new RegistryError({ kind: "unreachable", registry: "r" }, "cannot reach registry r: connection refused")),
    errorText(new RegistryError({ kind: "tls", registry: "r" }, "TLS: certificate for r is signed by an unknown authority")),
    errorText(new RegistryError({ kind: "auth", registry: "r", status: 401 }, "wrong or missing credentials for r")),
  ];
  // A Shell stand-in where no program is found, as the shell says it (exit 127).
  const noPrograms: Shell = { name: "zx", exec: async () => ({ code: 127, stdout: "", stderr: "notary: command not found (ENOENT)\n" }) };
  const notary = notarySigner({ server: "https://notary.invalid", passphrase: () => "stand-in passphrase" }, { shell: noPrograms });
  hinted.push(await textOf(() => notary.prepare("127.0.0.1:5000/doctor/hello")));
  // An arch's engine that refuses the client certificate (the docker CLI's words, from a Shell stand-in).
  const refusing: Shell = { name: "zx", exec: async () => ({ code: 1, stdout: "", stderr: "remote error: tls: bad certificate" }) };
  hinted.push(await textOf(() => buildxBuilder(refusing, "docker", { host: "tcp://arm:2376" }, "arm64").inspect(["example/app:h1-arm64"])));
  for (const t of hinted) assert.ok(t.endsWith(`\n${DOCTOR_HINT}`), t);
  assert.match(hinted.at(-2)!, "the notary CLI is not on PATH");
  assert.match(hinted.at(-1)!, "builder arm64 (tcp://arm:2376): the engine refused pkgkit's client certificate");
  assert.is(errorText(new RegistryError({ kind: "not-found", registry: "r", status: 404 }, "not found")), "not found");
  assert.is(errorText(new PkgkitError("plain")), "plain");
  assert.ok(isMachineProblem("#5 0.301 exec /bin/sh: exec format error"));
  assert.not.ok(isMachineProblem("#5 0.301 /bin/sh: make: not found"));
});

test("binfmt row: an enabled handler is ok, a disabled or absent one missing with the fix, unless the engine lists the platform", () => {
  const dir = mkdtempSync(join(tmpdir(), "pkgkit-binfmt-"));
  writeFileSync(join(dir, "qemu-aarch64"), "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: PF\n");
  writeFileSync(join(dir, "qemu-s390x"), "disabled\ninterpreter /usr/bin/qemu-s390x\nflags: F\n");
  assert.equal(binfmtRow("arm64", undefined, dir), { check: "binfmt arm64", status: "ok", found: `${dir}/qemu-aarch64 enabled (interpreter /usr/bin/qemu-aarch64, flags PF)`, fix: "" });
  assert.is(binfmtRow("s390x", undefined, dir).status, "missing");
  assert.match(binfmtRow("s390x", undefined, dir).found, "is disabled");
  assert.match(binfmtRow("riscv64", undefined, dir).fix, "--install riscv64");
  assert.is(binfmtRow("riscv64", ["linux/amd64", "linux/riscv64"], dir).status, "ok");
});

test("the table: a row per check, the fix under a row that is not ok, the counts", () => {
  const table = formatDoctor([
    { check: "engine", status: "ok", found: "Docker Engine 26", fix: "" },
    { check: "binfmt riscv64", status: "missing", found: "no handler", fix: "register qemu" },
  ]);
  assert.is(table, [
    "ok      engine          Docker Engine 26",
    "MISSING binfmt riscv64  no handler",
    "                        fix: register qemu",
    "",
    "1 ok, 0 warnings, 1 missing",
  ].join("\n"));
});

test.run();
