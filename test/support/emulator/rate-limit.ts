/**
 * Replicate's limits: a sliding one-minute window per account and bucket. The recordings show three
 * buckets by their `ratelimit-remaining` on a first call: prediction creations (599), prediction
 * reads (59999) and everything else (2999); file calls carry no rate-limit headers at all.
 * `ratelimit-reset` is "1" on every recorded answer, whatever the bucket, so the emulator sends 1
 * too (also on a 429, where its meaning is unconfirmed): the real wait is only in the 429 body.
 */
import { problem, type Reply } from "./http-util.js";
import type { State } from "./state.js";

export type Bucket = "predictions" | "prediction-reads" | "other" | "none";

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  /** Seconds until the oldest call in the window leaves it (the 429 body's "resets in ~Ns"). */
  resetSeconds: number;
}

const WINDOW_MS = 60_000;
/** The value of every recorded `ratelimit-reset`. */
export const RECORDED_RESET_HEADER = "1";

export function createRateLimiter(state: State) {
  const windows = new Map<string, number[]>();
  const limitOf = (bucket: Exclude<Bucket, "none">) =>
    bucket === "predictions"
      ? state.options.predictionsPerMinute
      : bucket === "prediction-reads"
        ? state.options.predictionReadsPerMinute
        : state.options.otherPerMinute;
  return {
    take(account: string, bucket: Bucket): RateDecision {
      if (bucket === "none") return { allowed: true, resetSeconds: 0, headers: {} };
      const limit = limitOf(bucket);
      const now = state.clock.now();
      const key = `${account}\n${bucket}`;
      const hits = (windows.get(key) ?? []).filter((t) => t > now - WINDOW_MS);
      windows.set(key, hits);
      const allowed = hits.length < limit;
      if (allowed) hits.push(now);
      const oldest = hits[0] ?? now;
      const resetSeconds = Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000));
      return {
        allowed,
        resetSeconds,
        headers: { "ratelimit-remaining": String(Math.max(0, limit - hits.length)), "ratelimit-reset": RECORDED_RESET_HEADER },
      };
    },
  };
}

/** The 429: the real body; `Retry-After` only when asked for (unconfirmed for the real server). */
export function throttled(state: State, resetSeconds: number, retryAfterSeconds?: number): Reply {
  const reply = problem(429, `Request was throttled. Your rate limit resets in ~${resetSeconds}s.`);
  reply.headers = { "ratelimit-remaining": "0", "ratelimit-reset": RECORDED_RESET_HEADER };
  if (retryAfterSeconds !== undefined || state.options.retryAfterHeader) {
    reply.headers["retry-after"] = String(retryAfterSeconds ?? resetSeconds);
  }
  return reply;
}
