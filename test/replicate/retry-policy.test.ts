import { describe, expect, it } from "vitest";
import {
  BACKOFF_CAP_MS,
  HINT_JITTER_MS,
  backoffMs,
  parseRateLimitReset,
  parseResetHint,
  parseRetryAfter,
  rateLimitWait,
} from "../../src/replicate/retry-policy.js";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const headers = (h: Record<string, string>) => new Headers(h);

describe("parseRetryAfter", () => {
  it("reads delta-seconds", () => {
    expect(parseRetryAfter("2", NOW)).toBe(2000);
    expect(parseRetryAfter(" 0 ", NOW)).toBe(0);
    expect(parseRetryAfter("1.5", NOW)).toBe(1500);
  });
  it("reads an HTTP-date relative to now, never negative", () => {
    expect(parseRetryAfter("Sun, 01 Jun 2025 12:00:07 GMT", NOW)).toBe(7000);
    expect(parseRetryAfter("Sun, 01 Jun 2025 11:59:00 GMT", NOW)).toBe(0);
  });
  it("ignores what it cannot read", () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter("", NOW)).toBeUndefined();
    expect(parseRetryAfter("-3", NOW)).toBeUndefined();
    expect(parseRetryAfter("soon", NOW)).toBeUndefined();
  });
});

describe("parseRateLimitReset", () => {
  it("reads seconds until reset", () => {
    expect(parseRateLimitReset("1", NOW)).toBe(1000);
    expect(parseRateLimitReset("30", NOW)).toBe(30_000);
  });
  it("treats a huge value as an epoch time", () => {
    expect(parseRateLimitReset(String(NOW / 1000 + 12), NOW)).toBe(12_000);
  });
  it("ignores garbage", () => {
    expect(parseRateLimitReset("x", NOW)).toBeUndefined();
    expect(parseRateLimitReset(undefined, NOW)).toBeUndefined();
  });
});

describe("parseResetHint", () => {
  it("reads Replicate's 429 body", () => {
    expect(parseResetHint('{"detail":"Request was throttled. Your rate limit resets in ~30s.","status":429}')).toBe(30_000);
  });
  it("reads plain text and other units", () => {
    expect(parseResetHint("Your rate limit resets in ~2 seconds")).toBe(2000);
    expect(parseResetHint("rate limit resets in 1m")).toBe(60_000);
    expect(parseResetHint("resets in ~250ms")).toBe(250);
  });
  it("returns undefined without a hint", () => {
    expect(parseResetHint('{"detail":"Request was throttled."}')).toBeUndefined();
    expect(parseResetHint("")).toBeUndefined();
  });
});

describe("backoffMs (full jitter)", () => {
  it("grows exponentially and is capped", () => {
    const top = () => 0.999999;
    expect(backoffMs(0, top)).toBe(499);
    expect(backoffMs(1, top)).toBe(999);
    expect(backoffMs(3, top)).toBe(3999);
    expect(backoffMs(30, top)).toBe(BACKOFF_CAP_MS - 1);
  });
  it("spans the whole range down to zero", () => {
    expect(backoffMs(4, () => 0)).toBe(0);
    expect(backoffMs(4, () => 0.5)).toBe(4000);
  });
});

describe("rateLimitWait", () => {
  const body = '{"detail":"Request was throttled. Your rate limit resets in ~9s."}';
  it("prefers Retry-After over ratelimit-reset and the body", () => {
    const w = rateLimitWait(headers({ "retry-after": "2", "ratelimit-reset": "5" }), body, 0, () => 0, NOW);
    expect(w).toEqual({ waitMs: 2000, hintedMs: 2000, source: "retry-after" });
    expect(rateLimitWait(headers({ "ratelimit-reset": "5" }), undefined, 0, () => 0, NOW)).toMatchObject({ waitMs: 5000, source: "ratelimit-reset" });
    expect(rateLimitWait(headers({}), body, 0, () => 0, NOW)).toMatchObject({ waitMs: 9000, source: "body" });
  });
  it("trusts the longer of ratelimit-reset and the body's hint", () => {
    // As recorded: ratelimit-reset is 1 on every answer, the 429 body says ~30s.
    const real = '{"detail":"Request was throttled. Your rate limit resets in ~30s.","status":429}';
    expect(rateLimitWait(headers({ "ratelimit-reset": "1" }), real, 0, () => 0, NOW)).toEqual({ waitMs: 30_000, hintedMs: 30_000, source: "body" });
    expect(rateLimitWait(headers({ "ratelimit-reset": "40" }), real, 0, () => 0, NOW)).toEqual({ waitMs: 40_000, hintedMs: 40_000, source: "ratelimit-reset" });
    expect(rateLimitWait(headers({ "ratelimit-reset": "9" }), body, 0, () => 0, NOW)).toMatchObject({ waitMs: 9000 });
  });
  it("never waits less than the hint, adding a little jitter", () => {
    const w = rateLimitWait(headers({ "retry-after": "2" }), undefined, 0, () => 0.999, NOW);
    expect(w.waitMs).toBeGreaterThanOrEqual(2000);
    expect(w.waitMs).toBeLessThan(2000 + HINT_JITTER_MS);
  });
  it("falls back to jittered exponential backoff", () => {
    const w = rateLimitWait(headers({}), '{"detail":"throttled"}', 2, () => 0.5, NOW);
    expect(w).toEqual({ waitMs: 1000, hintedMs: undefined, source: "backoff" });
  });
});
