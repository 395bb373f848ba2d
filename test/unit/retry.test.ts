// lib/retry.ts: the one retry loop (registry transport, notary publish, manifest re-PUT, scratch directory).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { retry, type RetryOptions } from "../../lib/retry.ts";

class Busy extends Error {}
const options = (lines: string[], extra: Partial<RetryOptions> = {}): RetryOptions => ({
  what: "PUT http://127.0.0.1:5000/v2/x/manifests/t",
  attempts: 4,
  baseDelayMs: 1,
  classify: (e) => (e instanceof Busy ? { reason: e.message } : undefined),
  onRetry: (l) => lines.push(l),
  ...extra,
});

test("retries retryable failures, one line each, until an attempt succeeds", async () => {
  const lines: string[] = [];
  const seen: number[] = [];
  const value = await retry(async (n) => {
    seen.push(n);
    if (n < 3) throw new Busy("503 Service Unavailable");
    return "ok";
  }, options(lines));
  assert.is(value, "ok");
  assert.equal(seen, [1, 2, 3]);
  assert.equal(lines.map((l) => l.replace(/waiting [\d.]+s/, "waiting Ns")), [
    "retrying PUT http://127.0.0.1:5000/v2/x/manifests/t (2/4) after 503 Service Unavailable; waiting Ns",
    "retrying PUT http://127.0.0.1:5000/v2/x/manifests/t (3/4) after 503 Service Unavailable; waiting Ns",
  ]);
});

test("gives up after the attempts with the last error; a non-retryable error is thrown at once", async () => {
  const lines: string[] = [];
  let calls = 0;
  const last = await retry(async (n) => {
    calls++;
    throw new Busy(`busy ${n}`);
  }, options(lines)).catch((e: Error) => e);
  assert.is((last as Error).message, "busy 4");
  assert.is(calls, 4);
  assert.is(lines.length, 3);
  calls = 0;
  const fatal = await retry(async () => {
    calls++;
    throw new Error("401");
  }, options([])).catch((e: Error) => e);
  assert.is((fatal as Error).message, "401");
  assert.is(calls, 1);
});

test("a classifier's own `what` and the server's delay (Retry-After) show in the line, capped by maxDelayMs", async () => {
  const lines: string[] = [];
  await retry(async (n) => {
    if (n === 1) throw new Busy("429 Too Many Requests");
    return 1;
  }, options(lines, {
    maxDelayMs: 30,
    classify: (e) => ({ reason: (e as Error).message, what: "POST http://h/v2/x/blobs/uploads/", delayMs: 5000 }),
  }));
  assert.equal(lines, ["retrying POST http://h/v2/x/blobs/uploads/ (2/4) after 429 Too Many Requests; waiting 0.0s"]);
});

test("an aborted signal ends the backoff wait and stops further attempts", async () => {
  const controller = new AbortController();
  let calls = 0;
  const e = await retry(async () => {
    calls++;
    setTimeout(() => controller.abort(), 5);
    throw new Busy("reset");
  }, options([], { baseDelayMs: 60_000, signal: controller.signal })).catch((x: Error) => x);
  assert.is((e as Error).message, "reset");
  assert.is(calls, 1);
});

test("a classifier that looks before it answers (a promise) is awaited, and asked only while attempts are left", async () => {
  const lines: string[] = [];
  const asked: number[] = [];
  let calls = 0;
  const e = await retry(async () => {
    calls++;
    throw new Busy(`refused ${calls}`);
  }, options(lines, {
    attempts: 3,
    classify: async (x) => {
      asked.push(calls);
      await new Promise((r) => setTimeout(r, 1));
      return calls === 1 ? { reason: (x as Error).message } : undefined;
    },
  })).catch((x: Error) => x);
  assert.is((e as Error).message, "refused 2", "the second failure was classified final: no third attempt");
  assert.equal(asked, [1, 2]);
  assert.equal(lines.map((l) => l.replace(/waiting [\d.]+s/, "waiting Ns")), ["retrying PUT http://127.0.0.1:5000/v2/x/manifests/t (2/3) after refused 1; waiting Ns"]);
});

test.run();
