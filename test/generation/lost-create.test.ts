/** A create call left unanswered: found among the account's predictions, or settled as never made. */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { StateError } from "../../src/errors.js";
import { generate } from "../../src/generation/generate.js";
import { recoverGeneration, SETTLE_AFTER_MS } from "../../src/generation/recover.js";
import { hashInput } from "../../src/locked.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { emulatorTextOf, plantUser } from "./plant.js";

let emulator: Emulator;
emulatorForFile({ prediction: { durationMs: 200 } }, (started) => {
  emulator = started;
});

const outDir = () => tempDir("sselfie-lost-");
const fast = { waitSeconds: 1, pollIntervalMs: 20 };
const predictionPosts = () => emulator.requestsTo("POST", "/v1/predictions");
const listFault = () =>
  emulator.inject({ kind: "status", method: "GET", path: "/v1/predictions", status: 400, body: { detail: "Bad request", status: 400 } });

async function rows(db: Database) {
  return (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations ORDER BY id`)).rows;
}
async function events(db: Database) {
  return (await db.query<{ action: string; outcome: string; details: Record<string, any> }>(
    `SELECT action, outcome, details FROM ${db.s}.operator_events ORDER BY id`,
  )).rows;
}
/** As if the record had been written `ms` ago (the search window and the settling delay count from it). */
const age = (db: Database, id: number, ms: number) =>
  db.query(`UPDATE ${db.s}.generations SET created_at = created_at - $2::float8 * interval '1 millisecond' WHERE id = $1`, [id, ms]);

forEachBackend((backend) => {
  it("a create whose answer was lost is found at once, in the same call, and finished: one prediction, files, succeeded", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "a1");
    emulator.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    const dir = outDir();

    const result = await generate(ctx, "studio", { userId: "a1", prompt: "usera1", seed: 4242, outDir: dir, ...fast });

    expect(predictionPosts()).toHaveLength(1);
    expect(predictionPosts()[0]!.dropped).toBe(true);
    expect(emulator.requestsTo("GET", "/v1/predictions").length).toBeGreaterThanOrEqual(1);
    const made = [...emulator.predictions.values()].filter((p) => p.versionRef === m.ref);
    expect(made).toHaveLength(1);
    expect(result.predictionId).toBe(made[0]!.id);
    expect(result.files).toEqual([0, 1, 2].map((i) => join(dir, `${made[0]!.id}-${i}.png`)));
    expect((await readdir(dir)).sort()).toEqual([0, 1, 2].map((i) => `${made[0]!.id}-${i}.png`));

    const [row] = await rows(db);
    expect(row).toMatchObject({ status: "succeeded", replicate_prediction_id: made[0]!.id, seed: 4242, error: null });
    expect(row!.outputs.map((o: { file: string }) => o.file)).toEqual(result.files);
    expect((await events(db)).map((e) => [e.action, e.outcome])).toEqual([
      ["generation.attach", "ok"],
      ["generate", "ok"],
    ]);
    expect((await events(db))[0]!.details).toMatchObject({ generationId: row!.id, predictionId: made[0]!.id, foundBy: "search" });
  });

  it("nothing made by a create answered 5xx: `unknown`, not settled while a late create could appear, then settled as failed", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "n1");
    emulator.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 503 });
    const err = await caught(generate(ctx, "studio", { userId: "n1", prompt: "usern1", seed: 31, outDir: outDir(), ...fast }));
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.details.lookup).toMatch(/none was listed/);
    const [row] = await rows(db);
    expect(row).toMatchObject({ status: "unknown", replicate_prediction_id: null });

    // Near misses: only the exact version and input hash make a match.
    const otherSeed = await ctx.gateway.createPrediction({ version: m.ref, input: { ...row!.input, seed: 32 } });
    const otherVersion = `${m.modelId}:${emulator.createVersion(m.modelId)}`;
    const sameInput = await ctx.gateway.createPrediction({ version: otherVersion, input: row!.input });
    expect(hashInput(emulator.predictions.get(sameInput.id)!.input)).toBe(row!.input_hash);
    expect(emulator.predictions.get(otherSeed.id)!.versionRef).toBe(row!.version_ref);

    const early = await caught(recoverGeneration(ctx, "ops", { generationId: row!.id, outDir: outDir() }));
    expect(early).toBeInstanceOf(StateError);
    expect(early.code).toBe("PREDICTION_UNKNOWN");
    expect(early.message).toMatch(/less than 10 min ago/);
    expect((await rows(db))[0]).toMatchObject({ status: "unknown", finished_at: null });

    await age(db, row!.id, SETTLE_AFTER_MS + 60_000);
    const settled = await caught(recoverGeneration(ctx, "ops", { generationId: row!.id, outDir: outDir() }));
    expect(settled).toBeInstanceOf(StateError);
    expect(settled.code).toBe("PREDICTION_NOT_CREATED");
    expect(settled.message).toMatch(/made nothing/);
    const [after] = await rows(db);
    expect(after).toMatchObject({ status: "failed", replicate_prediction_id: null, error: expect.stringMatching(/made nothing/) });
    expect(after!.finished_at).toBeInstanceOf(Date);
    expect((await events(db)).map((e) => [e.action, e.outcome, e.details.code])).toEqual([
      ["generate", "failed", "REPLICATE_OUTCOME_UNKNOWN"],
      ["generation.recover", "refused", "PREDICTION_UNKNOWN"],
      ["generation.recover", "failed", "PREDICTION_NOT_CREATED"],
    ]);

    // Settled for good: no search, no create.
    emulator.clearRequests();
    expect((await caught(recoverGeneration(ctx, "ops", { generationId: row!.id, outDir: outDir() }))).code).toBe("PREDICTION_NOT_CREATED");
    expect(emulator.requests).toEqual([]);
    expect(predictionPosts()).toHaveLength(0);
  });

  it("recoverGeneration finds and finishes a lost create by itself, ignoring a prediction another record owns", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "s1");
    // The same explicit seed twice: the same request, told apart by which record owns which prediction.
    const first = await generate(ctx, null, { userId: "s1", prompt: "users1", seed: 9, outDir: outDir(), ...fast });
    emulator.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    listFault();
    expect((await caught(generate(ctx, null, { userId: "s1", prompt: "users1", seed: 9, outDir: outDir(), ...fast }))).code).toBe(
      "REPLICATE_OUTCOME_UNKNOWN",
    );
    const lost = [...emulator.predictions.values()].filter((p) => p.versionRef === m.ref && p.id !== first.predictionId);
    expect(lost).toHaveLength(1);
    const [, second] = await rows(db);
    expect(second!.input_hash).toBe((await rows(db))[0]!.input_hash);

    const dir = outDir();
    const recovered = await recoverGeneration(ctx, "ops", { generationId: second!.id, outDir: dir, ...fast });
    expect(recovered.predictionId).toBe(lost[0]!.id);
    expect(recovered.files).toHaveLength(3);
    for (const f of recovered.files) expect(emulatorTextOf(await readFile(f)).prediction).toBe(lost[0]!.id);
    expect((await rows(db)).map((r) => [r.status, r.replicate_prediction_id])).toEqual([
      ["succeeded", first.predictionId],
      ["succeeded", lost[0]!.id],
    ]);
    expect(predictionPosts()).toHaveLength(2);
  });

  it("refuses two unanswered records of the same request that one prediction could belong to", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "t1");
    emulator.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    listFault();
    await caught(generate(ctx, null, { userId: "t1", prompt: "usert1", seed: 5, outDir: outDir(), ...fast }));
    emulator.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 503 });
    await caught(generate(ctx, null, { userId: "t1", prompt: "usert1", seed: 5, outDir: outDir(), ...fast }));
    const [a, b] = await rows(db);
    const err = await caught(recoverGeneration(ctx, "ops", { generationId: a!.id, outDir: outDir() }));
    expect(err.code).toBe("INTEGRITY_VIOLATION");
    expect(err.details.generationIds).toEqual([a!.id, b!.id]);
    expect((await rows(db)).map((r) => r.status)).toEqual(["unknown", "unknown"]);
  });

  it("does not settle when the search stopped at its limit", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "l1");
    emulator.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 503 });
    await caught(generate(ctx, null, { userId: "l1", prompt: "userl1", outDir: outDir(), ...fast }));
    for (const seed of [1, 2, 3]) await ctx.gateway.createPrediction({ version: m.ref, input: { prompt: "userl1", seed } });
    const [row] = await rows(db);
    await age(db, row!.id, SETTLE_AFTER_MS + 60_000);
    const err = await caught(recoverGeneration(ctx, "ops", { generationId: row!.id, outDir: outDir(), searchLimit: 2 }));
    expect(err.code).toBe("PREDICTION_UNKNOWN");
    expect(err.details).toMatchObject({ limitReached: true, examined: 2 });
    expect((await rows(db))[0]!.status).toBe("unknown");
  });

  it("does not settle when a prediction of the version lost its input before it could be compared", async () => {
    // Its own emulator: its clock moves two hours on.
    const emu = await startEmulator({ prediction: { durationMs: 50 } });
    try {
      const db = await backend.freshDatabase();
      const ctx = makeContext(db, emu);
      await plantUser(db, emu, "e1");
      emu.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
      emu.inject({ kind: "status", method: "GET", path: "/v1/predictions", status: 400, body: { detail: "Bad request", status: 400 } });
      await caught(generate(ctx, null, { userId: "e1", prompt: "usere1", outDir: outDir(), ...fast }));
      const [lost] = [...emu.predictions.values()];
      emu.advance(2 * 60 * 60_000);
      const [row] = await rows(db);
      await age(db, row!.id, SETTLE_AFTER_MS + 60_000);
      const err = await caught(recoverGeneration(ctx, "ops", { generationId: row!.id, outDir: outDir() }));
      expect(err.code).toBe("PREDICTION_UNKNOWN");
      expect(err.details.inputsDeleted).toEqual([lost!.id]);
      expect(err.message).toMatch(/deleted their input/);
      expect((await rows(db))[0]!.status).toBe("unknown");
    } finally {
      await emu.close();
    }
  });
});
