import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatOptions, parseArgs, type OptionSpec } from "../../lib/cli/args.ts";
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

const lk: Record<string, OptionSpec> = {
  verbose: { type: "level", short: "v", help: "" },
  quiet: { type: "boolean", short: "q", help: "" },
  "build-arg-file": { type: "strings", help: "" },
  manifest: { type: "boolean", help: "" },
};

test("-v: alone true, with a number (next argument, =, glued, --verbose=) that number, as LinuxKit's -v N", () => {
  assert.equal(parseArgs(["-v", "pkg"], lk, ""), { options: { verbose: true }, positionals: ["pkg"] });
  assert.equal(parseArgs(["pkg", "-v"], lk, ""), { options: { verbose: true }, positionals: ["pkg"] });
  for (const argv of [["-v", "2"], ["-v=2"], ["-v2"], ["--verbose=2"], ["--verbose", "2"]])
    assert.equal(parseArgs([...argv, "pkg"], lk, ""), { options: { verbose: "2" }, positionals: ["pkg"] }, argv.join(" "));
  assert.throws(() => parseArgs(["--verbose=lots"], lk, ""), (e: Error) => e instanceof InputError && e.message === "--verbose=lots: expected a whole number, e.g. --verbose=2, or --verbose alone");
  assert.equal(parseArgs(["-q"], lk, "").options, { quiet: true });
});

test("repeatable options keep every value in order; --manifest=false", () => {
  assert.equal(parseArgs(["--build-arg-file", "a", "--build-arg-file=b", "-build-arg-file", "c"], lk, "").options, { "build-arg-file": ["a", "b", "c"] });
  assert.equal(parseArgs(["--manifest=false"], lk, "").options, { manifest: false });
});

test("help shows a level's optional number and a repeatable option's value", () => {
  const text = formatOptions(lk);
  assert.match(text, "-v, --verbose[=<n>]");
  assert.match(text, "--build-arg-file <value>");
});

test.run();
