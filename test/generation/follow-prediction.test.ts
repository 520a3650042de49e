/** Predictions that outlast `Prefer: wait`: polling, aborted and canceled ones, and later updates. */
import { expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { InvalidInputError, OutcomeError } from "../../src/errors.js";
import { applyPredictionUpdate } from "../../src/generation/apply-prediction.js";
import { generate, type GenerationProgress } from "../../src/generation/generate.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { type Emulator } from "../support/emulator/index.js";
import { completePrediction } from "../support/emulator/predictions.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "./plant.js";

let emulator: Emulator;
emulatorForFile({ prediction: { durationMs: 1500 } }, (started) => {
  emulator = started;
});

const outDir = () => tempDir("sselfie-follow-");
const fast = { waitSeconds: 1, pollIntervalMs: 50 };

async function rows(db: Database) {
  return (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations ORDER BY id`)).rows;
}

forEachBackend((backend) => {
  it("polls a prediction that is still running when Prefer: wait ends, recording each status", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "p1");
    const seen: GenerationProgress[] = [];
    const statuses: string[] = [];
    const result = await generate(ctx, null, {
      userId: "p1",
      prompt: "userp1",
      outDir: outDir(),
      ...fast,
      onProgress: (p) => {
        seen.push(p);
        if (p.phase === "waiting") void rows(db).then((r) => statuses.push(r[0]!.status));
      },
    });
    expect(emulator.requestsTo("POST", "/v1/predictions")[0]!.status).toBe(202);
    expect(emulator.requestsTo("POST", "/v1/predictions")[0]!.headers.prefer).toBe("wait=1");
    expect(emulator.requestsTo("GET", `/v1/predictions/${result.predictionId}`).length).toBeGreaterThan(0);
    expect(seen.map((p) => p.phase)).toEqual(expect.arrayContaining(["creating", "waiting", "downloading"]));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === "starting" || s === "processing")).toBe(true);
    expect(result.files).toHaveLength(3);
    expect((await rows(db))[0]).toMatchObject({ status: "succeeded", replicate_prediction_id: result.predictionId });
  });

  for (const outcome of ["aborted", "canceled"] as const) {
    it(`knows a prediction that ends ${outcome}`, async () => {
      const db = await backend.freshDatabase();
      const ctx = makeContext(db, emulator);
      await plantUser(db, emulator, "p2");
      const err = await caught(
        generate(ctx, "studio", {
          userId: "p2",
          prompt: "userp2",
          outDir: outDir(),
          ...fast,
          onProgress: (p) => {
            if (p.phase === "waiting") completePrediction(emulator.predictions.get(p.predictionId)!, outcome, emulator.now());
          },
        }),
      );
      expect(err).toBeInstanceOf(OutcomeError);
      expect(err.code).toBe("GENERATION_FAILED");
      expect(err.details.status).toBe(outcome);
      expect((await rows(db))[0]).toMatchObject({ status: outcome, outputs: null, finished_at: expect.any(Date) });
      const events = (await db.query<Record<string, any>>(`SELECT outcome, details FROM ${db.s}.operator_events`)).rows;
      expect(events).toEqual([{ outcome: "failed", details: expect.objectContaining({ code: "GENERATION_FAILED", status: outcome }) }]);
    });
  }

  it("applyPredictionUpdate: unknown predictions, forward-only statuses, kept files, refused shapes", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "p3");
    const result = await generate(ctx, null, { userId: "p3", prompt: "userp3", outDir: outDir(), ...fast });
    const done = await ctx.gateway.getPrediction(result.predictionId);
    const [before] = await rows(db);

    expect(await applyPredictionUpdate(ctx, { ...done, id: "someoneelsesprediction" })).toBe(false);
    // A late `processing` delivery and a replayed `succeeded` change nothing.
    expect(await applyPredictionUpdate(ctx, { ...done, status: "processing", output: null, completed_at: null })).toBe(true);
    expect(await applyPredictionUpdate(ctx, { ...done, output: ["https://example.invalid/other.png"] })).toBe(true);
    const [after] = await rows(db);
    expect(after).toMatchObject({ status: "succeeded", outputs: before!.outputs, finished_at: before!.finished_at });
    expect(after!.outputs.map((o: { file: string }) => o.file)).toEqual(result.files);

    await expect(applyPredictionUpdate(ctx, { id: 5 })).rejects.toBeInstanceOf(InvalidInputError);

    // Replicate naming another model for our prediction is recorded, not applied.
    expect(await applyPredictionUpdate(ctx, { ...done, model: "mallory/x-selfie-lora", status: "failed", error: "x" })).toBe(true);
    expect((await rows(db))[0]!.status).toBe("succeeded");
    const last = (await db.query<Record<string, any>>(`SELECT action, outcome, details FROM ${db.s}.operator_events ORDER BY id DESC LIMIT 1`)).rows[0];
    expect(last).toMatchObject({ action: "generation.update", outcome: "failed", details: { code: "INTEGRITY_VIOLATION", recorded: m.ref } });
  });

  it("applyPredictionUpdate leaves two indistinguishable unanswered requests to an operator", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "p4");
    for (let i = 0; i < 2; i++) {
      emulator.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
      // Without this, generate's own search would attach each prediction to its record (lost-create.test.ts).
      emulator.inject({ kind: "status", method: "GET", path: "/v1/predictions", status: 400, body: { detail: "Bad request", status: 400 } });
      expect((await caught(generate(ctx, null, { userId: "p4", prompt: "userp4", seed: 9, outDir: outDir(), ...fast }))).code).toBe(
        "REPLICATE_OUTCOME_UNKNOWN",
      );
    }
    const ids = emulator.requestsTo("POST", "/v1/predictions").length;
    expect(ids).toBe(2);
    const created = [...emulator.predictions.values()].filter((p) => p.input.prompt === "userp4" && p.seed === 9).at(-1)!;
    const prediction = await ctx.gateway.getPrediction(created.id);
    expect(await applyPredictionUpdate(ctx, prediction)).toBe(false);
    expect((await rows(db)).map((r) => r.status)).toEqual(["unknown", "unknown"]);
  });
});
