/**
 * The audit agrees with the code that writes the data: users trained, retrained (once with
 * success, once failing) and generated for by the real SDK against the emulator audit clean, in
 * the database and at Replicate (with the identity check on real photos). Then one change behind the
 * SDK's back is found.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import { generate } from "../../src/generation/generate.js";
import { startTraining, waitForTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { checkImageFaces } from "../../src/identity/index.js";
import { personSet, writeImages } from "../support/face-photos.js";
import { tempDir } from "../support/temp-dirs.js";
import { dropLockedInputCheck } from "./fixtures.js";

let emu: Emulator;
let out: string;
let images: string;
beforeAll(async () => {
  // Real photos of one person, checked as in production; read by the face model here once (the
  // model remembers them), so the test's own time is the SDK's.
  const photos = await personSet("alex", 10);
  images = tempDir("sselfie-audit-faces-");
  writeImages(images, photos);
  for (const p of photos) await checkImageFaces(p.bytes);
});
beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: 20, processingMs: 60 }, prediction: { durationMs: 20 } });
  out = await mkdtemp(join(tmpdir(), "sselfie-audit-out-"));
});
afterEach(async () => {
  await emu.close();
  await rm(out, { recursive: true, force: true });
});

forEachBackend((backend) => {
  it("trainings, retrainings and generations made by the SDK audit clean; a tampered one does not", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { identityCheck: true });
    const train = async (userId: string) => {
      await startTraining(ctx, "op", { userId, images });
      return waitForTraining(ctx, "op", userId, { pollIntervalMs: 20 }).catch((e) => e);
    };
    const gen = (userId: string, seed: number) => generate(ctx, "op", { userId, prompt: "portrait, soft light", seed, outDir: join(out, userId) });

    await train("ana");
    await gen("ana", 1);
    await train("ana"); // retrained with success
    await gen("ana", 2);
    await train("bo.b");
    await gen("bo.b", 3);
    emu.setTrainingOutcome("failed", { error: "boom" });
    await train("bo.b"); // retraining fails: the first version stays active
    await gen("bo.b", 4);
    await train("carl"); // never completed
    emu.setTrainingOutcome("succeeded");

    const report = await runAudit(ctx, { remote: true });
    expect(report.violations).toEqual([]);
    expect(report.checked).toMatchObject({ users: 3, models: 3, trainings: 5, generations: 4, remoteModels: 3 });

    const tamper = () => db.query(`UPDATE ${db.s}.generations SET input = input || '{"num_outputs": 4}' WHERE seed = 2`);
    await expect(tamper()).rejects.toThrow(/generations_input_locked/);
    await dropLockedInputCheck(db);
    await tamper();
    const tampered = await runAudit(ctx);
    expect(tampered.violations.map((v) => [v.rule, v.userId])).toEqual([["generation.input", "ana"]]);
  });
});
