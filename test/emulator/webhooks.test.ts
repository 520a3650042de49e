import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Emulator, signWebhook, startEmulator, verifyWebhook } from "../support/emulator/index.js";
import { call, createModel, createTraining, eventually } from "./helpers.js";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

let emu: Emulator;
let receiver: Server;
let hookUrl: string;
const received: Received[] = [];
/** Status the receiver answers per path (default 204). */
const answers = new Map<string, number[]>();

beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 50, processingMs: 1_200 }, prediction: { durationMs: 50 }, webhookRetryDelaysMs: [20, 20] });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString("utf8") });
      const queue = answers.get(req.url ?? "");
      const status = queue?.shift() ?? 204;
      if (status === 307) res.writeHead(307, { location: `${hookUrl}/redirected` }).end();
      else res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await emu.close();
  await new Promise((r) => receiver.close(r));
});
beforeEach(() => {
  received.length = 0;
  answers.clear();
});

describe("webhook signatures", () => {
  it("match REPLICATE.md's known vector", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const body = '{"test": 2432232314}';
    expect(signWebhook(secret, id, 1614265330, body)).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    expect(verifyWebhook(secret, id, "1614265330", body, "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")).toBe(true);
    expect(verifyWebhook(secret, id, "1614265331", body, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")).toBe(false);
  });

  it("the default secret is served and exposed", async () => {
    const res = await call(emu, "GET", "/webhooks/default/secret");
    expect(res.json).toEqual({ key: emu.webhookSecret });
    expect(emu.webhookSecret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
  });
});

describe("webhook deliveries", () => {
  it("a training sends start, logs and completed, each signed, each the training object", async () => {
    const dest = await createModel(emu, "hooked");
    const created = await createTraining(emu, dest, { steps: 200 }, { webhook: `${hookUrl}/training` });
    await eventually(() => received.some((r) => JSON.parse(r.body).status === "succeeded"));
    await emu.waitForWebhooks();
    const bodies = received.map((r) => JSON.parse(r.body));
    expect(bodies.every((b) => b.id === created.json.id)).toBe(true);
    expect(bodies[0].status).toBe("starting");
    expect(bodies.filter((b) => b.status === "processing").length).toBeGreaterThanOrEqual(1);
    expect(bodies.at(-1)).toMatchObject({ status: "succeeded", output: { version: expect.stringContaining(`${dest}:`) } });
    expect(bodies.some((b) => /flux_train_replicate/.test(b.logs ?? ""))).toBe(true);
    for (const r of received) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(Math.abs(Number(r.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
      expect(verifyWebhook(emu.webhookSecret, r.headers["webhook-id"]!, r.headers["webhook-timestamp"]!, r.body, r.headers["webhook-signature"]!)).toBe(true);
      expect(JSON.parse(r.body)).not.toHaveProperty("destination");
    }
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(received.length);
    expect(emu.webhookDeliveries.filter((d) => d.jobId === created.json.id).map((d) => d.event)).toContain("completed");
  });

  it("honours webhook_events_filter", async () => {
    const dest = await createModel(emu, "filtered");
    const created = await createTraining(emu, dest, {}, { webhook: `${hookUrl}/filtered`, webhook_events_filter: ["completed"] });
    emu.finishTraining(created.json.id, "failed");
    await eventually(() => received.length >= 1);
    await emu.waitForWebhooks();
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.body)).toMatchObject({ status: "failed", error: expect.any(String) });
    const bad = await createTraining(emu, dest, {}, { webhook: `${hookUrl}/x`, webhook_events_filter: ["finished"] });
    expect(bad.status).toBe(400);
  });

  it("a prediction sends start, output and completed", async () => {
    const dest = await createModel(emu, "hooked-predict");
    const version = `${dest}:${emu.createVersion(dest)}`;
    const res = await call(emu, "POST", "/predictions", { body: { version, input: { prompt: "x", num_outputs: 2 }, webhook: `${hookUrl}/prediction`, webhook_events_filter: ["start", "output", "completed"] } });
    await eventually(() => received.some((r) => JSON.parse(r.body).status === "succeeded" && received.length >= 3));
    await emu.waitForWebhooks();
    const events = emu.webhookDeliveries.filter((d) => d.jobId === res.json.id).map((d) => d.event);
    expect(events).toEqual(["start", "output", "completed"]);
    expect(JSON.parse(received.at(-1)!.body).output).toHaveLength(2);
  });

  it("retries a failed delivery with the same webhook-id, and does not follow redirects", async () => {
    const dest = await createModel(emu, "retried");
    answers.set("/flaky", [500, 500, 204]);
    const created = await createTraining(emu, dest, {}, { webhook: `${hookUrl}/flaky`, webhook_events_filter: ["completed"] });
    emu.finishTraining(created.json.id, "succeeded");
    await eventually(() => received.length >= 3);
    await emu.waitForWebhooks();
    expect(received.map((r) => r.path)).toEqual(["/flaky", "/flaky", "/flaky"]);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    expect(emu.webhookDeliveries.filter((d) => d.jobId === created.json.id).map((d) => [d.attempt, d.status])).toEqual([[1, 500], [2, 500], [3, 204]]);

    received.length = 0;
    answers.set("/moved", [307, 307, 307]);
    const moved = await createTraining(emu, dest, {}, { webhook: `${hookUrl}/moved`, webhook_events_filter: ["completed"] });
    emu.finishTraining(moved.json.id, "succeeded");
    await eventually(() => received.length >= 3);
    await emu.waitForWebhooks();
    expect(received.every((r) => r.path === "/moved")).toBe(true);
  });
});
