import { readFileSync } from "node:fs";
import { afterEach, beforeEach, expect, it } from "vitest";
import { prepareImageSet } from "../../src/datasets/index.js";
import { InvalidInputError, StateError } from "../../src/errors.js";
import { TRAINER_REF, TRAINER_VERSION } from "../../src/locked.js";
import { cancelTraining, refreshTraining, startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { events, HEX64, imageFolder, readZip, trainingRows, userModel } from "./training-helpers.js";

const STARTING_MS = 10_000;
const PROCESSING_MS = 100_000;

let emu: Emulator;
beforeEach(async () => {
  // A long timeline that the tests move along with advance().
  emu = await startEmulator({ training: { startingMs: STARTING_MS, processingMs: PROCESSING_MS } });
});
afterEach(() => emu.close());

const trainingPosts = () => emu.requestsTo("POST", /\/trainings$/);

forEachBackend((backend) => {
  it("the full path: real images -> the uploaded zip holds exactly the prepared images -> the locked trainer -> a stored version", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const { dir, files } = imageFolder(12);

    const started = await startTraining(ctx, "op-anna", { userId: "42", images: dir });
    const modelId = `${emu.owner}/42-selfie-lora`;
    expect(started).toMatchObject({ userId: "42", modelId, triggerWord: "user42", status: "training", modelCreated: true, steps: null });

    // Exactly one training, with exactly the locked trainer, destination and trigger word.
    const posts = trainingPosts();
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toBe(`/v1/models/ostris/flux-dev-lora-trainer/versions/${TRAINER_VERSION}/trainings`);
    const body = posts[0]!.body as { destination: string; input: Record<string, unknown> };
    expect(body.destination).toBe(modelId);
    expect(body.input).toEqual({ input_images: started.inputImagesUrl, trigger_word: "user42" });
    expect(emu.models.get(modelId)?.visibility).toBe("private");

    // The zip Replicate holds contains exactly what `prepare` writes for these photos, nothing more.
    const zip = await readZip(emu.fileBytesFromUrl(started.inputImagesUrl)!);
    const prepared = await prepareImageSet(dir, { dir: tempDir("sselfie-prepared-") });
    expect([...zip.keys()]).toEqual(prepared.files.map((f) => f.name));
    for (const f of prepared.files) expect(zip.get(f.name)!.equals(readFileSync(f.path))).toBe(true);
    expect(started.manifest.map((e) => [e.name, e.source])).toEqual(prepared.report.images.map((i) => [i.name, i.source]));
    expect(started.manifest).toHaveLength(files.size);
    expect(started.dataset).toEqual(prepared.summary);

    let [row] = await trainingRows(db, "42");
    expect(row).toMatchObject({
      status: "training",
      replicate_training_id: started.trainingId,
      trainer_version: TRAINER_REF,
      destination: modelId,
      input_images_url: started.inputImagesUrl,
      operator: "op-anna",
      dataset_prepared: true,
      dataset: { ...prepared.summary },
    });
    expect(row!.input).toEqual(body.input);
    expect(await userModel(db, "42")).toMatchObject({ training_status: "training", replicate_version_id: null, trigger_word: "user42" });

    // Half way: progress from the trainer's log.
    emu.advance(STARTING_MS + PROCESSING_MS / 2);
    const mid = await refreshTraining(ctx, "op-anna", "42");
    expect(mid.status).toBe("training");
    expect(mid.progress!.total).toBe(1000);
    expect(mid.progress!.step).toBeGreaterThan(300);
    expect(mid.progress!.step).toBeLessThan(700);
    expect(mid.percent).toBeCloseTo((mid.progress!.step / 10), 0);
    expect(mid.etaSeconds).toBeGreaterThan(0);
    expect(mid.versionId).toBeNull();

    emu.advance(PROCESSING_MS);
    const done = await refreshTraining(ctx, "op-anna", "42");
    const created = emu.trainings.get(started.trainingId)!.createdVersionId!;
    expect(created).toMatch(HEX64);
    expect(done).toMatchObject({ status: "completed", modelId, versionId: created, trainingId: started.trainingId, error: null });
    expect(done.progress).toEqual({ step: 1000, total: 1000 });
    expect(done.predictTime).toBeCloseTo(PROCESSING_MS / 1000, 0);
    expect(emu.models.get(modelId)!.versions.has(created)).toBe(true);
    [row] = await trainingRows(db, "42");
    expect(row).toMatchObject({ status: "completed", replicate_status: "succeeded", output_version: created });
    expect(row!.finished_at).not.toBeNull();
    expect(await userModel(db, "42")).toMatchObject({ training_status: "completed", replicate_version_id: created, current_training_id: started.trainingId });

    const ev = await events(db, "42");
    expect(ev.map((e) => [e.action, e.outcome])).toEqual([
      ["train", "ok"],
      ["training.refresh", "ok"],
    ]);
    expect(ev[1]!.details).toMatchObject({ from: "training", to: "completed", versionId: created });
  });

  it("records the caller's steps with the input, and refuses steps out of bounds before any I/O", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const { dir } = imageFolder(10);
    for (const steps of [0, 99, 6001, 1.5, Number.NaN]) {
      await expect(startTraining(ctx, null, { userId: "7", images: dir, steps })).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    expect(emu.requests).toHaveLength(0);
    const started = await startTraining(ctx, null, { userId: "7", images: dir, steps: 500 });
    expect((trainingPosts()[0]!.body as { input: unknown }).input).toEqual({ input_images: started.inputImagesUrl, trigger_word: "user7", steps: 500 });
    expect((await trainingRows(db, "7"))[0]!.input).toMatchObject({ steps: 500 });
  });

  it("one active training per user: a second train is refused without reaching Replicate", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const { dir } = imageFolder(10);
    await startTraining(ctx, "op", { userId: "42", images: dir });
    emu.clearRequests();
    const err = await startTraining(ctx, "op", { userId: "42", images: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(StateError);
    expect(err.code).toBe("TRAINING_IN_PROGRESS");
    expect(emu.requests).toHaveLength(0);
    expect(await trainingRows(db, "42")).toHaveLength(1);
    expect((await events(db, "42")).at(-1)).toMatchObject({ action: "train", outcome: "refused", details: { code: "TRAINING_IN_PROGRESS" } });
    // Another user is not blocked.
    await expect(startTraining(ctx, "op", { userId: "43", images: dir })).resolves.toMatchObject({ status: "training" });
  });

  it("eight concurrent starts for one user create exactly one training", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const { dir } = imageFolder(10);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => startTraining(ctx, "op", { userId: "42", images: dir })));
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code);
    expect(ok).toHaveLength(1);
    expect(refused).toEqual(Array(7).fill("TRAINING_IN_PROGRESS"));
    expect(trainingPosts()).toHaveLength(1);
    expect(emu.requestsTo("POST", "/v1/files")).toHaveLength(1);
    expect(await trainingRows(db, "42")).toHaveLength(1);
  });

  it("retraining keeps the active version until the new training succeeds; a failed retrain keeps it and its error", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const first = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 0).dir });
    emu.finishTraining(first.trainingId, "succeeded");
    const v1 = (await refreshTraining(ctx, "op", "42")).versionId!;
    expect(v1).toMatch(HEX64);

    emu.setTrainingOutcome("failed", { error: "CUDA out of memory" });
    const second = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 100).dir });
    expect(await userModel(db, "42")).toMatchObject({ training_status: "training", replicate_version_id: v1 });
    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "training", versionId: v1, trainingId: second.trainingId });

    emu.advance(STARTING_MS + PROCESSING_MS + 1);
    const failed = await refreshTraining(ctx, "op", "42");
    expect(failed).toMatchObject({ status: "failed", versionId: v1, trainingId: second.trainingId, error: "CUDA out of memory" });
    expect(await userModel(db, "42")).toMatchObject({ training_status: "failed", replicate_version_id: v1, error: "CUDA out of memory" });
    expect((await trainingRows(db, "42")).map((r) => r.status)).toEqual(["completed", "failed"]);

    emu.setTrainingOutcome("aborted");
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 200).dir });
    emu.advance(STARTING_MS + 1);
    expect(await refreshTraining(ctx, "op", "42")).toMatchObject({ status: "failed", versionId: v1, replicateStatus: "aborted" });

    emu.setTrainingOutcome("succeeded");
    const fourth = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 300).dir });
    emu.finishTraining(fourth.trainingId, "succeeded");
    const v2 = (await refreshTraining(ctx, "op", "42")).versionId!;
    expect(v2).toMatch(HEX64);
    expect(v2).not.toBe(v1);
    expect(await userModel(db, "42")).toMatchObject({ training_status: "completed", replicate_version_id: v2, error: null });
  });

  it("a succeeded training whose output is another model's version is an integrity violation, never the user's version", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    emu.createModel(`${emu.owner}/someone-else`);
    emu.setTrainingOutcome("succeeded", { outputVersionOf: `${emu.owner}/someone-else` });
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.advance(STARTING_MS + PROCESSING_MS + 1);
    const result = await refreshTraining(ctx, "op", "42");
    expect(result.status).toBe("failed");
    expect(result.versionId).toBeNull();
    expect(result.error).toMatch(/^INTEGRITY_VIOLATION: .*someone-else/);
    const [row] = await trainingRows(db, "42");
    expect(row).toMatchObject({ status: "failed", replicate_status: "succeeded", output_version: null, replicate_training_id: started.trainingId });
    expect((await userModel(db, "42"))!.replicate_version_id).toBeNull();
    expect((await events(db, "42")).at(-1)).toMatchObject({ action: "training.refresh", outcome: "failed", details: { code: "INTEGRITY_VIOLATION" } });
  });

  it("a succeeded training whose version does not exist under the user's model is refused", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const started = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    emu.finishTraining(started.trainingId, "succeeded");
    const t = emu.trainings.get(started.trainingId)!;
    emu.deleteVersion(`${emu.owner}/42-selfie-lora`, t.createdVersionId!);
    const result = await refreshTraining(ctx, "op", "42");
    expect(result).toMatchObject({ status: "failed", versionId: null });
    expect(result.error).toMatch(/^INTEGRITY_VIOLATION: .*does not exist/);
  });

  it("refuses a destination model that exists but is public, leaving nothing behind but the refusal", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    emu.createModel(`${emu.owner}/42-selfie-lora`, { visibility: "public" });
    const err = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir }).catch((e) => e);
    expect(err).toBeInstanceOf(StateError);
    expect(err.code).toBe("INTEGRITY_VIOLATION");
    expect(emu.requestsTo("POST", "/v1/files")).toHaveLength(0);
    expect(trainingPosts()).toHaveLength(0);
    expect(await trainingRows(db, "42")).toHaveLength(0);
    expect(await userModel(db, "42")).toBeNull();
    expect(await events(db, "42")).toEqual([expect.objectContaining({ action: "train", outcome: "refused", details: expect.objectContaining({ code: "INTEGRITY_VIOLATION" }) })]);
  });

  it("refuses to move a user to another owner's model", async () => {
    const db = await backend.freshDatabase();
    const { dir } = imageFolder(10);
    await startTraining(makeContext(db, emu), "op", { userId: "42", images: dir }).then((s) => emu.finishTraining(s.trainingId, "succeeded"));
    await refreshTraining(makeContext(db, emu), "op", "42");
    emu.clearRequests();
    const err = await startTraining(makeContext(db, emu, { owner: "bob" }), "op", { userId: "42", images: dir }).catch((e) => e);
    expect(err.code).toBe("INTEGRITY_VIOLATION");
    expect(emu.requests).toHaveLength(0);
    expect(await userModel(db, "42")).toMatchObject({ replicate_model_id: `${emu.owner}/42-selfie-lora`, training_status: "completed" });
  });

  it("cancel stops the running training at Replicate, records it, and keeps the earlier version", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    const first = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 0).dir });
    emu.finishTraining(first.trainingId, "succeeded");
    const v1 = (await refreshTraining(ctx, "op", "42")).versionId;
    const second = await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 50).dir });
    const canceled = await cancelTraining(ctx, "op-ben", "42");
    expect(canceled).toMatchObject({ status: "canceled", trainingId: second.trainingId, versionId: v1 });
    expect(emu.trainings.get(second.trainingId)!.status).toBe("canceled");
    expect(emu.requestsTo("POST", `/v1/trainings/${second.trainingId}/cancel`)).toHaveLength(1);
    expect(await userModel(db, "42")).toMatchObject({ training_status: "canceled", replicate_version_id: v1 });
    expect((await events(db, "42")).at(-1)).toMatchObject({ operator: "op-ben", action: "cancel", outcome: "ok" });
    // Nothing left to cancel; a new training may start.
    await expect(cancelTraining(ctx, "op", "42")).rejects.toMatchObject({ code: "NO_ACTIVE_TRAINING" });
    await expect(startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 60).dir })).resolves.toMatchObject({ status: "training" });
  });

  it("status of a user who never trained is none", async () => {
    const db = await backend.freshDatabase();
    expect(await refreshTraining(makeContext(db, emu), null, "99")).toEqual({
      userId: "99",
      status: "none",
      modelId: null,
      versionId: null,
      trainingId: null,
      progress: null,
      error: null,
      percent: null,
      etaSeconds: null,
      predictTime: null,
      replicateStatus: null,
    });
    expect(emu.requests).toHaveLength(0);
    await expect(refreshTraining(makeContext(db, emu), null, "Not Valid")).rejects.toBeInstanceOf(InvalidInputError);
  });
});
