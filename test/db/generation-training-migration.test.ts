/**
 * Migration 0010 on a database with generations from before it: each is linked to the completed
 * training of its user that made its version, and a generation no such training made stops the
 * migration, which names it and leaves the database as it was.
 */
import { expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import type { Database } from "../../src/db/types.js";
import { TRAINER_REF, buildGenerationInput, destinationModelId, hashInput } from "../../src/locked.js";
import { forEachBackend } from "../support/databases.js";
import { hexId } from "../audit/fixtures.js";

const BEFORE = MIGRATIONS.filter((m) => m.version < 10);
/** 0010 and every migration after it. */
const FROM_10 = MIGRATIONS.filter((m) => m.version >= 10).map((m) => m.version);

/** A user with trainings `versions` (completed, oldest first; null: failed) and a generation of each version in `used`. */
async function plantUser(db: Database, userId: string, versions: Array<string | null>, used: string[], usedModel = destinationModelId("alice", userId)) {
  await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, [userId]);
  for (const [i, v] of versions.entries()) {
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, output_version, finished_at)
       VALUES ($1, $2, $3, $4, '{}'::jsonb, $5, $6, now())`,
      [userId, `r${userId}${i}`, TRAINER_REF, destinationModelId("alice", userId), v === null ? "failed" : "completed", v],
    );
  }
  for (const [i, v] of used.entries()) {
    const input = buildGenerationInput(`user${userId} portrait`, i, "guidance_scale");
    await db.query(
      `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed) VALUES ($1, $2, $3, $4, $5, $6)`,
      [userId, `${usedModel}:${v}`, `user${userId} portrait`, JSON.stringify(input), hashInput(input), i],
    );
  }
}

const links = async (db: Database) =>
  (
    await db.query<{ user_id: string; version_ref: string; output_version: string }>(
      `SELECT g.user_id, g.version_ref, t.output_version FROM ${db.s}.generations g JOIN ${db.s}.trainings t ON t.id = g.training_id ORDER BY g.id`,
    )
  ).rows.map((r) => [r.user_id, r.version_ref.split(":")[1], r.output_version]);

forEachBackend((backend) => {
  it("links every existing generation to the completed training of its user that made its version", async () => {
    const db = await backend.freshDatabase({ migrate: false });
    await migrate(db, BEFORE);
    const [a1, a2, b1] = [hexId("a1"), hexId("a2"), hexId("b1")];
    await plantUser(db, "ann", [a1, null, a2], [a1, a2, a1]);
    await plantUser(db, "bob", [b1], [b1]);
    expect((await migrate(db)).applied).toEqual(FROM_10);
    expect(await links(db)).toEqual([
      ["ann", a1, a1],
      ["ann", a2, a2],
      ["ann", a1, a1],
      ["bob", b1, b1],
    ]);
    const { rows } = await db.query<{ validated: boolean }>(
      `SELECT convalidated AS validated FROM pg_constraint WHERE conname = 'generations_training_fkey' AND conrelid = $1::regclass`,
      [`${db.s}.generations`],
    );
    expect(rows).toEqual([{ validated: true }]);
  });

  it("refuses, naming them, generations that no completed training of their user made the version of", async () => {
    const db = await backend.freshDatabase({ migrate: false });
    await migrate(db, BEFORE);
    const [a1, b1] = [hexId("a1"), hexId("b1")];
    await plantUser(db, "ann", [a1], [a1]);
    await plantUser(db, "bob", [b1, null], [b1]);
    // Another user's version, and a version of the user's own model no training made.
    await plantUser(db, "eve", [], [b1], destinationModelId("alice", "bob"));
    await plantUser(db, "cat", [null], [hexId("never")]);
    const ids = (await db.query<{ id: number; user_id: string }>(`SELECT id, user_id FROM ${db.s}.generations ORDER BY id`)).rows;
    const eve = ids.find((r) => r.user_id === "eve")!.id;
    const cat = ids.find((r) => r.user_id === "cat")!.id;
    const err = await migrate(db).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe("MIGRATION_FAILED");
    expect(err?.message).toContain("0010_generation_training");
    expect(err?.message).toContain(`2 generation(s) used a version that no completed training of their user made`);
    expect(err?.message).toContain(`#${eve} (user eve, alice/bob-selfie-lora:${b1})`);
    expect(err?.message).toContain(`#${cat} (user cat, alice/cat-selfie-lora:${hexId("never")})`);
    expect(err?.message).not.toMatch(/user ann|user bob/);
    // Rolled back: still at 9, nothing added.
    expect((await db.query(`SELECT 1 FROM ${db.s}.migrations WHERE version = 10`)).rowCount).toBe(0);
    expect((await db.query(`SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'training_id'`, [db.schema])).rowCount).toBe(0);

    // Once the rows are dealt with, it goes through.
    await db.query(`DELETE FROM ${db.s}.generations WHERE id IN ($1, $2)`, [eve, cat]);
    expect((await migrate(db)).applied).toEqual(FROM_10);
    expect(await links(db)).toEqual([
      ["ann", a1, a1],
      ["bob", b1, b1],
    ]);
  });
});
