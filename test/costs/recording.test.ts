/**
 * Every training and generation records Replicate's metrics and its cost (predict_time x the
 * price per second, exact, with the price beside it) when it reaches a final state, whichever
 * path brings the final state: generate, status, a webhook, reconcile. The budget reservation is
 * settled by that same write. Real database, the real gateway against the emulator over HTTP.
 */
import { expect, it } from "vitest";
import type { SselfieContext } from "../../src/context.js";
import { costsReport } from "../../src/costs/report.js";
import type { Database } from "../../src/db/types.js";
import { generate } from "../../src/generation/generate.js";
import { reconcile } from "../../src/reconcile/index.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import { handleReplicateWebhook, signWebhook } from "../../src/webhooks/index.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "../generation/plant.js";
import { imageFolder } from "../training/training-helpers.js";
import { costRows, expectCostOf, expectSpendingConsistent, spending, times } from "./helpers.js";

const PREDICTION_MS = 1500;
let emu: Emulator;
emulatorForFile({ training: { startingMs: 60_000, processingMs: 600_000 }, prediction: { durationMs: PREDICTION_MS } }, (started) => {
  emu = started;
});

const DEAD_WEBHOOK = "http://127.0.0.1:9/webhooks/replicate";
const fast = { waitSeconds: 1, pollIntervalMs: 20 };
/** Returns as soon as the prediction is created (it runs on at the emulator). */
const stopAtOnce = { waitSeconds: 1, pollIntervalMs: 20, timeoutMs: 1 };

function withPrice(db: Database, price: string, opts: { webhookUrl?: string } = {}): SselfieContext & { gateway: ReturnType<typeof makeContext>["gateway"] } {
  return { ...makeContext(db, emu, opts), pricePerSecond: price };
}

/** Hands the emulator's last recorded (dropped) `completed` delivery of `jobId` to the real webhook handler. */
async function deliverCompleted(ctx: SselfieContext, jobId: string) {
  await emu.waitForWebhooks();
  const d = emu.webhookDeliveries.filter((w) => w.jobId === jobId && w.event === "completed").at(-1);
  expect(d).toBeDefined();
  const signature = `v1,${signWebhook(emu.webhookSecret, d!.webhookId, String(d!.timestamp), d!.body)}`;
  return handleReplicateWebhook(ctx, {
    headers: { "webhook-id": d!.webhookId, "webhook-timestamp": String(d!.timestamp), "webhook-signature": signature },
    rawBody: d!.body,
    now: emu.now(),
  });
}

/** Ends a training after it ran for a while (finished while still starting, it would have run 0 s). */
function finishRunning(trainingId: string) {
  emu.advance(61_000);
  emu.finishTraining(trainingId, "succeeded");
}

forEachBackend((backend) => {
  it("generate: the cost is predict_time x price, the reservation is settled with it", async () => {
    const db = await backend.freshDatabase();
    const ctx = withPrice(db, "0.002");
    await plantUser(db, emu, "g1");
    const result = await generate(ctx, "op", { userId: "g1", prompt: "userg1 at dawn", outDir: tempDir("sselfie-costs-"), ...fast });
    const [row] = await costRows(db, "generations", "g1");
    expect(row!.status).toBe("succeeded");
    // Reserved before the create: the default estimate (15 s) at the price in force.
    expect(Number(row!.estimate_usd)).toBe(Number(await times(db, 15, "0.002")));
    await expectCostOf(db, row!, await ctx.gateway.getPrediction(result.predictionId), "0.002");
    expect(await expectSpendingConsistent(db, "g1")).toEqual({ spent: row!.cost_usd, reserved: "0" });
  });

  it("status: a training's cost is recorded when a refresh sees it end; while it runs its estimate is reserved", async () => {
    const db = await backend.freshDatabase();
    const ctx = withPrice(db, "0.001525");
    const started = await startTraining(ctx, "op", { userId: "t1", images: imageFolder(10).dir, steps: 200 });
    const [running] = await costRows(db, "trainings", "t1");
    expect(Number(running!.estimate_usd)).toBe(Number(await times(db, 200 * 1.5, "0.001525")));
    expect(running!.cost_usd).toBeNull();
    expect(await spending(db, "t1")).toEqual({ spent: "0", reserved: String(Number(running!.estimate_usd)) });

    finishRunning(started.trainingId);
    await refreshTraining(ctx, "op", "t1");
    const [row] = await costRows(db, "trainings", "t1");
    expect(row!.status).toBe("completed");
    await expectCostOf(db, row!, await ctx.gateway.getTraining(started.trainingId), "0.001525");
    expect(await expectSpendingConsistent(db, "t1")).toEqual({ spent: row!.cost_usd, reserved: "0" });
  });

  it("webhooks: a training's and a generation's final delivery record their costs, once", async () => {
    const db = await backend.freshDatabase();
    const ctx = withPrice(db, "0.003", { webhookUrl: DEAD_WEBHOOK });
    emu.interceptWebhooks({ action: "drop", times: Infinity });
    try {
      await plantUser(db, emu, "w1");
      const gen = await caught(generate(ctx, "op", { userId: "w1", prompt: "userw1 by the sea", outDir: tempDir("sselfie-costs-"), ...stopAtOnce }));
      expect(gen.code).toBe("REPLICATE_WAIT_TIMEOUT");
      const started = await startTraining(ctx, "op", { userId: "w2", images: imageFolder(10).dir });
      finishRunning(started.trainingId);
      emu.advance(PREDICTION_MS * 2);

      const [g] = await costRows(db, "generations", "w1");
      expect(g!.status).toBe("processing");
      const predictionId = (await db.query<{ p: string }>(`SELECT replicate_prediction_id AS p FROM ${db.s}.generations`)).rows[0]!.p;
      expect((await deliverCompleted(ctx, predictionId)).handled).toBe(true);
      expect((await deliverCompleted(ctx, started.trainingId)).handled).toBe(true);

      const [gen2] = await costRows(db, "generations", "w1");
      await expectCostOf(db, gen2!, await ctx.gateway.getPrediction(predictionId), "0.003");
      const [t] = await costRows(db, "trainings", "w2");
      expect(t!.status).toBe("completed");
      await expectCostOf(db, t!, await ctx.gateway.getTraining(started.trainingId), "0.003");
      // A repeated delivery settles nothing twice.
      await deliverCompleted(ctx, predictionId);
      expect(await expectSpendingConsistent(db, "w1")).toEqual({ spent: gen2!.cost_usd, reserved: "0" });
      expect(await expectSpendingConsistent(db, "w2")).toEqual({ spent: t!.cost_usd, reserved: "0" });
    } finally {
      emu.clearWebhookRules();
    }
  });

  it("reconcile: a training and a generation nobody followed get their costs", async () => {
    const db = await backend.freshDatabase();
    const ctx = withPrice(db, "0.004");
    await plantUser(db, emu, "r1");
    expect((await caught(generate(ctx, "op", { userId: "r1", prompt: "userr1 in the rain", outDir: tempDir("sselfie-costs-"), ...stopAtOnce }))).code).toBe(
      "REPLICATE_WAIT_TIMEOUT",
    );
    const started = await startTraining(ctx, "op", { userId: "r2", images: imageFolder(10).dir });
    finishRunning(started.trainingId);
    emu.advance(PREDICTION_MS * 2);
    expect((await spending(db, "r1"))!.reserved).not.toBe("0");

    const report = await reconcile(ctx, { generationAges: { settleAfterMs: 0 } });
    expect(report.errors).toEqual([]);
    const [g] = await costRows(db, "generations", "r1");
    const predictionId = (await db.query<{ p: string }>(`SELECT replicate_prediction_id AS p FROM ${db.s}.generations`)).rows[0]!.p;
    await expectCostOf(db, g!, await ctx.gateway.getPrediction(predictionId), "0.004");
    const [t] = await costRows(db, "trainings", "r2");
    await expectCostOf(db, t!, await ctx.gateway.getTraining(started.trainingId), "0.004");
    expect(await expectSpendingConsistent(db, "r1")).toEqual({ spent: g!.cost_usd, reserved: "0" });
    expect(await expectSpendingConsistent(db, "r2")).toEqual({ spent: t!.cost_usd, reserved: "0" });
  });

  it("a price change applies to new records only; costs sums the recorded costs per kind and user", async () => {
    const db = await backend.freshDatabase();
    await plantUser(db, emu, "p1");
    await plantUser(db, emu, "p2");
    const out = tempDir("sselfie-costs-");
    await generate(withPrice(db, "0.001"), null, { userId: "p1", prompt: "userp1 one", outDir: out, ...fast });
    await generate(withPrice(db, "0.01"), null, { userId: "p1", prompt: "userp1 two", outDir: out, ...fast });
    await generate(withPrice(db, "0.01"), null, { userId: "p2", prompt: "userp2 one", outDir: out, ...fast });
    const rows = await costRows(db, "generations");
    expect(rows.map((r) => r.price_per_second)).toEqual(["0.001", "0.01", "0.01"]);
    for (const r of rows) expect(r.cost_usd).toBe(await times(db, r.predict_time!, r.price_per_second!));

    const sum = (xs: typeof rows) => xs.reduce((a, r) => a + Number(r.cost_usd), 0);
    const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
    const all = await costsReport(db, db.s, {});
    expect(all).toEqual({
      currency: "USD",
      total: round6(sum(rows)),
      trainings: { count: 0, seconds: 0, usd: 0 },
      generations: {
        count: 3,
        seconds: Math.round(rows.reduce((a, r) => a + r.predict_time!, 0) * 1000) / 1000,
        usd: round6(sum(rows)),
      },
      users: expect.any(Array),
    });
    const byUser = new Map(all.users.map((u) => [u.userId, u.usd]));
    expect(byUser).toEqual(new Map([["p1", round6(sum(rows.slice(0, 2)))], ["p2", round6(sum(rows.slice(2)))]]));
    expect((await costsReport(db, db.s, { userId: "p2" })).generations.count).toBe(1);
    expect((await costsReport(db, db.s, { since: new Date(Date.now() + 86_400_000) })).generations.count).toBe(0);
  });
});
