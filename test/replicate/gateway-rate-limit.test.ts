import { describe, expect, it } from "vitest";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator, Fault } from "../support/emulator/types.js";
import { gatewayFor } from "./gateway-helpers.js";

let emu: Emulator;
emulatorForFile({}, (started) => {
  emu = started;
});

describe("429 from Replicate", () => {
  it("waits for Retry-After in real time, then succeeds", async () => {
    const gw = gatewayFor(emu, { sleep: undefined });
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 2, resetSeconds: 2 });
    const started = Date.now();
    const account = await gw.getAccount();
    const elapsed = Date.now() - started;
    expect(account.username).toBe(emu.owner);
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(elapsed).toBeLessThan(4000);
    const calls = emu.requestsTo("GET", "/v1/account");
    expect(calls.map((r) => r.status)).toEqual([429, 200]);
  });

  // Each answer says in its own way how long to wait; the gateway waits that long, once.
  const hints: { name: string; seconds: number; fault: Fault }[] = [
    {
      name: "honours Retry-After over ratelimit-reset",
      seconds: 2,
      fault: { kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 2, resetSeconds: 7 },
    },
    {
      name: "falls back to ratelimit-reset without Retry-After",
      seconds: 3,
      fault: {
        kind: "status",
        method: "GET",
        path: "/v1/account",
        status: 429,
        headers: { "ratelimit-reset": "3", "ratelimit-remaining": "0" },
        body: { detail: "Request was throttled.", status: 429 },
      },
    },
    {
      name: "falls back to the 'resets in ~Ns' hint in the body",
      seconds: 4,
      fault: {
        kind: "status",
        method: "GET",
        path: "/v1/account",
        status: 429,
        body: { detail: "Request was throttled. Your rate limit resets in ~4s.", status: 429 },
      },
    },
  ];
  for (const { name, seconds, fault } of hints) {
    it(name, async () => {
      const gw = gatewayFor(emu);
      emu.inject(fault);
      await gw.getAccount();
      expect(gw.waits).toHaveLength(1);
      expect(gw.waits[0]).toBeGreaterThanOrEqual(seconds * 1000);
      expect(gw.waits[0]).toBeLessThan(seconds * 1000 + 300);
    });
  }

  it("a real throttle (ratelimit-reset: 1, body ~30s) waits 30 s, not 1 s", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", resetSeconds: 30, times: 2 });
    await gw.getAccount();
    expect(emu.requestsTo("GET", "/v1/account").map((r) => r.status)).toEqual([429, 429, 200]);
    expect(gw.waits).toHaveLength(2);
    for (const w of gw.waits) expect(w).toBeGreaterThanOrEqual(30_000);
  });

  it("backs off exponentially with full jitter when nothing says how long", async () => {
    const gw = gatewayFor(emu, { random: () => 0.5 });
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 429, body: { detail: "Request was throttled." }, times: 3 });
    await gw.getAccount();
    expect(gw.waits).toEqual([250, 500, 1000]);
  });

  it("retries a create after 429, because nothing was created, and creates exactly one", async () => {
    const gw = gatewayFor(emu);
    emu.createModel(`${emu.owner}/rl-dest`, { visibility: "private" });
    const model = emu.models.get(`${emu.owner}/rl-dest`)!;
    const versionId = emu.createVersion(`${emu.owner}/rl-dest`);
    expect(model.versions.has(versionId)).toBe(true);
    const before = emu.predictions.size;
    emu.inject({ kind: "rate-limit", method: "POST", path: "/v1/predictions", retryAfterSeconds: 1, times: 2 });
    const prediction = await gw.createPrediction({ version: `${emu.owner}/rl-dest:${versionId}`, input: { prompt: "a photo" } });
    expect(emu.predictions.size).toBe(before + 1);
    expect(emu.predictions.has(prediction.id)).toBe(true);
    expect(emu.requestsTo("POST", "/v1/predictions").map((r) => r.status)).toEqual([429, 429, 201]);
    expect(gw.waits.every((w) => w >= 1000)).toBe(true);
  });

  it("gives up after maxRetries with REPLICATE_RATE_LIMITED, and the client adds no hidden retries", async () => {
    const gw = gatewayFor(emu, { maxRetries: 2 });
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 1, times: 50 });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_RATE_LIMITED");
    expect(err.status).toBe(429);
    expect(err.detail).toMatch(/throttled/i);
    expect(err.details).toMatchObject({ attempts: 3, retryAfterMs: 1000 });
    expect(emu.requestsTo("GET", "/v1/account")).toHaveLength(3);
    expect(gw.waits).toHaveLength(2);
  });

  it("does not block for an hour when told to: fails at once with the wait in details", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 3600 });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_RATE_LIMITED");
    expect(err.details).toMatchObject({ retryAfterMs: 3_600_000, attempts: 1 });
    expect(gw.waits).toEqual([]);
  });
});
