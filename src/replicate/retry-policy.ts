/**
 * How long to wait before the next attempt. Pure functions, so the rules can be tested without a
 * server: Replicate's 429 says when its window resets in up to three places (see rateLimitWait).
 */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 20_000;
/** A hinted wait longer than this is not worth blocking a caller for: give up and say when to retry. */
export const MAX_HINTED_WAIT_MS = 120_000;
/** Spread added to a hinted wait so that many clients told "2 s" do not all return at once. */
export const HINT_JITTER_MS = 250;

/** `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** `ratelimit-reset`: seconds until the window resets (Replicate sends e.g. "1"). */
export function parseRateLimitReset(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  // Some servers send an epoch time instead of a delta; no delta is ever that large.
  if (n > 1_000_000_000) return Math.max(0, Math.round(n * 1000 - nowMs));
  return Math.round(n * 1000);
}

const HINT = /resets?\s+in\s+~?\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b/i;

/** The hint in Replicate's 429 body: "Request was throttled. Your rate limit resets in ~30s." */
export function parseResetHint(body: string | null | undefined): number | undefined {
  if (!body) return undefined;
  let text = body;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && typeof (parsed as { detail?: unknown }).detail === "string") {
      text = (parsed as { detail: string }).detail;
    }
  } catch {
    // not JSON: search the raw text
  }
  const m = HINT.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? "s").toLowerCase();
  if (unit.startsWith("ms") || unit.startsWith("milli")) return Math.round(n);
  if (unit.startsWith("m")) return Math.round(n * 60_000);
  return Math.round(n * 1000);
}

export type RateLimitSource = "retry-after" | "ratelimit-reset" | "body" | "backoff";

/** Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffMs(attempt: number, random: () => number, baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The wait after a 429, and which signal it came from. `hintedMs` is the server's own figure.
 * `Retry-After` is an explicit instruction and wins. Otherwise the longer of `ratelimit-reset` and
 * the body's "resets in ~Ns": Replicate sends `ratelimit-reset: 1` on every recorded answer while
 * its 429 body speaks of ~30 s, so trusting the header alone would spend every retry within
 * seconds of a throttle that lasts half a minute.
 */
export function rateLimitWait(
  headers: HeaderSource,
  body: string | undefined,
  attempt: number,
  random: () => number,
  nowMs: number,
): { waitMs: number; hintedMs: number | undefined; source: RateLimitSource } {
  const hinted = (hintedMs: number, source: RateLimitSource) => ({ waitMs: hintedMs + Math.floor(random() * HINT_JITTER_MS), hintedMs, source });
  const retryAfter = parseRetryAfter(headers.get("retry-after"), nowMs);
  if (retryAfter !== undefined) return hinted(retryAfter, "retry-after");
  const reset = parseRateLimitReset(headers.get("ratelimit-reset"), nowMs);
  const bodyHint = parseResetHint(body);
  if (reset !== undefined && (bodyHint === undefined || reset >= bodyHint)) return hinted(reset, "ratelimit-reset");
  if (bodyHint !== undefined) return hinted(bodyHint, "body");
  return { waitMs: backoffMs(attempt, random), hintedMs: undefined, source: "backoff" };
}
