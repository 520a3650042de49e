/**
 * `reconcile` finishes what nobody is watching: a training whose webhooks were all dropped, a
 * generation whose create went unanswered, one whose images were never downloaded, a `pending`
 * claim whose process is gone. Real database, the real gateway against the emulator over HTTP.
 */
import { readdir } from "node:fs/promises";
import { expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { generate } from "../../src/generation/generate.js";
import { reconcile } from "../../src/reconcile/index.js";
import { startTraining } from "../../src/training/index.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "../generation/plant.js";
import { ageTraining, events, imageFolder, trainingRows, userModel } from "../training/training-helpers.js";
import { plantFinishedWork, plantRunningTraining } from "./plant-work.js";

let emu: Emulator;
emulatorForFile({ training: { startingMs: 60_000, processingMs: 600_000 }, prediction: { durationMs: 100 } }, (started) => {
  emu = started;
});

const fast = { waitSeconds: 1, pollIntervalMs: 20 };
const generationRows = async (db: Database) => (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations ORDER BY id`)).rows;
/** As if the generation had been recorded (and had ended) `minutes` ago. */
const ageGeneration = (db: Database, id: number, minutes: number) =>
  db.query(
    `UPDATE ${db.s}.generations SET created_at = created_at - $2::int * interval '1 minute',
            finished_at = finished_at - $2::int * interval '1 minute', updated_at = updated_at - $2::int * interval '1 minute' WHERE id = $1`,
    [id, minutes],
  );

forEachBackend((backend) => {
  it("a training whose every webhook was dropped completes through reconcile (no status call), once", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { webhookUrl: "http://127.0.0.1:9/webhooks/replicate" });
    emu.interceptWebhooks({ action: "drop", times: Infinity });
    try {
      const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
      emu.finishTraining(started.trainingId, "succeeded");
      await emu.waitForWebhooks();
      expect(emu.webhookDeliveries.filter((d) => d.jobId === started.trainingId).every((d) => d.rule === "drop")).toBe(true);
      expect((await userModel(db, "42"))?.training_status).toBe("training");

      const report = await reconcile(ctx, { actor: "cron" });
      expect(report).toEqual({ trainings: { checked: 1, changed: 1 }, generations: { checked: 0, changed: 0 }, errors: [] });
      const t = emu.trainings.get(started.trainingId)!;
      expect(await userModel(db, "42")).toMatchObject({ training_status: "completed", replicate_version_id: t.createdVersionId });
      expect((await events(db, "42")).at(-1)).toMatchObject({ operator: "cron", action: "training.refresh", details: { source: "reconcile", to: "completed" } });
      expect(emu.requestsTo("GET", `/v1/trainings/${t.id}`)).toHaveLength(1);

      // Finished: the next pass reads nothing of it.
      emu.clearRequests();
      expect(await reconcile(ctx)).toEqual({ trainings: { checked: 0, changed: 0 }, generations: { checked: 0, changed: 0 }, errors: [] });
      expect(emu.requests).toHaveLength(0);
    } finally {
      emu.clearWebhookRules();
    }
  });

  it("a generation whose create went unanswered is found, attached and downloaded into its folder, once it is 10 minutes old", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const m = await plantUser(db, emu, "g1");
    emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    // The one look generate makes finds nothing: the record stays `unknown`.
    emu.inject({ kind: "status", method: "GET", path: "/v1/predictions", status: 400, body: { detail: "Bad request", status: 400 } });
    const dir = tempDir("sselfie-reconcile-");
    expect((await caught(generate(ctx, "studio", { userId: "g1", prompt: "userg1 at dawn", seed: 77, outDir: dir, ...fast }))).code).toBe(
      "REPLICATE_OUTCOME_UNKNOWN",
    );
    const [row] = await generationRows(db);
    expect(row).toMatchObject({ status: "unknown", replicate_prediction_id: null, out_dir: dir });

    // Younger than 10 minutes: a create held up at Replicate may still appear, so it is left alone.
    expect((await reconcile(ctx)).generations).toEqual({ checked: 0, changed: 0 });
    await ageGeneration(db, row!.id, 11);
    const report = await reconcile(ctx, { actor: "cron" });
    expect(report).toEqual({ trainings: { checked: 0, changed: 0 }, generations: { checked: 1, changed: 1 }, errors: [] });
    const [made] = [...emu.predictions.values()].filter((p) => p.versionRef === m.ref);
    const [after] = await generationRows(db);
    expect(after).toMatchObject({ status: "succeeded", replicate_prediction_id: made!.id });
    expect((await readdir(dir)).sort()).toEqual([0, 1, 2].map((i) => `${made!.id}-${i}.png`));
    expect(after!.outputs.map((o: { file: string }) => o.file)).toEqual([0, 1, 2].map((i) => `${dir}/${made!.id}-${i}.png`));
    expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(1);
    expect((await events(db, "g1")).map((e) => [e.action, e.outcome])).toEqual([
      ["generate", "failed"],
      ["generation.attach", "ok"],
      ["generate", "ok"],
    ]);
  });

  it("a succeeded generation whose images were not downloaded gets them from reconcile, into the folder recorded with it", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await plantUser(db, emu, "g2");
    emu.inject({ kind: "status", path: /^\/delivery\//, status: 503, times: 3 });
    const dir = tempDir("sselfie-reconcile-");
    const result = await generate(ctx, "studio", { userId: "g2", prompt: "userg2", outDir: dir, ...fast, download: { attempts: 1 } });
    expect(result.failedDownloads).toHaveLength(3);
    expect(await readdir(dir)).toEqual([]);

    // Its own process may still be downloading for two minutes; then a reconciler steps in.
    expect((await reconcile(ctx)).generations.checked).toBe(0);
    await ageGeneration(db, result.generationId, 3);
    const report = await reconcile(ctx);
    expect(report).toEqual({ trainings: { checked: 0, changed: 0 }, generations: { checked: 1, changed: 1 }, errors: [] });
    expect((await readdir(dir)).sort()).toEqual([0, 1, 2].map((i) => `${result.predictionId}-${i}.png`));
    const [row] = await generationRows(db);
    expect(row!.outputs.every((o: { file: string | null; sha256: string | null }) => o.file && o.sha256)).toBe(true);
    expect(emu.requestsTo("POST", "/v1/predictions")).toHaveLength(1);
    expect((await reconcile(ctx)).generations.checked).toBe(0);
  });

  it("a stale pending claim is released; one its process still touches is left; finished rows are never read", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await plantFinishedWork(db, 50);
    for (const id of ["s1", "s2"]) {
      await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, [id]);
      await db.query(
        `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ($1, $2, $3, 'pending')`,
        [id, `${emu.owner}/${id}-selfie-lora`, `user${id}`],
      );
      await db.query(
        `INSERT INTO ${db.s}.trainings (user_id, trainer_version, destination, input, status) VALUES ($1, 'x', $2, '{}'::jsonb, 'pending')`,
        [id, `${emu.owner}/${id}-selfie-lora`],
      );
    }
    const [stale] = await trainingRows(db, "s1");
    await ageTraining(db, stale!.id, 60);

    const report = await reconcile(ctx);
    expect(report).toEqual({ trainings: { checked: 2, changed: 1 }, generations: { checked: 0, changed: 0 }, errors: [] });
    expect((await trainingRows(db, "s1"))[0]).toMatchObject({ status: "failed" });
    expect((await userModel(db, "s1"))?.training_status).toBe("failed");
    expect((await trainingRows(db, "s2"))[0]).toMatchObject({ status: "pending" });
    expect(emu.requestsTo("GET", /\/trainings\/[^/]+$/)).toHaveLength(0);
  });

  it("an item that fails is listed and the pass goes on; a row checked in this round is not checked again", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const a = await plantRunningTraining(db, emu, ctx.gateway, "f1");
    const b = await plantRunningTraining(db, emu, ctx.gateway, "f2");
    emu.inject({ kind: "status", method: "GET", path: `/v1/trainings/${a.trainingId}`, status: 404, body: { detail: "Not found.", status: 404 } });
    emu.finishTraining(b.trainingId, "failed");

    const report = await reconcile(ctx);
    expect(report.trainings).toEqual({ checked: 2, changed: 1 });
    expect(report.errors).toEqual([expect.objectContaining({ kind: "training", id: a.rowId, userId: "f1", code: expect.any(String) })]);
    expect((await trainingRows(db, "f2"))[0]).toMatchObject({ status: "failed" });

    // Within 30 s of a check, another pass (another cron job) leaves the row to the next round.
    emu.clearRequests();
    expect((await reconcile(ctx)).trainings.checked).toBe(0);
    expect((await reconcile(ctx, { recheckAfterMs: 0 })).trainings.checked).toBe(0);
    await db.query(`UPDATE ${db.s}.trainings SET reconcile_after = NULL`);
    expect((await reconcile(ctx)).trainings).toEqual({ checked: 1, changed: 0 });
  });

  it("two passes at once check each running training once between them", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const planted = [];
    for (let i = 0; i < 12; i++) planted.push(await plantRunningTraining(db, emu, ctx.gateway, `c${i}`));
    for (const p of planted.slice(0, 6)) emu.finishTraining(p.trainingId, "succeeded");
    emu.clearRequests();
    const [one, two] = await Promise.all([reconcile(ctx, { concurrency: 3 }), reconcile(ctx, { concurrency: 3 })]);
    expect(one.trainings.checked + two.trainings.checked).toBe(12);
    expect(one.trainings.changed + two.trainings.changed).toBe(6);
    for (const p of planted) expect(emu.requestsTo("GET", `/v1/trainings/${p.trainingId}`)).toHaveLength(1);
  });

  it("stopped by its signal, a pass finishes the item in hand and frees the claimed rest for the next process at once", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    for (let i = 0; i < 5; i++) await plantRunningTraining(db, emu, ctx.gateway, `a${i}`);
    const stop = new AbortController();
    // All five claimed at once, one worked at a time: the first item's progress stops the pass.
    const report = await reconcile(ctx, { concurrency: 1, claimBatch: 5, signal: stop.signal, onProgress: () => stop.abort() });
    expect(report.trainings.checked).toBe(1);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.trainings WHERE reconcile_after IS NULL`);
    expect(rows[0]!.n).toBe(4);
    expect((await reconcile(ctx)).trainings.checked).toBe(4);
  });
});
