/**
 * Replicate's limits: a sliding one-minute window per account, one for prediction creations and
 * one for everything else. Every authenticated answer carries ratelimit-remaining/-reset.
 */
import { problem, type Reply } from "./http-util.js";
import type { State } from "./state.js";

export type Bucket = "predictions" | "other";

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  resetSeconds: number;
}

const WINDOW_MS = 60_000;

export function createRateLimiter(state: State) {
  const windows = new Map<string, number[]>();
  return {
    take(account: string, bucket: Bucket): RateDecision {
      const limit = bucket === "predictions" ? state.options.predictionsPerMinute : state.options.otherPerMinute;
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
        headers: { "ratelimit-remaining": String(Math.max(0, limit - hits.length)), "ratelimit-reset": String(resetSeconds) },
      };
    },
  };
}

export function throttled(state: State, resetSeconds: number, retryAfterSeconds?: number): Reply {
  const reply = problem(429, `Request was throttled. Your rate limit resets in ~${resetSeconds}s.`);
  reply.headers = { "ratelimit-remaining": "0", "ratelimit-reset": String(resetSeconds) };
  if (retryAfterSeconds !== undefined || state.options.retryAfterHeader) {
    reply.headers["retry-after"] = String(retryAfterSeconds ?? resetSeconds);
  }
  return reply;
}
