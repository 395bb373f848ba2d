// lib/shell.ts, the one place pkgkit starts processes: the steps' shell (zx on Node and Bun, dax on
// Deno) and directShell (the program itself, no shell between: what git's tag queries go through).
// What a process gets on stdin, its exit code, output, environment and directory, and a stop. Real
// processes (sh, cat, printf, sleep).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { defaultShell, directShell, type Shell } from "../../lib/shell.ts";

const shells: Shell[] = [await defaultShell(), directShell()];
const dir = realpathSync(mkdtempSync(join(tmpdir(), "pkgkit-shell-")));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const shell of shells) {
  const name = shell.name;
  test(`${name}: without input a process reads end of file at once: its stdin is /dev/null, not a pipe left open`, async () => {
    // A stdin nobody writes to and nobody closes would hold `cat` until the signal stops it.
    const r = await shell.exec(["sh", "-c", "cat; test -p /dev/stdin && echo pipe || echo no pipe"], { signal: AbortSignal.timeout(10_000) });
    assert.equal([r.code, r.stdout, r.stderr], [0, "no pipe\n", ""], `${name}: ${JSON.stringify(r)}`);
  });

  test(`${name}: with input a process reads it, then end of file`, async () => {
    const r = await shell.exec(["sh", "-c", "cat; echo; echo end"], { input: "a\nb", signal: AbortSignal.timeout(10_000) });
    assert.equal([r.code, r.stdout], [0, "a\nb\nend\n"], `${name}: ${JSON.stringify(r)}`);
  });

  test(`${name}: each argument reaches the program as it is: nothing expands, splits or runs`, async () => {
    const hostile = ["$(touch pwned)", "`touch pwned`", "a b\tc", "'quoted'", '"dq"', "x; touch pwned", "*", "$HOME", "line\nbreak", ""];
    const r = await shell.exec(["printf", "[%s]\\n", ...hostile], { cwd: dir });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, hostile.map((a) => `[${a}]\n`).join(""));
    assert.not.ok((await shell.exec(["test", "-e", "pwned"], { cwd: dir })).code === 0, "nothing ran");
  });

  test(`${name}: exit code, both streams, lines as they come, the environment added and the directory`, async () => {
    const lines: string[] = [];
    const r = await shell.exec(["sh", "-c", 'echo "out $PKGKIT_SHELL_TEST $(pwd)"; echo err >&2; printf tail; exit 3'], {
      cwd: dir,
      env: { PKGKIT_SHELL_TEST: "set" },
      onLine: (line, stream) => lines.push(`${stream}:${line}`),
    });
    assert.equal([r.code, r.stdout, r.stderr], [3, `out set ${dir}\ntail`, "err\n"]);
    assert.equal(lines.sort(), [`stderr:err`, `stdout:out set ${dir}`, "stdout:tail"]);
    // The rest of the environment is inherited.
    assert.is((await shell.exec(["sh", "-c", 'printf %s "$PATH"'], { env: { PKGKIT_SHELL_TEST: "x" } })).stdout, process.env.PATH);
  });

  test(`${name}: a program that does not exist exits 127, named on stderr, and nothing throws`, async () => {
    const r = await shell.exec(["pkgkit-no-such-program-xyz", "arg"]);
    assert.is(r.code, 127, JSON.stringify(r));
    assert.match(r.stderr, "pkgkit-no-such-program-xyz");
    assert.is(r.stdout, "");
  });

  // On Deno neither dax nor Deno.Command starts a process group: the signal reaches the process
  // itself, and a child of its own keeps the output open (lib/shell.ts says so).
  const groups = typeof (globalThis as { Deno?: unknown }).Deno === "undefined";
  for (const argv of [["sleep", "30"], ...(groups ? [["sh", "-c", "sleep 30 & wait"]] : [])]) {
    test(`${name}: an abort stops ${argv.join(" ")}, and exec resolves with a failure`, async () => {
      const started = Date.now();
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 200);
      const r = await shell.exec(argv, { signal: stop.signal });
      assert.ok(Date.now() - started < 10_000, `stopped after ${Date.now() - started} ms`);
      assert.is.not(r.code, 0, JSON.stringify(r));
    });
  }
}

test("direct: a program a signal ends exits 128 plus the signal's number, as under a shell, whichever the signal", async () => {
  for (const sig of ["TERM", "USR1", "USR2"] as const) {
    const r = await directShell().exec(["sh", "-c", `kill -${sig} $$; sleep 5`]);
    assert.is(r.code, 128 + constants.signals[`SIG${sig}`], `SIG${sig}: ${JSON.stringify(r)}`);
  }
});

test("directShell is one object, named direct, and asks for no shell library", () => {
  assert.is(directShell(), directShell());
  assert.is(directShell().name, "direct");
});

test.run();
