/**
 * The identity checks inside `train` (SDK, real photos, the real face model loaded once for this
 * file, the Replicate emulator over HTTP): one person per set, the right person per user, the
 * override recorded, the reference following the completed model.
 */
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { checkImageFaces, faceDistance, loadFaceModel } from "../../src/identity/index.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { facePhoto, GROUP_PHOTO, NO_FACE_PHOTO, PEOPLE, personSet, writeImages } from "../support/face-photos.js";
import { tempDir } from "../support/temp-dirs.js";
import { count, events, trainingRows } from "../training/training-helpers.js";
import type { Database } from "../../src/db/types.js";

let emu: Emulator;
type Image = { name: string; bytes: Buffer };
let alex: Image[];
let alexAgain: Image[];
let biden: Image[];
const folder = (images: readonly Image[]) => {
  const dir = tempDir("sselfie-faces-");
  writeImages(dir, images);
  return dir;
};

beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 1_000, processingMs: 2_000 } });
  await loadFaceModel();
  const twenty = await personSet("alex", 20);
  alex = twenty.slice(0, 10);
  // Ten other variants of the same three photos: a later set of the same person.
  alexAgain = twenty.slice(10);
  biden = await personSet("biden", 10);
  // Read by the face model once here (prepared sets keep these JPEGs byte for byte, and the model
  // remembers what it read), so each test's own time is train's.
  for (const img of [...twenty, ...biden]) await checkImageFaces(img.bytes);
}, 300_000);
afterAll(() => emu.close());

async function reference(db: Database, userId: string): Promise<{ face_reference: number[] | null; face_reference_pending: number[] | null }> {
  const { rows } = await db.query<{ face_reference: number[] | null; face_reference_pending: number[] | null }>(
    `SELECT face_reference, face_reference_pending FROM ${db.s}.user_models WHERE user_id = $1`,
    [userId],
  );
  return rows[0]!;
}

/** Trains and lets the emulator finish the training; returns the training id. */
async function trainToCompletion(ctx: ReturnType<typeof makeContext>, userId: string, images: string, replaceIdentity = false) {
  const started = await startTraining(ctx, "op-anna", { userId, images, ...(replaceIdentity ? { replaceIdentity } : {}) });
  emu.advance(10_000);
  expect((await refreshTraining(ctx, "op-anna", userId)).status).toBe("completed");
  return started;
}

forEachBackend((backend) => {
  it("a clean set of one person trains; the reference is stored when the training completes", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { identityCheck: true });
    const started = await startTraining(ctx, "op-anna", { userId: "42", images: folder(alex) });
    expect(started.manifest).toHaveLength(10);
    const [row] = await trainingRows(db, "42");
    expect(row).toMatchObject({ identity_check: "passed", replicate_training_id: started.trainingId });
    // In flight: the set's face waits beside the model; the reference is not changed yet.
    expect((await reference(db, "42")).face_reference).toBeNull();
    expect((await reference(db, "42")).face_reference_pending).toHaveLength(128);

    emu.advance(10_000);
    expect((await refreshTraining(ctx, "op-anna", "42")).status).toBe("completed");
    const stored = await reference(db, "42");
    expect(stored.face_reference).toHaveLength(128);
    expect(stored.face_reference_pending).toBeNull();
    // Never printed: no event carries it.
    expect(JSON.stringify(await events(db, "42"))).not.toMatch(/face_reference|descriptor/);
  });

  it.each([
    ["someone else", "stranger.jpg", () => facePhoto(PEOPLE.biden[1]), "DIFFERENT_PERSON"],
    // Scaled up to pass the 512-px rule, so that the faces are what is refused.
    ["a group photo", "group.jpg", () => sharp(facePhoto(GROUP_PHOTO)).resize({ width: 640 }).jpeg().toBuffer(), "SEVERAL_FACES"],
    ["a photo without a face", "street.jpg", () => facePhoto(NO_FACE_PHOTO), "NO_FACE"],
  ] as const)("the clean set plus %s fails naming exactly that file; nothing reaches Replicate or the database", async (_what, name, bytes, code) => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { identityCheck: true });
    emu.clearRequests();
    const dir = folder([...alex, { name, bytes: await bytes() }]);
    const err = await startTraining(ctx, "op-anna", { userId: "43", images: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: "INVALID_IMAGES" });
    const problems = (err as InvalidInputError).details.problems as { file: string; code: string; message: string }[];
    expect(problems.map((p) => [p.file, p.code])).toEqual([[name, code]]);
    expect((err as Error).message).toContain(`${name}: `);
    expect(emu.requests).toEqual([]);
    for (const table of ["users", "user_models", "trainings", "operator_events"]) expect(await count(db, table)).toBe(0);
  });

  it("a retrain with another person's photos is refused, and accepted with replaceIdentity (recorded)", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { identityCheck: true });
    await trainToCompletion(ctx, "44", folder(alex));
    const alexReference = (await reference(db, "44")).face_reference!;

    // The same person in other pictures: accepted against the stored reference.
    await trainToCompletion(ctx, "44", folder(alexAgain));
    expect((await trainingRows(db, "44")).map((r) => r.identity_check)).toEqual(["passed", "passed"]);

    emu.clearRequests();
    const eventsBefore = (await events(db, "44")).length;
    const refused = await startTraining(ctx, "op-anna", { userId: "44", images: folder(biden) }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect(refused).toMatchObject({ code: "IDENTITY_MISMATCH", details: { userId: "44", threshold: 0.6 } });
    expect((refused as InvalidInputError).details.distance).toBeGreaterThan(0.6);
    expect((refused as Error).message).toMatch(/distance 0\.\d\d, same-person threshold 0\.60/);
    expect(emu.requests).toEqual([]);
    expect(await trainingRows(db, "44")).toHaveLength(2);
    expect(await events(db, "44")).toHaveLength(eventsBefore);

    await trainToCompletion(ctx, "44", folder(biden), true);
    const rows = await trainingRows(db, "44");
    expect(rows.map((r) => r.identity_check)).toEqual(["passed", "passed", "replaced"]);
    const replaced = (await events(db, "44")).filter((e) => e.action === "training.replace-identity");
    expect(replaced).toEqual([
      {
        operator: "op-anna",
        action: "training.replace-identity",
        user_id: "44",
        outcome: "ok",
        details: { trainingRowId: Number(rows[2]!.id), distance: expect.any(Number), threshold: 0.6 },
      },
    ]);
    expect(replaced[0]!.details.distance).toBeGreaterThan(0.6);
    // The reference now is the new face: the old one is refused in turn.
    const bidenReference = (await reference(db, "44")).face_reference!;
    expect(faceDistance(bidenReference, alexReference)).toBeGreaterThan(0.6);
    await expect(startTraining(ctx, "op-anna", { userId: "44", images: folder(alex) })).rejects.toMatchObject({ code: "IDENTITY_MISMATCH" });
  });

  it("compares faces only with the same user's reference", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, { identityCheck: true });
    await trainToCompletion(ctx, "45", folder(alex));
    // Another user may well be someone else: nothing to compare with, so nothing to refuse.
    const other = await startTraining(ctx, "op-anna", { userId: "46", images: folder(biden) });
    expect(other.status).toBe("training");
    expect((await trainingRows(db, "46"))[0]).toMatchObject({ identity_check: "passed" });
  });
});
