/**
 * The one retry loop: attempts with exponential backoff and jitter, a classifier that says which
 * failures are worth another attempt (and why, for the retry line), one line per retry, and an
 * AbortSignal that bounds the whole operation (no retry starts, and no backoff sleeps, past it).
 *
 *   await retry((attempt) => send(req), {
 *     what: "PUT http://127.0.0.1:5000/v2/x/manifests/t",
 *     attempts: 4, baseDelayMs: 200,
 *     classify: (e) => (e instanceof Busy ? { reason: "503 Service Unavailable" } : undefined),
 *     onRetry: (line) => log(line),   // "retrying PUT http://... (2/4) after 503 Service Unavailable; waiting 0.2s"
 *     signal: AbortSignal.timeout(60_000),
 *   });
 *
 * When the attempts are used up, the signal has fired or the error is not retryable, the last
 * error is thrown as it is: the caller knows how many attempts it made (`attempt` counts them).
 */

/** A failure worth another attempt, as `RetryOptions.classify` describes it. */
export interface Retryable {
  /** Why the attempt failed, for the retry line: `503 Service Unavailable`, `connection reset`. */
  reason: string;
  /** What failed, when it is more precise than `RetryOptions.what` (one request of a sequence). */
  what?: string;
  /** The server's own wait (Retry-After): used when longer than the backoff, up to `maxDelayMs`. */
  delayMs?: number;
}

/** How `retry` runs: how often, how long it waits, which failures it retries, where its lines go. */
export interface RetryOptions {
  /** Named in retry lines: `PUT <url>`. */
  what: string;
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the first retry; doubled for each next one. */
  baseDelayMs: number;
  /** Longest single wait (default 10 s), Retry-After included. */
  maxDelayMs?: number;
  /** Share of each wait that is random, 0..1 (default 0.5): writers that failed together spread out. */
  jitter?: number;
  /**
   * Retryable failures → why; anything else (undefined) is thrown at once. It may look before it
   * answers (a promise: are the blobs a refused manifest names all there?); it is asked only when
   * another attempt is left.
   */
  classify(error: unknown): Retryable | undefined | Promise<Retryable | undefined>;
  /** One line per retry. */
  onRetry?(line: string): void;
  /** Bounds the operation: once aborted, no retry starts and a backoff wait ends early. */
  signal?: AbortSignal;
}

/** Runs `fn` (given the attempt number, from 1) until it succeeds or a failure is final; see the module comment. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, baseDelayMs, maxDelayMs = 10_000, jitter = 0.5, signal } = options;
  for (let attempt = 1; ; attempt++) {
    let retryable: Retryable | undefined;
    try {
      return await fn(attempt);
    } catch (e) {
      retryable = attempt < attempts && !signal?.aborted ? await options.classify(e) : undefined;
      if (!retryable) throw e;
      const backoff = baseDelayMs * 2 ** (attempt - 1) * (1 - jitter * Math.random());
      const delay = Math.round(Math.min(maxDelayMs, Math.max(backoff, retryable.delayMs ?? 0)));
      options.onRetry?.(`retrying ${retryable.what ?? options.what} (${attempt + 1}/${attempts}) after ${retryable.reason}; waiting ${formatDelay(delay)}`);
      if (!(await sleep(delay, signal))) throw e;
    }
  }
}

/** `0.2s`, `1.5s`, `12s` */
export function formatDelay(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

/** Waits `ms`; false when the signal ended the wait (or had already fired). */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (slept: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(slept);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
