import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/types.js";
import { gatewayFor, trainingParams } from "./gateway-helpers.js";

let emu: Emulator;
let trainingId: string;
const destination = () => `${emu.owner}/retry-dest`;

emulatorForFile({}, async (started) => {
  emu = started;
  emu.createModel(destination(), { visibility: "private" });
  trainingId = (await gatewayFor(emu).createTraining(trainingParams(destination()))).id;
});

describe("GET retries", () => {
  it("recovers from dropped connections", async () => {
    const gw = gatewayFor(emu, { random: () => 0.5 });
    emu.inject({ kind: "drop", method: "GET", path: `/v1/trainings/${trainingId}`, times: 2 });
    const training = await gw.getTraining(trainingId);
    expect(training.id).toBe(trainingId);
    const calls = emu.requestsTo("GET", `/v1/trainings/${trainingId}`);
    expect(calls).toHaveLength(3);
    expect(calls.slice(0, 2).every((r) => r.dropped)).toBe(true);
    expect(gw.waits).toEqual([250, 500]);
  });

  it("retries 5xx with backoff, then succeeds", async () => {
    const gw = gatewayFor(emu, { random: () => 1 - 1e-9 });
    emu.inject({ kind: "status", method: "GET", path: `/v1/trainings/${trainingId}`, status: 503, times: 2 });
    emu.inject({ kind: "status", method: "GET", path: `/v1/trainings/${trainingId}`, status: 500 });
    await gw.getTraining(trainingId);
    expect(emu.requestsTo("GET", `/v1/trainings/${trainingId}`).map((r) => r.status)).toEqual([503, 503, 500, 200]);
    expect(gw.waits).toEqual([499, 999, 1999]);
  });

  it("gives up with REPLICATE_UNAVAILABLE after maxRetries, and the client adds no retries of its own", async () => {
    const gw = gatewayFor(emu, { maxRetries: 3 });
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 502, body: { detail: "Bad gateway" }, times: 100 });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNAVAILABLE");
    expect(err.status).toBe(502);
    expect(err.detail).toBe("Bad gateway");
    expect(err.details).toMatchObject({ attempts: 4, method: "GET", path: "/v1/account" });
    expect(emu.requestsTo("GET", "/v1/account")).toHaveLength(4);
  });

  it("gives up with REPLICATE_UNREACHABLE when every attempt is dropped", async () => {
    const gw = gatewayFor(emu, { maxRetries: 2 });
    emu.inject({ kind: "drop", method: "GET", path: "/v1/account", times: 100 });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(emu.requestsTo("GET", "/v1/account")).toHaveLength(3);
  });

  it("retries a cancel on 5xx: cancelling twice cannot create anything", async () => {
    const gw = gatewayFor(emu);
    const id = (await gw.createTraining(trainingParams(destination()))).id;
    emu.inject({ kind: "status", method: "POST", path: `/v1/trainings/${id}/cancel`, status: 500 });
    const canceled = await gw.cancelTraining(id);
    expect(canceled.status).toBe("canceled");
    expect(emu.requestsTo("POST", `/v1/trainings/${id}/cancel`)).toHaveLength(2);
  });
});

describe("request timeout", () => {
  it("aborts a slow GET and retries it", async () => {
    const gw = gatewayFor(emu, { timeoutMs: 150 });
    emu.inject({ kind: "delay", method: "GET", path: "/v1/account", ms: 1000 });
    const started = Date.now();
    const account = await gw.getAccount();
    expect(account.username).toBe(emu.owner);
    expect(Date.now() - started).toBeLessThan(900);
    expect(emu.requestsTo("GET", "/v1/account").length).toBeGreaterThanOrEqual(2);
  });

  it("reports REPLICATE_UNREACHABLE with the timeout when every attempt is too slow", async () => {
    const gw = gatewayFor(emu, { timeoutMs: 100, maxRetries: 1 });
    emu.inject({ kind: "delay", method: "GET", path: "/v1/account", ms: 600, times: 2 });
    const started = Date.now();
    const err = await caught(gw.getAccount());
    expect(Date.now() - started).toBeLessThan(550);
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(err.message).toMatch(/timed out after 100 ms/);
    expect(err.details).toMatchObject({ timeoutMs: 100, attempts: 2 });
  });

  it("extends the timeout for Prefer: wait so a held prediction is not cut off", async () => {
    const gw = gatewayFor(emu, { timeoutMs: 100 });
    const versionId = emu.createVersion(destination());
    emu.inject({ kind: "delay", method: "POST", path: "/v1/predictions", ms: 400 });
    const prediction = await gw.createPrediction({ version: `${destination()}:${versionId}`, input: { prompt: "x" }, waitSeconds: 5 });
    expect(prediction.id).toMatch(/\S/);
    const [post] = emu.requestsTo("POST", "/v1/predictions");
    expect(post?.headers.prefer).toBe("wait=5");
  });
});

describe("an unreachable host", () => {
  it("retries a GET and then says REPLICATE_UNREACHABLE; a create is retried too, since nothing was sent", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const gw = gatewayFor({ url: `http://127.0.0.1:${port}/v1`, token: "test-token-alice" }, { maxRetries: 2 });
    const err = await caught(gw.getAccount());
    expect(err.code).toBe("REPLICATE_UNREACHABLE");
    expect(err.details).toMatchObject({ network: "ECONNREFUSED", attempts: 3 });
    const err2 = await caught(gw.createPrediction({ version: "a".repeat(64), input: {} }));
    expect(err2.code).toBe("REPLICATE_UNREACHABLE");
    expect(gw.waits).toHaveLength(4);
  });
});
