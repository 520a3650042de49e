import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../support/emulator/index.js";
import { call, createModel } from "./helpers.js";

describe("rate limits", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ rateLimit: { predictionsPerMinute: 3, otherPerMinute: 5 } });
  });
  afterAll(() => emu.close());

  it("counts other requests in a sliding minute, with headers on every answer and the real 429 body", async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(emu, "GET", "/account");
      expect(res.status).toBe(200);
      remaining.push(res.headers.get("ratelimit-remaining")!);
      expect(res.headers.get("ratelimit-reset")).toBe("1");
    }
    expect(remaining).toEqual(["4", "3", "2", "1", "0"]);
    emu.advance(20_000);
    const limited = await call(emu, "GET", "/models/ostris/flux-dev-lora-trainer");
    expect(limited.status).toBe(429);
    expect(limited.contentType).toMatch(/^application\/problem\+json/);
    expect(limited.json).toEqual({ detail: "Request was throttled. Your rate limit resets in ~40s.", status: 429 });
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    // As recorded on every answer: the header says 1 whatever the body says; no Retry-After by default.
    expect(limited.headers.get("ratelimit-reset")).toBe("1");
    expect(limited.headers.get("retry-after")).toBeNull();
    emu.advance(40_000);
    expect((await call(emu, "GET", "/account")).status).toBe(200);
  });

  it("keeps prediction reads in a bucket of their own, and files outside any", async () => {
    const reads = await startEmulator({ rateLimit: { predictionReadsPerMinute: 2, otherPerMinute: 100 } });
    try {
      const d = await createModel(reads, "reads");
      const created = await call(reads, "POST", "/predictions", { body: { version: `${d}:${reads.createVersion(d)}`, input: { prompt: "x" } } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(reads, "GET", `/predictions/${created.json.id}`)).status);
      expect(statuses).toEqual([200, 200, 429]);
      const other = await call(reads, "GET", "/account");
      expect(other.status).toBe(200);
      expect(other.headers.get("ratelimit-remaining")).toBe("98");
      const files = await call(reads, "GET", "/files");
      expect(files.status).toBe(200);
      expect(files.headers.get("ratelimit-remaining")).toBeNull();
    } finally {
      await reads.close();
    }
  });

  it("keeps prediction creations in their own bucket", async () => {
    emu.advance(60_000);
    const dest = await createModel(emu, "rl");
    const version = `${dest}:${emu.createVersion(dest)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(emu, "POST", "/predictions", { body: { version, input: { prompt: "x" } } })).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(emu.predictions.size).toBe(3);
    // The other bucket still has room (one model create used one of five).
    const other = await call(emu, "GET", "/account");
    expect(other.status).toBe(200);
    expect(other.headers.get("ratelimit-remaining")).toBe("3");
  });

  it("is per account, and Retry-After can be switched on", async () => {
    const quiet = await startEmulator({
      accounts: [{ token: "test-token-alice", username: "alice" }, { token: "test-token-bob", username: "bob" }],
      rateLimit: { otherPerMinute: 1, retryAfterHeader: true },
    });
    try {
      expect((await call(quiet, "GET", "/account")).status).toBe(200);
      const limited = await call(quiet, "GET", "/account");
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("60");
      expect((await call(quiet, "GET", "/account", { token: "test-token-bob" })).status).toBe(200);
    } finally {
      await quiet.close();
    }
  });
});

describe("faults", () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());
  afterEach(() => {
    emu.clearFaults();
    emu.clearRequests();
  });

  it("status: answers with the given status, body and headers, `times` times, in order", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 503, times: 2 });
    emu.inject({ kind: "status", method: "GET", path: "/account", status: 500, body: { detail: "boom", status: 500 }, headers: { "x-test": "1" } });
    const a = await call(emu, "GET", "/account");
    const b = await call(emu, "GET", "/account");
    const c = await call(emu, "GET", "/account");
    const d = await call(emu, "GET", "/account");
    expect([a.status, b.status, c.status, d.status]).toEqual([503, 503, 500, 200]);
    expect(a.json).toEqual({ detail: "Service Unavailable", status: 503 });
    expect(c.json).toEqual({ detail: "boom", status: 500 });
    expect(c.headers.get("x-test")).toBe("1");
    expect(emu.requestsTo("GET", "/v1/account").map((r) => r.status)).toEqual([503, 503, 500, 200]);
  });

  it("status with a text body and its own content type", async () => {
    emu.inject({ kind: "status", path: /account$/, status: 200, body: "<html>oops</html>", headers: { "content-type": "text/html" } });
    const res = await call(emu, "GET", "/account");
    expect(res.contentType).toBe("text/html");
    expect(res.text).toBe("<html>oops</html>");
  });

  it("method filters and path patterns (string, * glob, RegExp)", async () => {
    emu.inject({ kind: "status", method: "POST", path: "/v1/account", status: 500 });
    emu.inject({ kind: "status", path: "/v1/models/*/flux-dev-lora-trainer", status: 502 });
    expect((await call(emu, "GET", "/account")).status).toBe(200);
    expect((await call(emu, "GET", "/models/ostris/flux-dev-lora-trainer")).status).toBe(502);
    expect(emu.requestsTo("GET", /\/models\//)).toHaveLength(1);
    expect(emu.requestsTo("*", "/models/*/*")).toHaveLength(1);
  });

  it("rate-limit: the real 429 body with the given reset and Retry-After", async () => {
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", resetSeconds: 7, retryAfterSeconds: 2 });
    const res = await call(emu, "GET", "/account");
    expect(res.status).toBe(429);
    expect(res.json).toEqual({ detail: "Request was throttled. Your rate limit resets in ~7s.", status: 429 });
    expect(res.headers.get("ratelimit-reset")).toBe("1");
    expect(res.headers.get("retry-after")).toBe("2");
    expect((await call(emu, "GET", "/account")).status).toBe(200);
  });

  it("delay: holds the answer", async () => {
    emu.inject({ kind: "delay", path: "/v1/account", ms: 300 });
    const started = Date.now();
    expect((await call(emu, "GET", "/account")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("drop: destroys the socket without answering and without doing the work", async () => {
    emu.inject({ kind: "drop", method: "POST", path: "/v1/models" });
    await expect(call(emu, "POST", "/models", { body: { owner: emu.owner, name: "dropped", visibility: "private", hardware: "cpu" } })).rejects.toThrow();
    expect(emu.models.has(`${emu.owner}/dropped`)).toBe(false);
    const [recorded] = emu.requestsTo("POST", "/v1/models");
    expect(recorded).toMatchObject({ status: 0, dropped: true, body: { name: "dropped" } });
  });

  it("crash-after-create: does the work, then destroys the socket", async () => {
    emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/models" });
    await expect(call(emu, "POST", "/models", { body: { owner: emu.owner, name: "crashed", visibility: "private", hardware: "cpu" } })).rejects.toThrow();
    expect(emu.models.has(`${emu.owner}/crashed`)).toBe(true);
    expect(emu.requestsTo("POST", "/v1/models")[0]).toMatchObject({ status: 201, dropped: true });
    const again = await call(emu, "POST", "/models", { body: { owner: emu.owner, name: "crashed", visibility: "private", hardware: "cpu" } });
    expect(again.status).toBe(409);
  });

  it("records method, path, query, redacted headers, parsed body, status, time and account", async () => {
    const before = emu.now();
    await call(emu, "GET", "/trainings?cursor=abc", { headers: { "x-custom": "yes" } });
    const [r] = emu.requests;
    expect(r).toMatchObject({ method: "GET", path: "/v1/trainings", query: { cursor: "abc" }, status: 400, account: emu.owner });
    expect(r!.headers).toMatchObject({ authorization: "[redacted]", "x-custom": "yes" });
    expect(r!.at).toBeGreaterThanOrEqual(before);
    emu.clearRequests();
    expect(emu.requests).toHaveLength(0);
  });
});
