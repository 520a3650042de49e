/**
 * Every way a start can be cut short leaves the database consistent with Replicate: a training
 * that was created is adopted (never started twice, never lost), one that was not is released.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { ReplicateError } from "../../src/errors.js";
import { TRAINER_REF } from "../../src/locked.js";
import { cancelTraining, refreshTraining, startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { ageTraining, events, imageFolder, trainingRows, userModel } from "./training-helpers.js";

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: 10_000, processingMs: 100_000 } });
});
afterEach(() => emu.close());

const TRAININGS = /\/trainings$/;
const trainingPosts = () => emu.requestsTo("POST", TRAININGS);
// The gateway retries a GET up to 5 times: 6 failures make the list call fail for good.
const failListing = () => emu.inject({ kind: "status", method: "GET", path: "/v1/trainings", status: 503, times: 6 });
const noSleep = { gateway: { sleep: async () => {} } };

forEachBackend((backend) => {
  it("an answer lost after the create (crash-after-create) is found in the trainings list and adopted at once", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    emu.inject({ kind: "crash-after-create", method: "POST", path: TRAININGS });
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    expect(emu.trainings.size).toBe(1);
    const [only] = [...emu.trainings.values()];
    expect(started.trainingId).toBe(only!.id);
    expect(trainingPosts()).toHaveLength(1);
    expect((await trainingRows(db, "42"))[0]).toMatchObject({ status: "training", replicate_training_id: only!.id });
  });

  it("created, answer lost and the list unreachable: the row stays pending, blocks a second start, and status adopts the training", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, noSleep);
    emu.inject({ kind: "crash-after-create", method: "POST", path: TRAININGS });
    failListing();
    const err = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir }).catch((e) => e);
    expect(err).toBeInstanceOf(ReplicateError);
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.message).toMatch(/sselfie status --user 42/);
    const [created] = [...emu.trainings.values()];
    const [row] = await trainingRows(db, "42");
    expect(row).toMatchObject({ status: "pending", replicate_training_id: null });
    expect(row!.input_images_url).toBe(created!.input.input_images);
    expect(row!.input).toEqual(created!.input);

    // A second train must neither start another training nor touch Replicate.
    emu.clearRequests();
    await expect(startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 9).dir })).rejects.toMatchObject({ code: "TRAINING_IN_PROGRESS" });
    expect(emu.requests).toHaveLength(0);

    const status = await refreshTraining(ctx, "op", "42");
    expect(status).toMatchObject({ status: "training", trainingId: created!.id });
    expect(emu.trainings.size).toBe(1);
    expect((await events(db, "42")).find((e) => e.details.adopted)).toMatchObject({ action: "training.refresh", details: { source: "reconcile" } });

    emu.finishTraining(created!.id, "succeeded");
    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "completed", versionId: created!.createdVersionId });
  });

  it("a 5xx on create that created nothing: pending while Replicate may still list it (2 min), then released, and a new train starts one training", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    emu.inject({ kind: "status", method: "POST", path: TRAININGS, status: 500 });
    const err = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir }).catch((e) => e);
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(emu.trainings.size).toBe(0);

    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "pending", trainingId: null });
    const [row] = await trainingRows(db, "42");
    // The process gave the claim up (it is marked so), and the create may still appear for CREATE_SETTLE_MS.
    expect(row!.holder).toMatchObject({ pid: process.pid, exitedAt: expect.any(String) });
    await ageTraining(db, row!.id, 3);
    const released = await refreshTraining(ctx, "op", "42");
    expect(released.status).toBe("failed");
    expect(released.error).toMatch(/never created at Replicate/);
    expect((await trainingRows(db, "42"))[0]!.finished_at).not.toBeNull();

    const again = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    expect(emu.trainings.size).toBe(1);
    expect(again.trainingId).toBe([...emu.trainings.keys()][0]);
    expect((await trainingRows(db, "42")).map((r) => r.status)).toEqual(["failed", "training"]);
  });

  it("a definite refusal of the create (422) undoes the claim: no row, the user as before, one failed event", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const first = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(first.trainingId, "succeeded");
    const before = await refreshTraining(ctx, "op", "42");
    emu.inject({ kind: "status", method: "POST", path: TRAININGS, status: 422, body: { detail: "input: steps out of range", status: 422 } });
    const err = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 5).dir }).catch((e) => e);
    expect(err.code).toBe("REPLICATE_INVALID_INPUT");
    expect(await trainingRows(db, "42")).toHaveLength(1);
    expect(await refreshTraining(ctx, "op", "42")).toEqual(before);
    expect((await events(db, "42")).at(-1)).toMatchObject({ action: "train", outcome: "failed", details: { code: "REPLICATE_INVALID_INPUT", claimUndone: true } });
  });

  it("an upload that fails undoes the claim; nothing reaches the trainer", async () => {
    const db = await backend.freshDatabase();
    // Uploads are retried: fail every attempt, without the real backoff.
    const ctx = makeContext(db, emu, { gateway: { sleep: async () => {} } });
    emu.inject({ kind: "status", method: "POST", path: "/v1/files", status: 502, times: 6 });
    await expect(startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir })).rejects.toBeInstanceOf(ReplicateError);
    expect(trainingPosts()).toHaveLength(0);
    expect(await trainingRows(db, "42")).toHaveLength(0);
    expect(await userModel(db, "42")).toBeNull();
    await expect(startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir })).resolves.toMatchObject({ status: "training" });
  });

  it("a planted pending row whose training Replicate has (already finished) is adopted with its outcome", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    // As if the process had died before storing the id: forget it.
    await db.query(`UPDATE ${db.s}.trainings SET status = 'pending', replicate_training_id = NULL, replicate_status = NULL`);
    await db.query(`UPDATE ${db.s}.user_models SET training_status = 'pending', current_training_id = NULL`);
    emu.finishTraining(started.trainingId, "succeeded");
    const status = await refreshTraining(ctx, "op", "42");
    expect(status).toMatchObject({ status: "completed", trainingId: started.trainingId, versionId: emu.trainings.get(started.trainingId)!.createdVersionId });
  });

  it("a planted pending row without an upload: in progress while fresh, released once stale", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('42')`);
    await db.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ('42', $1, 'user42', 'pending')`,
      [`${emu.owner}/42-selfie-lora`],
    );
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO ${db.s}.trainings (user_id, trainer_version, destination, input) VALUES ('42', $1, $2, '{"trigger_word":"user42"}') RETURNING id`,
      [TRAINER_REF, `${emu.owner}/42-selfie-lora`],
    );
    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "pending" });
    await expect(startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir })).rejects.toMatchObject({ code: "TRAINING_IN_PROGRESS" });
    expect(emu.requests).toHaveLength(0);

    await ageTraining(db, rows[0]!.id, 20);
    // train itself reconciles the stale row, then starts.
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    expect(started.status).toBe("training");
    const all = await trainingRows(db, "42");
    expect(all.map((r) => r.status)).toEqual(["failed", "training"]);
    expect(all[0]!.error).toMatch(/before the images were uploaded/);
    expect(trainingPosts()).toHaveLength(1);
  });

  it("cancel reaches a training whose id was never stored, and ends a start that has not uploaded yet", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, noSleep);
    emu.inject({ kind: "crash-after-create", method: "POST", path: TRAININGS });
    failListing();
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir }).catch(() => undefined);
    const [created] = [...emu.trainings.values()];
    expect(await cancelTraining(ctx, "op", "42")).toMatchObject({ status: "canceled", trainingId: created!.id });
    expect(created!.status).toBe("canceled");

    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('43')`);
    await db.query(`INSERT INTO ${db.s}.trainings (user_id, trainer_version, destination, input) VALUES ('43', $1, $2, '{"trigger_word":"user43"}')`, [
      TRAINER_REF,
      `${emu.owner}/43-selfie-lora`,
    ]);
    await db.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ('43', $1, 'user43', 'pending')`,
      [`${emu.owner}/43-selfie-lora`],
    );
    expect(await cancelTraining(ctx, "op", "43")).toMatchObject({ status: "canceled", trainingId: null });
  });
});
