import { afterEach, beforeEach, expect, it } from "vitest";
import { OutcomeError, StateError } from "../../src/errors.js";
import { startTraining, waitForTraining, type TrainingStatusResult } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { imageFolder } from "./training-helpers.js";

let emu: Emulator;
let clock: NodeJS.Timeout;
beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: 10_000, processingMs: 100_000 } });
  // The emulator's clock runs 100 times faster than real time.
  clock = setInterval(() => emu.advance(2_000), 20);
});
afterEach(async () => {
  clearInterval(clock);
  await emu.close();
});

forEachBackend((backend) => {
  it("reports rising progress and resolves once the training completed", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    const seen: TrainingStatusResult[] = [];
    const done = await waitForTraining(ctx, "op", "42", { pollIntervalMs: 50, onProgress: (s) => seen.push(s) });
    expect(done.status).toBe("completed");
    expect(done.versionId).toMatch(/^[0-9a-f]{64}$/);
    const steps = seen.filter((s) => s.progress).map((s) => s.progress!.step);
    expect(steps.length).toBeGreaterThan(1);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(seen.at(-1)).toEqual(done);
    // Followed at /trainings/{id}, never at the /predictions/{id} the create answer points at.
    const [training] = [...emu.trainings.keys()];
    expect(emu.requestsTo("GET", `/v1/trainings/${training}`).length).toBeGreaterThan(1);
    expect(emu.requestsTo("*", /^\/v1\/predictions/)).toEqual([]);
  });

  it("throws TRAINING_FAILED with Replicate's error, TRAINING_CANCELED, and NO_ACTIVE_TRAINING", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    emu.setTrainingOutcome("failed", { error: "zipfile.BadZipFile" });
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    const failed = await waitForTraining(ctx, "op", "42", { pollIntervalMs: 50 }).catch((e) => e);
    expect(failed).toBeInstanceOf(OutcomeError);
    expect(failed.code).toBe("TRAINING_FAILED");
    expect(failed.message).toMatch(/zipfile\.BadZipFile/);

    emu.setTrainingOutcome("canceled");
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10, 1).dir });
    await expect(waitForTraining(ctx, "op", "42", { pollIntervalMs: 50 })).rejects.toMatchObject({ code: "TRAINING_CANCELED" });

    const none = await waitForTraining(ctx, "op", "7", { pollIntervalMs: 50 }).catch((e) => e);
    expect(none).toBeInstanceOf(StateError);
    expect(none.code).toBe("NO_ACTIVE_TRAINING");
  });

  it("stops when its signal is aborted", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu);
    clearInterval(clock);
    await startTraining(ctx, "op", { userId: "42", images: imageFolder(10).dir });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("stop")), 200);
    await expect(waitForTraining(ctx, "op", "42", { pollIntervalMs: 50, signal: controller.signal })).rejects.toThrow("stop");
  });
});
