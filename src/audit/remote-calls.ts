/**
 * Every call the remote audit makes goes through here: inside the rate window, with a bounded
 * number of tasks at once, a pause when Replicate still says 429 after the gateway's own retries,
 * and a breaker that stops calling a Replicate that keeps failing (what was not checked is then
 * reported unverified, never compliant). A refused token ends the whole audit: nothing can be
 * checked with it.
 */
import { ReplicateError } from "../errors.js";
import type { RateWindow } from "./rate-window.js";

/** Consecutive failed calls after which the rest are not attempted. */
export const BREAKER_THRESHOLD = 20;
/** Times one call is tried again after a final 429. */
const RATE_LIMIT_RETRIES = 3;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 30_000;

export class RemoteCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RemoteCaller {
  call<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `task` for every item with at most `concurrency` at once. */
  each<I>(items: readonly I[], task: (item: I) => Promise<void>): Promise<void>;
}

export function createRemoteCaller(window: RateWindow, concurrency: number): RemoteCaller {
  let consecutiveFailures = 0;
  let broken: RemoteCallError | null = null;

  async function call<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (broken) throw broken;
      const release = await window.acquire();
      try {
        const value = await fn();
        consecutiveFailures = 0;
        return value;
      } catch (err) {
        if (!(err instanceof ReplicateError)) throw err;
        if (err.code === "REPLICATE_UNAUTHORIZED") throw err;
        if (err.code === "REPLICATE_NOT_FOUND") {
          // An answer, not a failure: the caller decides what a missing object means.
          consecutiveFailures = 0;
          throw err;
        }
        if (err.code === "REPLICATE_RATE_LIMITED" && attempt < RATE_LIMIT_RETRIES) {
          const hinted = typeof err.details.retryAfterMs === "number" ? err.details.retryAfterMs : DEFAULT_RATE_LIMIT_PAUSE_MS;
          window.pause(hinted);
          continue;
        }
        consecutiveFailures++;
        if (consecutiveFailures >= BREAKER_THRESHOLD && !broken) {
          broken = new RemoteCallError(
            err.code,
            `Not checked: Replicate failed ${consecutiveFailures} calls in a row (last: ${err.message}), so the audit stopped calling it.`,
          );
        }
        throw new RemoteCallError(err.code, err.message);
      } finally {
        release();
      }
    }
  }

  async function each<I>(items: readonly I[], task: (item: I) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const item = items[next++]!;
        await task(item);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  }

  return { call, each };
}
