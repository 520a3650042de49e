import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { runAudit } from "../../src/audit/run-audit.js";
import { eraseUser, type EraseStep } from "../../src/erasure/index.js";
import { StateError } from "../../src/errors.js";
import { generate } from "../../src/generation/generate.js";
import { TRAINER_REF, triggerWord } from "../../src/locked.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "../generation/plant.js";
import { startTraining } from "../../src/training/index.js";
import { imageFolder } from "../training/training-helpers.js";

let emulator: Emulator;
emulatorForFile({ versionDeleteMs: 150 }, (started) => {
  emulator = started;
});

const FAST = { pollIntervalMs: 50 };
type Ctx = ReturnType<typeof makeContext>;

/** A user with a completed model, a retraining (second version, a real upload) and two generations on disk. */
async function plantErasable(db: Database, ctx: Ctx, userId: string) {
  const first = await plantUser(db, emulator, userId);
  const zip = join(tempDir("sselfie-zip-"), "selfies.zip");
  writeFileSync(zip, `zip of ${userId}`);
  const upload = await ctx.gateway.uploadFile(zip, { contentType: "application/zip" });
  const second = emulator.createVersion(first.modelId);
  await db.query(
    `INSERT INTO ${db.s}.trainings
       (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status, output_version, started_at, finished_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'completed', 'succeeded', $7, now(), now())`,
    [userId, `retrain${userId}x${process.pid}`, TRAINER_REF, first.modelId, JSON.stringify({ trigger_word: triggerWord(userId) }), upload.urls.get, second],
  );
  await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = $2 WHERE user_id = $1`, [userId, second]);
  const outDir = tempDir("sselfie-out-");
  const files: string[] = [];
  for (const seed of [1, 2]) files.push(...(await generate(ctx, "ops", { userId, prompt: `user${userId} portrait`, seed, outDir })).files);
  return { modelId: first.modelId, versions: [first.versionId, second], fileId: upload.id, files, outDir };
}

/** Everything stored about a user: rows, model and versions at the emulator, files on disk (with hashes). */
async function snapshot(db: Database, userId: string, modelId: string, files: string[]) {
  const rows: Record<string, unknown[]> = {};
  for (const [table, col] of [["users", "id"], ["user_models", "user_id"], ["trainings", "user_id"], ["generations", "user_id"]] as const) {
    rows[table] = (await db.query(`SELECT * FROM ${db.s}.${table} WHERE ${col} = $1 ORDER BY 1`, [userId])).rows;
  }
  const model = emulator.models.get(modelId);
  return {
    rows,
    versions: model ? [...model.versions.keys()].sort() : null,
    disk: files.map((f) => (existsSync(f) ? createHash("sha256").update(readFileSync(f)).digest("hex") : null)),
  };
}

async function rowCount(db: Database, userId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM ${db.s}.users WHERE id = $1) + (SELECT count(*) FROM ${db.s}.user_models WHERE user_id = $1)
           + (SELECT count(*) FROM ${db.s}.trainings WHERE user_id = $1) + (SELECT count(*) FROM ${db.s}.generations WHERE user_id = $1))::int AS n`,
    [userId],
  );
  return rows[0]!.n;
}

forEachBackend((backend) => {
  it("erases a user completely, leaves the other user exactly as before, and a second run finds nothing left", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const gone = await plantErasable(db, ctx, "e1");
    const kept = await plantErasable(db, ctx, "k1");
    const before = await snapshot(db, "k1", kept.modelId, kept.files);
    const keptPredictions = [...emulator.predictions.values()].filter((p) => p.versionRef.startsWith(kept.modelId)).length;
    emulator.clearRequests();

    const result = await eraseUser(ctx, "admin", { userId: "e1" }, FAST);

    expect(result).toEqual({
      userId: "e1",
      status: "erased",
      deleted: { versions: 2, model: true, files: 1, localFiles: 6, rows: 7 /* users, user_models, 2 trainings, 2 generations, 1 version schema */ },
      remaining: [
        { kind: "training", id: expect.stringMatching(/^plantedtraining/), why: expect.any(String) },
        { kind: "training", id: `retraine1x${process.pid}`, why: expect.stringMatching(/no way to delete/) },
      ],
    });
    // Replicate: the versions (with their predictions), the model and the upload are gone.
    expect(emulator.models.has(gone.modelId)).toBe(false);
    expect([...emulator.predictions.values()].some((p) => p.versionRef.startsWith(gone.modelId))).toBe(false);
    expect(emulator.files.has(gone.fileId)).toBe(false);
    expect(emulator.requestsTo("DELETE", /\/versions\//).map((r) => r.path.split("/").pop()).sort()).toEqual([...gone.versions].sort());
    // Disk: the six PNGs went, the folder stays.
    expect(gone.files.filter((f) => existsSync(f))).toEqual([]);
    expect(existsSync(gone.outDir)).toBe(true);
    // Database: no row of the user; the tombstone and the events stay.
    expect(await rowCount(db, "e1")).toBe(0);
    const tomb = (await db.query(`SELECT * FROM ${db.s}.erasures WHERE user_id = 'e1'`)).rows;
    expect(tomb).toEqual([expect.objectContaining({ status: "erased", operator: "admin", model_id: gone.modelId, finished_at: expect.any(Date) })]);
    const events = (await db.query<{ details: { step: string } }>(`SELECT details FROM ${db.s}.operator_events WHERE action = 'erase' AND user_id = 'e1' ORDER BY id`)).rows;
    expect(events.map((e) => e.details.step)).toEqual(["started", "erased"]);

    // The other user: rows, versions, files, predictions, upload untouched.
    expect(await snapshot(db, "k1", kept.modelId, kept.files)).toEqual(before);
    expect([...emulator.predictions.values()].filter((p) => p.versionRef.startsWith(kept.modelId)).length).toBe(keptPredictions);
    expect(emulator.files.has(kept.fileId)).toBe(true);

    // Twice: nothing left to delete, nothing remaining.
    const again = await eraseUser(ctx, "admin", { userId: "e1" }, FAST);
    expect(again).toEqual({ userId: "e1", status: "erased", deleted: { versions: 0, model: false, files: 0, localFiles: 0, rows: 0 }, remaining: [] });
    // ...and writes nothing: still one tombstone and the same two events, no empty second erasure.
    expect((await db.query(`SELECT status, model_id FROM ${db.s}.erasures WHERE user_id = 'e1'`)).rows).toEqual([{ status: "erased", model_id: gone.modelId }]);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${db.s}.operator_events WHERE action = 'erase' AND user_id = 'e1'`)).rows).toEqual([{ n: 2 }]);
  });

  it("stopped at every step (a failed version delete, before the model, before the rows...), each rerun resumes and finishes", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const gone = await plantErasable(db, ctx, "e2");
    const kept = await plantErasable(db, ctx, "k2");
    const before = await snapshot(db, "k2", kept.modelId, kept.files);

    // During version deletion: Replicate refuses the second DELETE.
    emulator.inject({ kind: "status", method: "DELETE", path: new RegExp(`/versions/${gone.versions[1]}$`), status: 400, times: 1 });
    expect(await caught(eraseUser(ctx, "admin", { userId: "e2" }, FAST))).toMatchObject({ code: expect.stringMatching(/^REPLICATE_/) });
    // The user is being erased: generate refuses at once, with no paid call.
    emulator.clearRequests();
    const refused = await caught(generate(ctx, "ops", { userId: "e2", prompt: "usere2", outDir: gone.outDir }));
    expect(refused).toBeInstanceOf(StateError);
    expect(refused).toMatchObject({ code: "USER_ERASING" });
    expect(emulator.requestsTo("POST", "/v1/predictions")).toHaveLength(0);
    // ...and so does train: no upload, no model, no training reaches Replicate, no training row.
    const trainingsBefore = (await db.query(`SELECT count(*)::int AS n FROM ${db.s}.trainings WHERE user_id = 'e2'`)).rows;
    const retrain = await caught(startTraining(ctx, "ops", { userId: "e2", images: imageFolder(10).dir }));
    expect(retrain).toMatchObject({ code: "USER_ERASING" });
    expect(emulator.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect((await db.query(`SELECT count(*)::int AS n FROM ${db.s}.trainings WHERE user_id = 'e2'`)).rows).toEqual(trainingsBefore);

    // Then a stop before each later step, resumed by the next run.
    for (const stopAt of ["model", "files", "local-files", "rows"] as EraseStep[]) {
      const stop = (s: EraseStep) => {
        if (s === stopAt) throw new Error(`killed before ${s}`);
      };
      expect(await eraseUser(ctx, "admin", { userId: "e2" }, { ...FAST, beforeStep: stop }).catch((e: unknown) => e)).toMatchObject({ message: `killed before ${stopAt}` });
      expect((await db.query(`SELECT count(*)::int AS n FROM ${db.s}.erasures WHERE user_id = 'e2' AND status = 'erasing'`)).rows[0]).toEqual({ n: 1 });
    }
    expect(await rowCount(db, "e2")).toBeGreaterThan(0);

    const done = await eraseUser(ctx, "admin", { userId: "e2" }, FAST);
    expect(done.status).toBe("erased");
    expect(done.deleted).toEqual({ versions: 2, model: true, files: 1, localFiles: 6, rows: 7 });
    expect(await rowCount(db, "e2")).toBe(0);
    expect(emulator.models.has(gone.modelId)).toBe(false);
    expect(emulator.files.has(gone.fileId)).toBe(false);
    expect(gone.files.filter((f) => existsSync(f))).toEqual([]);
    expect((await db.query(`SELECT status FROM ${db.s}.erasures WHERE user_id = 'e2'`)).rows).toEqual([{ status: "erased" }]);
    expect(await snapshot(db, "k2", kept.modelId, kept.files)).toEqual(before);
  });

  it("waits no longer than told: in_progress while Replicate still lists versions, then a rerun finishes", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const gone = await plantErasable(db, ctx, "e3");
    const first = await eraseUser(ctx, "admin", { userId: "e3" }, { waitMs: 0, pollIntervalMs: 10 });
    expect(first.status).toBe("in_progress");
    expect(first.remaining.map((r) => r.kind)).toEqual(["version", "version"]);
    expect(emulator.models.has(gone.modelId)).toBe(true);
    const second = await eraseUser(ctx, "admin", { userId: "e3" }, FAST);
    expect(second).toMatchObject({ status: "erased", deleted: { versions: 2, model: true } });
    expect(emulator.models.has(gone.modelId)).toBe(false);
  });

  it("a file changed since sselfie wrote it is left alone and listed as remaining", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const gone = await plantErasable(db, ctx, "e4");
    writeFileSync(gone.files[0]!, "someone else's content now");
    const result = await eraseUser(ctx, "admin", { userId: "e4" }, FAST);
    expect(result.deleted.localFiles).toBe(5);
    expect(result.remaining).toContainEqual({ kind: "localFile", id: gone.files[0], why: expect.stringMatching(/hash differs/) });
    expect(readFileSync(gone.files[0]!, "utf8")).toBe("someone else's content now");
  });

  it("audit: an erased user is clean; a row left from before the erasure and a model back at Replicate are findings", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const gone = await plantErasable(db, ctx, "e5");
    await eraseUser(ctx, "admin", { userId: "e5" }, FAST);
    const clean = await runAudit(ctx, { userId: "e5", remote: true });
    expect(clean.ok).toBe(true);

    // A later train starts a new user: rows created after the erasure are no finding.
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('e5')`);
    expect((await runAudit(ctx, { userId: "e5" })).ok).toBe(true);
    // A row from before the erasure is.
    await db.query(`UPDATE ${db.s}.users SET created_at = now() - interval '1 day' WHERE id = 'e5'`);
    const rows = await runAudit(ctx, { userId: "e5" });
    expect(rows.counts).toEqual({ "erasure.rows": 1 });
    expect(rows.violations[0]).toMatchObject({ rule: "erasure.rows", userId: "e5", message: expect.stringMatching(/sselfie erase --user e5/) });
    await db.query(`DELETE FROM ${db.s}.users WHERE id = 'e5'`);

    // The model back at Replicate (the erasure's deletion undone).
    emulator.createModel(gone.modelId, { visibility: "private" });
    const remote = await runAudit(ctx, { userId: "e5", remote: true });
    expect(remote.counts).toEqual({ "erasure.remote-model": 1 });
    expect(remote.violations[0]).toMatchObject({ rule: "erasure.remote-model", userId: "e5", modelId: gone.modelId });
  });
});
