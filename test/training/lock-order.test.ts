/**
 * Writes of a user's training while another process claims the same user (PostgreSQL): the claim
 * holds the user's model row and then inserts its pending training; every write of the training
 * that also touches the model must take the model row first too, or the two wait for each other
 * and PostgreSQL kills one (seen once in CI: the racing `train` that had won the claim ended
 * "deadlock detected", and no training ran). The writes: a training's first report, and the end
 * of a claim that never reached Replicate (failed or canceled by reconcile or cancel, or undone
 * by the process that made it).
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createPgDatabase } from "../../src/db/pg.js";
import { insertPendingTraining, type TrainingRow } from "../../src/db/trainings.js";
import type { Database } from "../../src/db/types.js";
import { upsertUserModelForTraining } from "../../src/db/user-models.js";
import { ensureUser } from "../../src/db/users.js";
import { TRAINER_REF } from "../../src/locked.js";
import { writeTrainingUpdate, type TrainingPlan } from "../../src/training/apply-training.js";
import { failPendingClaim, undoPendingClaim } from "../../src/training/end-claim.js";
import { currentHolder } from "../../src/process-holder.js";
import { TEST_DATABASE_URL, testSchemaName } from "../support/databases.js";

const USER = "locker";

/** What Replicate's answer to the create says: the training exists and is starting. */
const STARTED: TrainingPlan = {
  update: {
    replicateTrainingId: "tr-lock-order",
    status: "training",
    replicateStatus: "starting",
    progress: null,
    predictTime: null,
    totalTime: null,
    pricePerSecond: "0.001525",
    error: null,
    outputVersion: null,
    startedAt: null,
    finishedAt: null,
  },
  integrityViolation: null,
  versionId: null,
};

const pendingRow = (userId: string) => ({
  userId,
  trainerVersion: TRAINER_REF,
  destination: `alice/${userId}-selfie-lora`,
  input: { trigger_word: `user${userId}` },
  manifest: null,
  operator: null,
  holder: currentHolder(),
});

/** A write racing the claim, and what it leaves: the user's training rows and model afterwards. */
interface Writer {
  name: string;
  write(db: Database, row: TrainingRow): Promise<unknown>;
  written(value: unknown): void;
  trainings: Array<{ status: string }>;
  model: Array<{ training_status: string; current_training_id: string | null }>;
}

const WRITERS: Writer[] = [
  {
    name: "a training's first report",
    write: (db, row) => db.transaction((tx) => writeTrainingUpdate(tx, db.s, row, STARTED, { actor: null, source: "train", event: false })),
    written: (value) => expect(value).toMatchObject({ status: "training", replicate_training_id: "tr-lock-order" }),
    trainings: [{ status: "training" }],
    model: [{ training_status: "training", current_training_id: "tr-lock-order" }],
  },
  {
    name: "a claim canceled before it reached Replicate",
    write: (db, row) => db.transaction((tx) => failPendingClaim(tx, db.s, row, { error: "canceled", status: "canceled", onlyWithoutUpload: true })),
    written: (value) => expect(value).toMatchObject({ status: "canceled" }),
    trainings: [{ status: "canceled" }],
    model: [{ training_status: "canceled", current_training_id: null }],
  },
  {
    name: "a claim undone by the process that made it",
    write: (db, row) => db.transaction((tx) => undoPendingClaim(tx, db.s, row, null)),
    written: (value) => expect(value).toBe(true),
    trainings: [],
    model: [],
  },
];

describe.skipIf(!TEST_DATABASE_URL)("lock order of a user's training writes against a claim, on PostgreSQL", () => {
  it.each(WRITERS)("$name: a claim of the same user is refused by the unique index at once, and the write is made", { timeout: 30_000 }, async (writer) => {
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    const db = createPgDatabase(pool, testSchemaName(), { ownsPool: true });
    await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
    await migrate(db);
    await ensureUser(db, db.s, USER);
    await upsertUserModelForTraining(db, db.s, { userId: USER, modelId: `alice/${USER}-selfie-lora`, triggerWord: `user${USER}` });
    const row: TrainingRow = await insertPendingTraining(db, db.s, pendingRow(USER));

    // Another process's claim: the user's model row locked, its insert still to come.
    const claim = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await claim.connect();
    try {
      await claim.query("BEGIN");
      await claim.query(`SELECT 1 FROM ${db.s}.user_models WHERE user_id = $1 FOR UPDATE`, [USER]);
      const settled = writer.write(db, row).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      // Until the write waits on a lock (the claim's, whichever row it reached first).
      for (let i = 0; ; i++) {
        const { rows } = await claim.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        if (rows[0]!.n > 0) break;
        if (i > 200) throw new Error("the write never waited for the claim's lock");
        await new Promise((r) => setTimeout(r, 25));
      }
      const inserted = await insertPendingTraining(claim, db.s, pendingRow(USER)).then(
        () => null,
        (err: { code?: string }) => err.code,
      );
      // The user has an active training: refused by the partial unique index, not a deadlock.
      expect(inserted).toBe("23505");
      await claim.query("ROLLBACK");
      const outcome = await settled;
      expect(outcome).not.toHaveProperty("error");
      writer.written((outcome as { value: unknown }).value);
    } finally {
      await claim.end();
    }
    const trainings = await db.query<{ status: string }>(`SELECT status FROM ${db.s}.trainings WHERE user_id = $1`, [USER]);
    expect(trainings.rows).toEqual(writer.trainings);
    const { rows } = await db.query<{ training_status: string; current_training_id: string | null }>(
      `SELECT training_status, current_training_id FROM ${db.s}.user_models WHERE user_id = $1`,
      [USER],
    );
    expect(rows).toEqual(writer.model);
    await db.exec(`DROP SCHEMA ${db.s} CASCADE`);
    await db.close();
  });
});
