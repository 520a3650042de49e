/**
 * `serve` in process: Replicate's signed deliveries from the emulator over real HTTP into the
 * fastify app, the forged, stale, replayed and oversized ones it must refuse without changing
 * anything, the health check, and the reconcile timer finishing a training whose webhooks were lost.
 */
import { afterEach, expect, it } from "vitest";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import { serve, WEBHOOK_BODY_LIMIT_BYTES, type LogEntry, type WebhookServer } from "../../src/server/index.js";
import { startTraining } from "../../src/training/index.js";
import { signWebhook } from "../../src/webhooks/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator, WebhookDelivery } from "../support/emulator/index.js";
import { count, imageFolder, trainingRows, userModel } from "../training/training-helpers.js";
import { until } from "../support/until.js";

let emu: Emulator;
emulatorForFile({ training: { startingMs: 60_000, processingMs: 600_000 }, webhookRetryDelaysMs: [50, 50] }, (started) => {
  emu = started;
});

let server: WebhookServer | undefined;
afterEach(async () => {
  emu.clearWebhookRules();
  await server?.close();
  server = undefined;
});


async function start(ctx: SselfieContext, reconcileEveryMs = 0) {
  const logs: LogEntry[] = [];
  server = await serve(ctx, { port: 0, reconcileEveryMs }, { actor: "server", onLog: (e) => logs.push(e) });
  return { server, logs };
}

function post(url: string, body: string | Buffer, headers: Record<string, string>) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

/** A delivery as Replicate signs it, with what the test chooses changed. */
function signed(d: Pick<WebhookDelivery, "webhookId" | "body">, opts: { secret?: string; timestamp?: number; id?: string } = {}) {
  const id = opts.id ?? d.webhookId;
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signWebhook(opts.secret ?? emu.webhookSecret, id, timestamp, d.body)}`,
  };
}

async function snapshot(db: Database) {
  return { rows: await trainingRows(db), model: await userModel(db, "42"), events: await count(db, "operator_events"), deliveries: await count(db, "webhook_deliveries") };
}

forEachBackend((backend) => {
  it("a delivered webhook completes a training at once: no polling, one JSON log line per request, no secret in them", async () => {
    const db = await backend.freshDatabase();
    const ctx0 = makeContext(db, emu);
    const { server, logs } = await start(ctx0);
    const ctx = makeContext(db, emu, { webhookUrl: server.webhookUrl });
    // A retry with the same webhook-id (the 2xx lost on its way back) is acknowledged, not applied again.
    emu.interceptWebhooks({ event: "completed", action: "repeat", count: 2 });
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "succeeded");
    await until(async () => (await userModel(db, "42"))?.training_status === "completed");
    await emu.waitForWebhooks();

    const t = emu.trainings.get(started.trainingId)!;
    expect(await userModel(db, "42")).toMatchObject({ replicate_version_id: t.createdVersionId });
    expect(emu.requestsTo("GET", `/v1/trainings/${t.id}`)).toHaveLength(0);
    const completed = emu.webhookDeliveries.filter((d) => d.jobId === t.id && d.event === "completed");
    expect(completed.map((d) => [d.status, d.rule])).toEqual([[200, "repeat"], [200, "repeat"], [200, "repeat"]]);
    expect(new Set(completed.map((d) => d.webhookId)).size).toBe(1);
    const counts = server.counts();
    expect(counts.applied).toBe(emu.webhookDeliveries.filter((d) => d.jobId === t.id).length - 2);
    expect(counts.duplicate).toBe(2);
    expect(await count(db, "webhook_deliveries")).toBe(counts.applied);

    const hooks = logs.filter((l) => l.path === "/webhooks/replicate");
    expect(hooks).toHaveLength(counts.applied + 2);
    expect(hooks.every((l) => l.method === "POST" && l.status === 200 && typeof l.webhookId === "string")).toBe(true);
    const text = JSON.stringify(logs);
    for (const secret of [emu.webhookSecret, emu.token, ...completed.map((d) => signWebhook(emu.webhookSecret, d.webhookId, String(d.timestamp), d.body))]) {
      expect(text).not.toContain(secret);
    }
  });

  it("forged, stale, replayed, unsigned and oversized deliveries change nothing and are counted", async () => {
    const db = await backend.freshDatabase();
    const { server } = await start(makeContext(db, emu));
    const ctx = makeContext(db, emu, { webhookUrl: "http://127.0.0.1:9/unused" });
    emu.interceptWebhooks({ action: "drop", times: Infinity });
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "succeeded");
    await emu.waitForWebhooks();
    const completed = emu.webhookDeliveries.find((d) => d.jobId === started.trainingId && d.event === "completed")!;
    const before = await snapshot(db);

    const url = server.webhookUrl;
    const now = Math.floor(Date.now() / 1000);
    const forged = await post(url, completed.body, signed(completed, { secret: "whsec_bm90IHRoZSBzZWNyZXQgYXQgYWxs" }));
    const stale = await post(url, completed.body, signed(completed, { timestamp: now - 6 * 60 }));
    const future = await post(url, completed.body, signed(completed, { timestamp: now + 6 * 60 }));
    const tampered = await post(url, completed.body.replace('"succeeded"', '"failed"'), signed(completed));
    const unsigned = await post(url, completed.body, {});
    const huge = await post(url, Buffer.alloc(WEBHOOK_BODY_LIMIT_BYTES + 1, 32), signed({ webhookId: "msg_big", body: "" }));
    expect([forged.status, stale.status, future.status, tampered.status, unsigned.status, huge.status]).toEqual([401, 401, 401, 401, 401, 413]);
    expect(await forged.json()).toMatchObject({ error: { code: "WEBHOOK_SIGNATURE_INVALID" } });
    expect(await stale.json()).toMatchObject({ error: { code: "WEBHOOK_TIMESTAMP_STALE" } });
    expect(await snapshot(db)).toEqual(before);
    expect(server.counts()).toMatchObject({ applied: 0, duplicate: 0, refused: { signature: 3, stale: 2, malformed: 0 } });

    // The genuine delivery, late but in its window, is applied once; its replay is acknowledged and ignored.
    const genuine = signed(completed);
    expect((await post(url, completed.body, genuine)).status).toBe(200);
    expect((await userModel(db, "42"))?.training_status).toBe("completed");
    const applied = await snapshot(db);
    const replay = await post(url, completed.body, genuine);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ outcome: "duplicate" });
    expect(await snapshot(db)).toEqual(applied);
    expect(server.counts()).toMatchObject({ applied: 1, duplicate: 1 });
    expect(emu.requestsTo("GET", `/v1/trainings/${started.trainingId}`)).toHaveLength(0);
  });

  it("a training whose webhooks were all dropped is completed by the reconcile timer", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { webhookUrl: "http://127.0.0.1:9/unused" });
    emu.interceptWebhooks({ action: "drop", times: Infinity });
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    const { logs } = await start(ctx, 100);
    await until(async () => logs.some((l) => l.event === "reconcile"));
    expect((await userModel(db, "42"))?.training_status).toBe("training");
    emu.finishTraining(started.trainingId, "succeeded");
    await until(async () => (await userModel(db, "42"))?.training_status === "completed");
    // The pass that changed it logs once it has ended.
    await until(async () => logs.some((l) => l.event === "reconcile" && (l.trainings as { changed: number }).changed === 1));
    const health = await (await fetch(`${server!.url}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, database: "up", reconcile: { trainings: expect.any(Object) } });
  });

  it("healthz answers 503 when the database cannot be reached", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    let down = false;
    const flaky: Database = Object.assign(Object.create(db), {
      query: (sql: string, params?: readonly unknown[]) => (down ? Promise.reject(new Error("connection refused")) : db.query(sql, params)),
    });
    const { server } = await start({ ...ctx, db: flaky });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    down = true;
    const r = await fetch(`${server.url}/healthz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ ok: false, database: "down" });
  });
});
