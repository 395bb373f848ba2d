import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseArgs, type OptionSpec } from "../../lib/cli/args.ts";
import { resolveOptions } from "../../lib/options.ts";
import { InputError } from "../../lib/errors.ts";

const specs: Record<string, OptionSpec> = {
  org: { type: "string", help: "" },
  network: { type: "boolean", negatedBy: ["no-network", "nonetwork"], help: "" },
  "disable-content-trust": { type: "boolean", negatedBy: ["enable-content-trust"], help: "" },
  help: { type: "boolean", short: "h", help: "" },
};

test("GNU style and LinuxKit's Go style both parse", () => {
  for (const argv of [
    ["--org", "wombat", "--disable-content-trust", "pkg"],
    ["--org=wombat", "--disable-content-trust", "pkg"],
    ["-org=wombat", "-disable-content-trust", "pkg"],
  ]) {
    const { options, positionals } = parseArgs(argv, specs, "usage");
    assert.equal(options, { org: "wombat", "disable-content-trust": true }, argv.join(" "));
    assert.equal(positionals, ["pkg"]);
  }
});

test("negations and explicit booleans", () => {
  assert.equal(parseArgs(["-nonetwork"], specs, "").options, { network: false });
  assert.equal(parseArgs(["--no-network"], specs, "").options, { network: false });
  assert.equal(parseArgs(["--network=false"], specs, "").options, { network: false });
  assert.equal(parseArgs(["--enable-content-trust"], specs, "").options, { "disable-content-trust": false });
  assert.equal(parseArgs(["-h"], specs, "").options, { help: true });
});

test("unknown options and missing values are input errors", () => {
  assert.throws(() => parseArgs(["--orgg", "x"], specs, "usage"), (e: Error) => e instanceof InputError && e.message.startsWith("unknown option --orgg"));
  assert.throws(() => parseArgs(["--org"], specs, ""), (e: Error) => e instanceof InputError && e.message === "option --org needs a value: --org <value>");
  assert.throws(() => parseArgs(["--network=maybe"], specs, ""), (e: Error) => e.message === "--network=maybe: expected true or false");
});

test("--org beats PKGKIT_ORG; PKGKIT_ORG applies when no flag", () => {
  assert.is(resolveOptions({ org: "flag" }, { PKGKIT_ORG: "env" }).org, "flag");
  assert.is(resolveOptions({}, { PKGKIT_ORG: "env" }).org, "env");
  assert.is(resolveOptions({}, {}).org, undefined);
});

test("--arches is validated", () => {
  assert.equal(resolveOptions({ arches: "arm64, amd64" }, {}).arches, ["arm64", "amd64"]);
  assert.throws(() => resolveOptions({ arches: "arm64,sparc" }, {}), (e: Error) => e instanceof InputError && e.message.includes("expected a comma-separated list"));
});

test.run();
