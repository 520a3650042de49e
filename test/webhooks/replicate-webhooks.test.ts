/**
 * Replicate's webhooks as a backend receives them: real signed deliveries from the emulator over
 * HTTP into handleReplicateWebhook, plus the forged, stale and replayed ones it must refuse.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import type { Prediction } from "../../src/replicate/index.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import {
  checkTimestamp,
  handleReplicateWebhook,
  hasValidSignature,
  signWebhook,
  WebhookVerificationError,
  type WebhookResult,
} from "../../src/webhooks/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator, type WebhookDelivery } from "../support/emulator/index.js";
import { count, events, imageFolder, trainingRows, userModel } from "../training/training-helpers.js";
import { until } from "../support/until.js";

const STARTING_MS = 10_000;
const PROCESSING_MS = 100_000;

let emu: Emulator;
let receiver: Server;
let receiverUrl: string;
/** Where the receiver sends deliveries: the current test's context. */
let target: SselfieContext | undefined;
let answer = 200;
const handled: Array<WebhookResult | Error> = [];

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (answer !== 200 || !target) return void res.writeHead(answer === 200 ? 503 : answer).end();
    try {
      // The emulator signs with its own (advanced) clock; the window is checked against it.
      handled.push(await handleReplicateWebhook(target, { headers: req.headers, rawBody: Buffer.concat(chunks), now: emu.now() }));
      res.writeHead(200).end();
    } catch (err) {
      handled.push(err as Error);
      res.writeHead(err instanceof WebhookVerificationError ? 400 : 500).end();
    }
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/replicate`;
});
afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: STARTING_MS, processingMs: PROCESSING_MS }, webhookRetryDelaysMs: [50, 50] });
  handled.length = 0;
  answer = 200;
  target = undefined;
});
afterEach(() => emu.close());


/** Re-sends a recorded delivery (or a variant) straight to the handler. */
function redeliver(ctx: SselfieContext, d: Pick<WebhookDelivery, "webhookId" | "timestamp" | "body">, opts: { secret?: string; now?: number } = {}) {
  const signature = `v1,${signWebhook(opts.secret ?? emu.webhookSecret, d.webhookId, String(d.timestamp), d.body)}`;
  return handleReplicateWebhook(ctx, {
    headers: { "webhook-id": d.webhookId, "webhook-timestamp": String(d.timestamp), "webhook-signature": signature },
    rawBody: d.body,
    now: opts.now ?? emu.now(),
  });
}

async function snapshot(db: Database) {
  return {
    rows: await trainingRows(db),
    model: await userModel(db, "42"),
    events: await count(db, "operator_events"),
    deliveries: await count(db, "webhook_deliveries"),
  };
}

it("verifies Replicate's published test vector, in constant time, and nothing else", () => {
  const delivery = { webhookId: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", rawBody: '{"test": 2432232314}' };
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
  expect(hasValidSignature({ ...delivery, signature }, secret)).toBe(true);
  expect(hasValidSignature({ ...delivery, signature: `v1,bm90IGl0 ${signature}` }, secret)).toBe(true);
  expect(hasValidSignature({ ...delivery, rawBody: '{"test": 2432232315}', signature }, secret)).toBe(false);
  expect(hasValidSignature({ ...delivery, timestamp: "1614265331", signature }, secret)).toBe(false);
  expect(hasValidSignature({ ...delivery, signature: signature.replace("v1,", "v2,") }, secret)).toBe(false);
  expect(hasValidSignature({ ...delivery, signature: "v1," }, secret)).toBe(false);
  expect(hasValidSignature({ ...delivery, signature }, "whsec_bm90IHRoZSBzZWNyZXQ=")).toBe(false);
  expect(() => checkTimestamp("1614265330", 1614265330_000 + 299_000)).not.toThrow();
  expect(() => checkTimestamp("1614265330", 1614265330_000 + 301_000)).toThrow(expect.objectContaining({ code: "WEBHOOK_TIMESTAMP_STALE" }));
  expect(() => checkTimestamp("1614265330", 1614265330_000 - 301_000)).toThrow(expect.objectContaining({ code: "WEBHOOK_TIMESTAMP_STALE" }));
  expect(() => checkTimestamp("soon", 0)).toThrow(expect.objectContaining({ code: "WEBHOOK_MALFORMED" }));
});

forEachBackend((backend) => {
  async function setup(opts: { webhook?: boolean } = {}) {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, opts.webhook === false ? {} : { webhookUrl: receiverUrl });
    target = ctx;
    return { db, ctx };
  }

  it("follows a training to a stored version by webhooks alone, with no polling", async () => {
    const { db, ctx } = await setup();
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    const body = emu.requestsTo("POST", /\/trainings$/)[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ webhook: receiverUrl, webhook_events_filter: ["start", "logs", "completed"] });

    emu.advance(STARTING_MS + PROCESSING_MS / 2);
    const mid = await until(async () => ((await trainingRows(db, "42"))[0]!.progress?.step ?? 0) > 0 && (await trainingRows(db, "42"))[0]);
    expect(mid.progress!.total).toBe(1000);

    emu.advance(PROCESSING_MS);
    await until(async () => (await userModel(db, "42"))?.training_status === "completed");
    await emu.waitForWebhooks();
    const t = emu.trainings.get(started.trainingId)!;
    expect(await userModel(db, "42")).toMatchObject({ replicate_version_id: t.createdVersionId, current_training_id: t.id });
    expect((await trainingRows(db, "42"))[0]).toMatchObject({ status: "completed", output_version: t.createdVersionId });
    expect(emu.requestsTo("GET", `/v1/trainings/${t.id}`)).toHaveLength(0);
    // The secret was fetched once and cached.
    expect(emu.requestsTo("GET", "/v1/webhooks/default/secret")).toHaveLength(1);
    const ok = handled.filter((h): h is WebhookResult => !(h instanceof Error));
    expect(ok.length).toBe(handled.length);
    expect(ok.every((h) => h.handled && h.kind === "training" && h.id === t.id && !h.duplicate)).toBe(true);
    expect(await count(db, "webhook_deliveries")).toBe(ok.length);
    expect((await events(db, "42")).filter((e) => e.details.source === "webhook").map((e) => e.details.to)).toContain("completed");
  });

  it("a replayed webhook-id is acknowledged as a duplicate and changes nothing", async () => {
    const { db, ctx } = await setup();
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "succeeded");
    await until(async () => (await userModel(db, "42"))?.training_status === "completed");
    await emu.waitForWebhooks();
    const delivered = emu.webhookDeliveries.filter((d) => d.status === 200);
    const before = await snapshot(db);
    for (const d of delivered) {
      await expect(redeliver(ctx, d)).resolves.toMatchObject({ handled: true, duplicate: true, kind: "training", id: started.trainingId });
    }
    expect(await snapshot(db)).toEqual(before);
  });

  it("a new delivery of an older state (out of order) never moves a finished training back", async () => {
    const { db, ctx } = await setup();
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "succeeded");
    await until(async () => (await userModel(db, "42"))?.training_status === "completed");
    await emu.waitForWebhooks();
    const start = emu.webhookDeliveries.find((d) => d.event === "start")!;
    const before = await snapshot(db);
    await expect(redeliver(ctx, { ...start, webhookId: "msg_out_of_order_1" })).resolves.toMatchObject({ handled: true, duplicate: false });
    const after = await snapshot(db);
    expect(after.rows).toEqual(before.rows);
    expect(after.model).toEqual(before.model);
    expect(after.events).toBe(before.events);
  });

  it("refuses forged, unsigned and stale deliveries, changing nothing", async () => {
    const { db, ctx } = await setup();
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.createModel(`${emu.owner}/mallory`);
    const forgedVersion = emu.createVersion(`${emu.owner}/mallory`);
    await until(async () => handled.length > 0);
    await emu.waitForWebhooks();
    const start = emu.webhookDeliveries.find((d) => d.event === "start")!;
    const before = await snapshot(db);
    const forgedBody = JSON.stringify({
      ...JSON.parse(start.body),
      status: "succeeded",
      output: { version: `${emu.owner}/42-selfie-lora:${forgedVersion}`, weights: null },
    });
    const headers = (over: Record<string, string>) => ({
      "webhook-id": "msg_forged",
      "webhook-timestamp": String(start.timestamp),
      "webhook-signature": `v1,${signWebhook(emu.webhookSecret, start.webhookId, String(start.timestamp), start.body)}`,
      ...over,
    });
    // Each refusal is caught as it is made: they run at once, and are looked at in turn below.
    const settled = (attempt: Promise<unknown>) => attempt.catch((e: unknown) => e);
    const refusals: Array<[string, Promise<unknown>]> = [
      // The original signature on a changed body.
      ["WEBHOOK_SIGNATURE_INVALID", settled(handleReplicateWebhook(ctx, { headers: headers({ "webhook-id": start.webhookId }), rawBody: forgedBody, now: emu.now() }))],
      // Signed with a key that is not the account's.
      ["WEBHOOK_SIGNATURE_INVALID", settled(redeliver(ctx, { webhookId: "msg_forged_2", timestamp: start.timestamp, body: forgedBody }, { secret: "whsec_bm90IHRoZSBzZWNyZXQ=" }))],
      // No signature at all.
      ["WEBHOOK_MALFORMED", settled(handleReplicateWebhook(ctx, { headers: { "webhook-id": "x", "webhook-timestamp": String(start.timestamp) }, rawBody: forgedBody }))],
      // Correctly signed, but captured 10 minutes ago, or dated 10 minutes ahead.
      ["WEBHOOK_TIMESTAMP_STALE", settled(redeliver(ctx, { webhookId: "msg_old", timestamp: start.timestamp - 600, body: start.body }))],
      ["WEBHOOK_TIMESTAMP_STALE", settled(redeliver(ctx, { webhookId: "msg_future", timestamp: start.timestamp + 600, body: start.body }))],
    ];
    for (const [code, attempt] of refusals) {
      const err: any = await attempt;
      expect(err).toBeInstanceOf(WebhookVerificationError);
      expect(err.code).toBe(code);
    }
    expect(await snapshot(db)).toEqual(before);
    expect((await trainingRows(db, "42"))[0]).toMatchObject({ status: "training", replicate_training_id: started.trainingId });
    // Inside the window it is accepted.
    await expect(redeliver(ctx, { webhookId: "msg_recent", timestamp: Math.floor(emu.now() / 1000) - 240, body: start.body })).resolves.toMatchObject({
      handled: true,
    });
  });

  it("a signed succeeded delivery naming another model's version is an integrity violation, not the user's version", async () => {
    const { db, ctx } = await setup();
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    await until(async () => handled.length > 0);
    await emu.waitForWebhooks();
    emu.createModel(`${emu.owner}/mallory`);
    const other = emu.createVersion(`${emu.owner}/mallory`);
    const start = emu.webhookDeliveries.find((d) => d.event === "start")!;
    const body = JSON.stringify({ ...JSON.parse(start.body), status: "succeeded", output: { version: `${emu.owner}/mallory:${other}`, weights: null } });
    await redeliver(ctx, { webhookId: "msg_integrity", timestamp: Math.floor(emu.now() / 1000), body });
    expect(await userModel(db, "42")).toMatchObject({ training_status: "failed", replicate_version_id: null });
    expect((await trainingRows(db, "42"))[0]!.error).toMatch(/^INTEGRITY_VIOLATION/);
    expect(started.trainingId).toBeTruthy();
  });

  it("lost webhooks leave polling to finish the job", async () => {
    const { db, ctx } = await setup();
    answer = 500;
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "failed");
    await emu.waitForWebhooks();
    expect(emu.webhookDeliveries.length).toBeGreaterThan(0);
    expect((await userModel(db, "42"))!.training_status).toBe("training");
    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "failed" });
  });

  it("a webhook adopts a training whose create answer was lost", async () => {
    const { db, ctx } = await setup();
    answer = 503;
    emu.inject({ kind: "crash-after-create", method: "POST", path: /\/trainings$/ });
    emu.inject({ kind: "status", method: "GET", path: "/v1/trainings", status: 503, times: 6 });
    const ctxNoSleep = makeContext(db, emu, { webhookUrl: receiverUrl, gateway: { sleep: async () => {} } });
    await expect(startTraining(ctxNoSleep, "op", { userId: "42", images: imageFolder(10).dir })).rejects.toMatchObject({ code: "REPLICATE_OUTCOME_UNKNOWN" });
    expect((await trainingRows(db, "42"))[0]).toMatchObject({ status: "pending", replicate_training_id: null });
    await emu.waitForWebhooks();
    const start = emu.webhookDeliveries.find((d) => d.event === "start")!;
    await expect(redeliver(ctx, start)).resolves.toMatchObject({ handled: true, kind: "training" });
    const [created] = [...emu.trainings.values()];
    expect((await trainingRows(db, "42"))[0]).toMatchObject({ status: "training", replicate_training_id: created!.id });
  });

  it("hands prediction deliveries to the prediction handler, once per webhook-id; ignores strangers' trainings", async () => {
    const { db, ctx } = await setup({ webhook: false });
    const seen: Prediction[] = [];
    const applyPrediction = async (_ctx: SselfieContext, p: Prediction) => {
      seen.push(p);
      return { handled: true };
    };
    const now = Math.floor(Date.now() / 1000);
    const prediction = { id: "pred123", status: "processing", input: { prompt: "x" }, output: null, logs: "", metrics: {}, version: "a".repeat(64) };
    const d = { webhookId: "msg_pred_1", timestamp: now, body: JSON.stringify(prediction) };
    const sign = (x: typeof d) => ({
      headers: { "webhook-id": x.webhookId, "webhook-timestamp": String(x.timestamp), "webhook-signature": `v1,${signWebhook(emu.webhookSecret, x.webhookId, String(x.timestamp), x.body)}` },
      rawBody: x.body,
    });
    await expect(handleReplicateWebhook(ctx, sign(d), { applyPrediction, secret: emu.webhookSecret })).resolves.toEqual({
      handled: true,
      duplicate: false,
      kind: "prediction",
      id: "pred123",
    });
    await expect(handleReplicateWebhook(ctx, sign(d), { applyPrediction, secret: emu.webhookSecret })).resolves.toMatchObject({ duplicate: true });
    expect(seen.map((p) => [p.id, p.status])).toEqual([["pred123", "processing"]]);
    // With the secret passed in, Replicate was never asked for it.
    expect(emu.requestsTo("GET", "/v1/webhooks/default/secret")).toHaveLength(0);

    const stranger = { webhookId: "msg_t", timestamp: now, body: JSON.stringify({ id: "other", status: "starting", input: { input_images: "https://x/y.zip", trigger_word: "TOK" } }) };
    await expect(handleReplicateWebhook(ctx, sign(stranger), { applyPrediction, secret: emu.webhookSecret })).resolves.toEqual({
      handled: false,
      duplicate: false,
      kind: "training",
      id: "other",
    });
    expect(await count(db, "webhook_deliveries")).toBe(1);

    // The default handler is the generation use-case's: a prediction sselfie never made is not handled.
    const unknown = { webhookId: "msg_pred_2", timestamp: now, body: JSON.stringify({ ...prediction, id: "pred-unknown" }) };
    await expect(handleReplicateWebhook(ctx, sign(unknown), { secret: emu.webhookSecret })).resolves.toEqual({
      handled: false,
      duplicate: false,
      kind: "prediction",
      id: "pred-unknown",
    });
    expect(await count(db, "webhook_deliveries")).toBe(1);
  });
});
