/** What the database itself enforces (CONTRACT.md, "Data"), on every backend. */
import { describe, expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { forEachBackend } from "../support/databases.js";

const V1 = "a".repeat(64);
const V2 = "b".repeat(64);

/** The SQLSTATE a statement fails with (23503 FK, 23505 unique, 23514 check, P0001 raised). */
async function sqlState(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the statement should have been refused").toBeDefined();
  return String((err as { code?: unknown }).code);
}

async function addUser(db: Database, id: string): Promise<void> {
  await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, [id]);
}

function insertModel(db: Database, row: { userId: string; modelId?: string; trigger?: string; status?: string; version?: string | null }) {
  return db.query(
    `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status, replicate_version_id)
     VALUES ($1, $2, $3, $4, $5)`,
    [
      row.userId,
      row.modelId ?? `acme/${row.userId}-selfie-lora`,
      row.trigger ?? `user${row.userId}`,
      row.status ?? "pending",
      row.version ?? null,
    ],
  );
}

function insertTraining(db: Database, userId: string, status: string) {
  return db.query(
    `INSERT INTO ${db.s}.trainings (user_id, trainer_version, destination, input, status) VALUES ($1, 'v', $2, $3, $4)`,
    [userId, `acme/${userId}-selfie-lora`, JSON.stringify({ trigger_word: `user${userId}`, steps: [1, 2] }), status],
  );
}

forEachBackend((backend) => {
  describe("schema constraints", () => {
    it("accepts a well-formed user model and reads values back with the same types on every backend", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "42");
      await insertModel(db, { userId: "42", status: "completed", version: V1 });
      await insertTraining(db, "42", "completed");
      const row = (
        await db.query<{ user_id: string; training_status: string; created_at: unknown }>(
          `SELECT user_id, training_status, created_at FROM ${db.s}.user_models WHERE user_id = '42'`,
        )
      ).rows[0];
      expect(row).toMatchObject({ user_id: "42", training_status: "completed" });
      expect(row?.created_at).toBeInstanceOf(Date);

      const t = await db.query<{ id: unknown; input: unknown; n: unknown }>(
        `SELECT id, input, (SELECT count(*) FROM ${db.s}.trainings) AS n FROM ${db.s}.trainings`,
      );
      expect(t.rows).toEqual([{ id: 1, input: { trigger_word: "user42", steps: [1, 2] }, n: 1 }]);
      expect(t.rowCount).toBe(1);
      const updated = await db.query(`UPDATE ${db.s}.user_models SET error = NULL WHERE user_id = '42'`);
      expect(updated.rowCount).toBe(1);
    });

    it("refuses a user model for an unknown user (FK)", async () => {
      const db = await backend.freshDatabase();
      expect(await sqlState(insertModel(db, { userId: "7" }))).toBe("23503");
    });

    it("keeps one user_models row per user", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      await insertModel(db, { userId: "7" });
      expect(await sqlState(insertModel(db, { userId: "7" }))).toBe("23505");
    });

    it("refuses a model id shared by two users", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      await addUser(db, "8");
      await insertModel(db, { userId: "7" });
      expect(await sqlState(insertModel(db, { userId: "8", modelId: "acme/7-selfie-lora" }))).toBe("23514");
      // The naming CHECK already refuses that; uniqueness is a rule of its own, so test it without the CHECK.
      const check = await db.query<{ conname: string }>(
        `SELECT conname FROM pg_constraint WHERE conrelid = '${db.s}.user_models'::regclass AND pg_get_constraintdef(oid) LIKE '%selfie-lora%'`,
      );
      expect(check.rows).toHaveLength(1);
      await db.exec(`ALTER TABLE ${db.s}.user_models DROP CONSTRAINT ${check.rows[0]?.conname}`);
      expect(await sqlState(insertModel(db, { userId: "8", modelId: "acme/7-selfie-lora" }))).toBe("23505");
    });

    it("requires the model id to be <owner>/<user_id>-selfie-lora", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      for (const modelId of ["acme/8-selfie-lora", "acme/7-lora", "7-selfie-lora", "/7-selfie-lora", "acme/x/7-selfie-lora", "acme/7-selfie-lora-x"]) {
        expect(await sqlState(insertModel(db, { userId: "7", modelId })), modelId).toBe("23514");
      }
      await insertModel(db, { userId: "7", modelId: "some-org/7-selfie-lora" });
    });

    it("requires the trigger word user<user_id>", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      for (const trigger of ["user8", "TOK", "7", "User7"]) {
        expect(await sqlState(insertModel(db, { userId: "7", trigger })), trigger).toBe("23514");
      }
    });

    it("allows only the known training statuses, and completed only with a version", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      expect(await sqlState(insertModel(db, { userId: "7", status: "succeeded" }))).toBe("23514");
      expect(await sqlState(insertModel(db, { userId: "7", status: "completed", version: null }))).toBe("23514");
      await insertModel(db, { userId: "7", status: "training" });
      expect(await sqlState(db.query(`UPDATE ${db.s}.user_models SET training_status = 'completed' WHERE user_id = '7'`))).toBe("23514");
      await db.query(`UPDATE ${db.s}.user_models SET training_status = 'completed', replicate_version_id = $1 WHERE user_id = '7'`, [V2]);
      expect(await sqlState(insertTraining(db, "7", "bogus"))).toBe("23514");
    });

    it("requires a version id of 64 lowercase hex digits", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      for (const version of ["abc", V1.toUpperCase(), `${V1}0`, `acme/7-selfie-lora:${V1}`]) {
        expect(await sqlState(insertModel(db, { userId: "7", status: "failed", version })), version).toBe("23514");
      }
      expect(await sqlState(db.query(`INSERT INTO ${db.s}.model_version_schemas (version_id, model_id, input_schema) VALUES ('x', 'm', '{}')`))).toBe(
        "23514",
      );
    });

    it("refuses an invalid user id", async () => {
      const db = await backend.freshDatabase();
      for (const id of ["", "Alice", "a b", "a..b", "-a", "x".repeat(51)]) {
        expect(await sqlState(addUser(db, id)), id).toBe("23514");
      }
    });

    it("allows one active (pending or training) training per user", async () => {
      const db = await backend.freshDatabase();
      await addUser(db, "7");
      await addUser(db, "8");
      await insertTraining(db, "7", "failed");
      await insertTraining(db, "7", "completed");
      await insertTraining(db, "7", "pending");
      expect(await sqlState(insertTraining(db, "7", "training"))).toBe("23505");
      expect(await sqlState(insertTraining(db, "7", "pending"))).toBe("23505");
      await insertTraining(db, "8", "training");
      await db.query(`UPDATE ${db.s}.trainings SET status = 'canceled' WHERE user_id = '7' AND status = 'pending'`);
      await insertTraining(db, "7", "training");
    });

    it("keeps operator_events append-only", async () => {
      const db = await backend.freshDatabase();
      await db.query(`INSERT INTO ${db.s}.operator_events (operator, action, user_id) VALUES ('admin', 'train', '7')`);
      expect(await sqlState(db.query(`UPDATE ${db.s}.operator_events SET action = 'generate'`))).toBe("P0001");
      expect(await sqlState(db.query(`DELETE FROM ${db.s}.operator_events`))).toBe("P0001");
      expect(await sqlState(db.exec(`TRUNCATE ${db.s}.operator_events`))).toBe("P0001");
      const rows = await db.query(`SELECT action FROM ${db.s}.operator_events`);
      expect(rows.rows).toEqual([{ action: "train" }]);
    });

    it("rolls a transaction back when its function throws, and commits otherwise", async () => {
      const db = await backend.freshDatabase();
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO ${db.s}.users (id) VALUES ('1')`);
          await tx.exec(`INSERT INTO ${db.s}.users (id) VALUES ('2'); INSERT INTO ${db.s}.users (id) VALUES ('3')`);
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      const value = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, ["4"]);
        return (await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${db.s}.users`)).rows[0]?.n;
      });
      expect(value).toBe(1);
      const ids = await db.query<{ id: string }>(`SELECT id FROM ${db.s}.users ORDER BY id`);
      expect(ids.rows.map((r) => r.id)).toEqual(["4"]);
    });
  });
});
