// lib/shell.ts, the one place pkgkit starts processes (zx on Node and Bun, dax on Deno): what a
// process gets on stdin. Real processes (sh, cat).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { defaultShell } from "../../lib/shell.ts";

const shell = await defaultShell();

test("without input a process reads end of file at once: its stdin is /dev/null, not a pipe left open (zx as dax)", async () => {
  // A stdin nobody writes to and nobody closes would hold `cat` until the signal stops it.
  const r = await shell.exec(["sh", "-c", "cat; test -p /dev/stdin && echo pipe || echo no pipe"], { signal: AbortSignal.timeout(10_000) });
  assert.equal([r.code, r.stdout, r.stderr], [0, "no pipe\n", ""], `${shell.name}: ${JSON.stringify(r)}`);
});

test("with input a process reads it, then end of file", async () => {
  const r = await shell.exec(["sh", "-c", "cat; echo; echo end"], { input: "a\nb", signal: AbortSignal.timeout(10_000) });
  assert.equal([r.code, r.stdout], [0, "a\nb\nend\n"], `${shell.name}: ${JSON.stringify(r)}`);
});

test.run();
