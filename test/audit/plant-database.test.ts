/**
 * Each database rule against one planted violation: clean data, one row changed behind the SDK's
 * back (dropping a constraint of the throwaway schema where the database itself would refuse),
 * and the audit must report exactly that finding, with its rule id and user.
 */
import { expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import type { Database, Transaction } from "../../src/db/types.js";
import { TRAINER_OWNER, TRAINER_NAME, buildGenerationInput, hashInput } from "../../src/locked.js";
import { forEachBackend } from "../support/databases.js";
import { HOUR, T0, cleanRows, dbOnlyContext, dropChecks, dropLockedInputCheck, dropOwnerGuard, hexId, insertRows, iso, type FixtureUser } from "./fixtures.js";

const OWNER = "alice";

async function cleanDatabase(db: Database): Promise<Map<string, FixtureUser>> {
  const { rows, users } = cleanRows(OWNER, 20);
  await insertRows(db, rows);
  return new Map(users.map((u) => [u.kind + (users.indexOf(u) >= 10 ? "#2" : ""), u]));
}

async function findings(db: Database) {
  const report = await runAudit(dbOnlyContext(db, OWNER));
  return { report, found: report.violations.map((v) => [v.rule, v.userId]) };
}

async function firstGeneration(db: Database, userId: string) {
  const { rows } = await db.query<{ id: number; input: Record<string, unknown>; prompt: string; seed: number; training_id: number }>(
    `SELECT id, input, prompt, seed, training_id FROM ${db.s}.generations WHERE user_id = $1 ORDER BY id LIMIT 1`,
    [userId],
  );
  return rows[0]!;
}

/** The id of the user's completed training that made `version`. */
async function trainingOf(db: Database, userId: string, version: string): Promise<number> {
  const { rows } = await db.query<{ id: number }>(`SELECT id FROM ${db.s}.trainings WHERE user_id = $1 AND output_version = $2`, [userId, version]);
  return rows[0]!.id;
}

const FOREIGN_KEY = "generations_training_fkey";

/** Drops 0010's key from generations to their training, so a plant can store what it refuses. */
async function dropTrainingKey(db: Database): Promise<void> {
  await db.query(`ALTER TABLE ${db.s}.generations DROP CONSTRAINT ${FOREIGN_KEY}`);
}

/**
 * Runs `sql` with triggers off (session_replication_role = replica, as a data-only restore or a
 * logical replica writes): foreign keys are not checked, and the catalogue still shows them valid.
 */
async function withTriggersOff(db: Database, sql: string, params: unknown[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica");
    await tx.query(sql, params);
  });
}

/** The database with every statement of its transactions recorded in `seen`. */
function recording(db: Database): { spy: Database; seen: string[] } {
  const seen: string[] = [];
  const spy = {
    ...db,
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
      db.transaction((tx) => fn({ ...tx, query: (sql, params) => (seen.push(sql), tx.query(sql, params)) })),
  };
  return { spy, seen };
}

/** The user's first generation made to send guidance under its second name, written with triggers off. */
async function sendGuidanceKey(db: Database, userId: string) {
  const g = await firstGeneration(db, userId);
  const { guidance_scale: value, ...rest } = g.input;
  const input = { ...rest, guidance: value };
  await withTriggersOff(db, `UPDATE ${db.s}.generations SET input = $2, input_hash = $3 WHERE id = $1`, [g.id, JSON.stringify(input), hashInput(input)]);
  return g;
}

forEachBackend((backend) => {
  /** The clean fixture (audited clean once, by the first test: it is the same every time). */
  async function setup() {
    const db = await backend.freshDatabase();
    const users = await cleanDatabase(db);
    const u = (kind: string) => users.get(kind)!;
    return { db, u };
  }

  it("the fixture every test plants in audits clean", async () => {
    const { db } = await setup();
    const before = await findings(db);
    expect(before.found).toEqual([]);
    expect(before.report.ok).toBe(true);
  });

  async function expectOnly(db: Database, rule: string, userId: string) {
    const { report, found } = await findings(db);
    expect(found).toEqual([[rule, userId]]);
    expect(report.counts).toEqual({ [rule]: 1 });
    expect(report.ok).toBe(false);
    const v = report.violations[0]!;
    expect(v.message.length).toBeGreaterThan(10);
    return v;
  }

  it("user.id: a user id no model name can carry", async () => {
    const { db } = await setup();
    await dropChecks(db, "users", "id ~");
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('Bad User')`);
    await expectOnly(db, "user.id", "Bad User");
  });

  it("model.id: a model under another owner, and a model with another name", async () => {
    const { db, u } = await setup();
    await dropOwnerGuard(db);
    await db.query(`UPDATE ${db.s}.user_models SET replicate_model_id = 'mallory/' || user_id || '-selfie-lora' WHERE user_id = $1`, [u("trained").id]);
    const v = await expectOnly(db, "model.id", u("trained").id);
    expect(v.message).toContain(`alice/${u("trained").id}-selfie-lora`);

    const { db: db2, u: u2 } = await setup();
    await dropChecks(db2, "user_models", "split_part");
    await dropOwnerGuard(db2);
    await db2.query(`UPDATE ${db2.s}.user_models SET replicate_model_id = replicate_model_id || '-v2' WHERE user_id = $1`, [u2("retrained").id]);
    await expectOnly(db2, "model.id", u2("retrained").id);
  });

  it("model.id-shared: one model id recorded for two users (UNIQUE dropped)", async () => {
    const { db, u } = await setup();
    await dropChecks(db, "user_models", "UNIQUE");
    await dropChecks(db, "user_models", "split_part");
    await dropOwnerGuard(db);
    const owner = u("trained").id;
    const thief = u("retrain-failed").id;
    await db.query(`UPDATE ${db.s}.user_models SET replicate_model_id = $2 WHERE user_id = $1`, [thief, u("trained").modelId]);
    const { found, report } = await findings(db);
    // The second user's model id is not theirs, and the id is shared by both.
    expect(found.sort()).toEqual(
      [
        ["model.id", thief],
        ["model.id-shared", owner],
        ["model.id-shared", thief],
      ].sort(),
    );
    expect(report.counts).toEqual({ "model.id": 1, "model.id-shared": 2 });
  });

  it("model.trigger-word", async () => {
    const { db, u } = await setup();
    await dropChecks(db, "user_models", "trigger_word");
    await db.query(`UPDATE ${db.s}.user_models SET trigger_word = 'TOK' WHERE user_id = $1`, [u("guidance-key").id]);
    await expectOnly(db, "model.trigger-word", u("guidance-key").id);
  });

  it("model.completed-version: completed without a version, and a version that is not 64 hex", async () => {
    const { db, u } = await setup();
    await dropChecks(db, "user_models", "completed");
    await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = NULL WHERE user_id = $1`, [u("failed-then-trained").id]);
    await expectOnly(db, "model.completed-version", u("failed-then-trained").id);

    const { db: db2, u: u2 } = await setup();
    await dropChecks(db2, "user_models", "replicate_version_id ~");
    await db2.query(`UPDATE ${db2.s}.user_models SET replicate_version_id = 'ABC' WHERE user_id = $1`, [u2("trained#2").id]);
    await expectOnly(db2, "model.completed-version", u2("trained#2").id);
  });

  it("model.version-source: an active version no completed training of the user produced", async () => {
    const { db, u } = await setup();
    await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = $2 WHERE user_id = $1`, [u("trained").id, hexId("stray")]);
    await expectOnly(db, "model.version-source", u("trained").id);
  });

  it("model.version-source: found beside a model whose version is not hex but is a training's output (hex checks dropped)", async () => {
    // When the audit counted sourced models instead of looking each one up, this pair hid the
    // second model: the first was counted as sourced but not as having a version.
    const { db, u } = await setup();
    const a = u("trained");
    const b = u("trained#2");
    await dropChecks(db, "user_models", "replicate_version_id ~");
    await dropChecks(db, "trainings", "output_version ~");
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status,
         replicate_status, output_version, created_at, started_at, finished_at, updated_at, identity_check, dataset_prepared, dataset)
       SELECT user_id, replicate_training_id || '-again', trainer_version, destination, input, input_images_url, status,
         replicate_status, 'abc', created_at, started_at, finished_at, updated_at, identity_check, dataset_prepared, dataset
       FROM ${db.s}.trainings WHERE user_id = $1 AND status = 'completed' ORDER BY id LIMIT 1`,
      [a.id],
    );
    await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = 'abc' WHERE user_id = $1`, [a.id]);
    await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = $2 WHERE user_id = $1`, [b.id, hexId("stray")]);
    const { found } = await findings(db);
    expect(found).toContainEqual(["model.version-source", b.id]);
    expect(new Set(found.map(([rule]) => rule))).toEqual(new Set(["model.completed-version", "model.version-source", "training.output-version"]));
  });

  it("model.version-source and generation.version: found the same with and without 0012's indexes", async () => {
    for (const withIndexes of [true, false]) {
      const { db, u } = await setup();
      if (!withIndexes) {
        await db.query(`DROP INDEX ${db.s}.trainings_completed, ${db.s}.user_models_versions, ${db.s}.trainings_completed_outputs`);
      }
      // A model on a version that a completed training made, of another user.
      const a = u("trained");
      await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = $2 WHERE user_id = $1`, [a.id, u("trained#2").versions[0]]);
      // A generation recorded before the training whose version it names had finished.
      const b = u("retrained");
      const g = await firstGeneration(db, b.id);
      const later = await trainingOf(db, b.id, b.versions[1]!);
      await db.query(`UPDATE ${db.s}.generations SET version_ref = $2, training_id = $3 WHERE id = $1`, [g.id, `${b.modelId}:${b.versions[1]}`, later]);
      const { found } = await findings(db);
      expect(found.sort()).toEqual([["generation.version", b.id], ["model.version-source", a.id]]);
    }
  });

  it("training.trainer: a training by another trainer version", async () => {
    const { db, u } = await setup();
    await db.query(
      `UPDATE ${db.s}.trainings SET trainer_version = $2 WHERE id = (SELECT min(id) FROM ${db.s}.trainings WHERE user_id = $1)`,
      [u("retrained").id, `${TRAINER_OWNER}/${TRAINER_NAME}:${hexId("older trainer")}`],
    );
    await expectOnly(db, "training.trainer", u("retrained").id);
  });

  it("training.destination: a training into another user's model", async () => {
    const { db, u } = await setup();
    const sql = `UPDATE ${db.s}.trainings SET destination = $2 WHERE user_id = $1`;
    const params = [u("trained").id, u("trained#2").modelId];
    // Its generations name it with the version reference it made: 0010's key keeps it.
    await expect(db.query(sql, params)).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await withTriggersOff(db, sql, params);
    await expectOnly(db, "training.destination", u("trained").id);
  });

  it("training.trigger-word: a training started with the trainer's default TOK", async () => {
    const { db, u } = await setup();
    await db.query(`UPDATE ${db.s}.trainings SET input = jsonb_set(input, '{trigger_word}', '"TOK"') WHERE user_id = $1`, [u("training").id]);
    await expectOnly(db, "training.trigger-word", u("training").id);
  });

  it("training.output-version: a completed training that records no output", async () => {
    const { db, u } = await setup();
    const user = u("training#2");
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, created_at, finished_at, identity_check)
       SELECT user_id, 'tnooutput', trainer_version, destination, input, 'completed', 'succeeded', created_at - interval '1 day', created_at - interval '1 day', identity_check
       FROM ${db.s}.trainings WHERE user_id = $1`,
      [user.id],
    );
    await expectOnly(db, "training.output-version", user.id);

    // A version that is not 64 hex: the database refuses it; without its check, the audit finds it.
    const { db: db2, u: u2 } = await setup();
    const other = u2("trained");
    const bad = `UPDATE ${db2.s}.trainings SET output_version = 'v1' WHERE user_id = $1 AND status = 'completed'`;
    await expect(db2.query(bad, [other.id])).rejects.toThrow(/trainings_output_version_hex/);
    await dropChecks(db2, "trainings", "output_version ~");
    // Its generations' key refuses it too; written with triggers off, only the check is gone.
    await expect(db2.query(bad, [other.id])).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await withTriggersOff(db2, bad, [other.id]);
    const found = (await findings(db2)).found.map(([rule]) => rule);
    expect(found).toContain("training.output-version");
  });

  it("training.identity-checked: a training whose photos no identity check vouches for", async () => {
    const { db, u } = await setup();
    const user = u("retrained");
    await db.query(
      `UPDATE ${db.s}.trainings SET identity_check = NULL WHERE id = (SELECT min(id) FROM ${db.s}.trainings WHERE user_id = $1)`,
      [user.id],
    );
    const v = await expectOnly(db, "training.identity-checked", user.id);
    expect(v.message).toMatch(/records no identity check of its photos/);
    // The operator's override is a recorded decision, not a finding.
    await db.query(`UPDATE ${db.s}.trainings SET identity_check = 'replaced' WHERE user_id = $1`, [user.id]);
    expect((await findings(db)).found).toEqual([]);
  });

  it("version.shared: a training of one user claims another user's version", async () => {
    const { db, u } = await setup();
    const victim = u("trained");
    const claimant = u("training");
    // The unique index of 0002 would refuse the claim; without it, the audit's self-join finds it.
    await db.query(`DROP INDEX ${db.s}.trainings_output_version`);
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, output_version, created_at, finished_at, identity_check)
       SELECT $1, 'tclaim', trainer_version, $2, jsonb_set(input, '{trigger_word}', to_jsonb('user' || $1::text)), 'failed', 'succeeded', $3, now(), now(), identity_check
       FROM ${db.s}.trainings WHERE user_id = $4`,
      [claimant.id, claimant.modelId, victim.versions[0], victim.id],
    );
    // A failed training naming the version is not a claim; a completed one is.
    expect((await findings(db)).found).toEqual([]);
    await db.query(`UPDATE ${db.s}.trainings SET status = 'completed' WHERE replicate_training_id = 'tclaim'`);
    await expectOnly(db, "version.shared", claimant.id);
  });

  it("a unique index on trainings.output_version makes version.shared impossible, and spares its pass", async () => {
    const { db } = await setup();
    // Migration 0002 creates it.
    expect((await db.query(`SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'trainings_output_version'`, [db.schema])).rows).toHaveLength(1);
    const { spy, seen } = recording(db);
    const report = await runAudit(dbOnlyContext(spy, OWNER));
    expect(report.ok).toBe(true);
    expect(seen.some((sql) => sql.includes("o.user_id <> x.user_id"))).toBe(false);
    // Without it the pass runs (and the plant above finds what it plants).
    await db.query(`DROP INDEX ${db.s}.trainings_output_version`);
    seen.length = 0;
    await runAudit(dbOnlyContext(spy, OWNER));
    expect(seen.some((sql) => sql.includes("o.user_id <> x.user_id"))).toBe(true);
  });

  it("generation.model: another user's model:version, and a base model", async () => {
    const { db, u } = await setup();
    const other = u("trained#2");
    const g = await firstGeneration(db, u("trained").id);
    const theirs = () => db.query(`UPDATE ${db.s}.generations SET version_ref = $2 WHERE id = $1`, [g.id, `${other.modelId}:${other.versions[0]}`]);
    // 0010's key refuses it (the row's training made another version), and so it does with the
    // other user's training named too (it is not the row's user's).
    await expect(theirs()).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await expect(
      db.query(`UPDATE ${db.s}.generations SET version_ref = $2, training_id = $3 WHERE id = $1`, [
        g.id,
        `${other.modelId}:${other.versions[0]}`,
        await trainingOf(db, other.id, other.versions[0]!),
      ]),
    ).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await dropTrainingKey(db);
    await theirs();
    const v = await expectOnly(db, "generation.model", u("trained").id);
    expect(v.generationId).toBe(g.id);

    const { db: db2, u: u2 } = await setup();
    const g2 = await firstGeneration(db2, u2("retrained").id);
    const base = [g2.id, `black-forest-labs/flux-dev-lora:${hexId("base")}`];
    await expect(db2.query(`UPDATE ${db2.s}.generations SET version_ref = $2 WHERE id = $1`, base)).rejects.toThrow(new RegExp(FOREIGN_KEY));
    // Written with triggers off, the key is not checked, and the catalogue still shows it valid.
    await withTriggersOff(db2, `UPDATE ${db2.s}.generations SET version_ref = $2 WHERE id = $1`, base);
    await expectOnly(db2, "generation.model", u2("retrained").id);
  });

  it("generation.model: another user's version and training, inserted with triggers off", async () => {
    const { db, u } = await setup();
    const user = u("trained");
    const other = u("trained#2");
    const input = buildGenerationInput(`user${user.id} portrait`, 7, "guidance_scale");
    const sql = `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed, training_id) VALUES ($1, $2, $3, $4, $5, 7, $6)`;
    const params = [
      user.id,
      `${other.modelId}:${other.versions[0]}`,
      `user${user.id} portrait`,
      JSON.stringify(input),
      hashInput(input),
      await trainingOf(db, other.id, other.versions[0]!),
    ];
    await expect(db.query(sql, params)).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await withTriggersOff(db, sql, params);
    await expectOnly(db, "generation.model", user.id);
  });

  it("the key to a generation's training binds the user and the version, and keeps the training completed", async () => {
    const { db, u } = await setup();
    const user = u("retrain-failed");
    const g = await firstGeneration(db, user.id);
    // A training that did not complete cannot be named.
    const failed = (await db.query<{ id: number }>(`SELECT id FROM ${db.s}.trainings WHERE user_id = $1 AND status = 'failed'`, [user.id])).rows[0]!.id;
    await expect(db.query(`UPDATE ${db.s}.generations SET training_id = $2 WHERE id = $1`, [g.id, failed])).rejects.toThrow(new RegExp(FOREIGN_KEY));
    // A named training cannot leave `completed`, nor be deleted.
    await expect(db.query(`UPDATE ${db.s}.trainings SET status = 'failed' WHERE id = $1`, [g.training_id])).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await expect(db.query(`DELETE FROM ${db.s}.trainings WHERE id = $1`, [g.training_id])).rejects.toThrow(new RegExp(FOREIGN_KEY));
    // A generation must name one.
    await expect(db.query(`UPDATE ${db.s}.generations SET training_id = NULL WHERE id = $1`, [g.id])).rejects.toThrow(/training_id/);
  });

  it("generation.no-completed-model: the generation's training made to look failed, or deleted, with triggers off", async () => {
    const { db, u } = await setup();
    const user = u("retrain-failed");
    const g = await firstGeneration(db, user.id);
    await withTriggersOff(db, `UPDATE ${db.s}.trainings SET status = 'failed' WHERE id = $1`, [g.training_id]);
    // Its model says completed with that version: model.version-source too.
    const { found } = await findings(db);
    expect(found).toContainEqual(["generation.no-completed-model", user.id]);
    expect(new Set(found.map(([rule]) => rule))).toEqual(new Set(["generation.no-completed-model", "model.version-source"]));

    const { db: db2, u: u2 } = await setup();
    const user2 = u2("failed-then-trained");
    const g2 = await firstGeneration(db2, user2.id);
    await withTriggersOff(db2, `DELETE FROM ${db2.s}.trainings WHERE id = $1`, [g2.training_id]);
    const found2 = (await findings(db2)).found;
    expect(found2).toContainEqual(["generation.no-completed-model", user2.id]);
    expect(new Set(found2.map(([rule]) => rule))).toEqual(new Set(["generation.no-completed-model", "model.version-source"]));
  });

  it("generation.model: a key weakened to the training alone lets another user's version in, and the audit finds it", async () => {
    const { db, u } = await setup();
    const other = u("trained#2");
    const g = await firstGeneration(db, u("trained").id);
    await dropTrainingKey(db);
    await db.query(`ALTER TABLE ${db.s}.generations ADD CONSTRAINT ${FOREIGN_KEY} FOREIGN KEY (training_id) REFERENCES ${db.s}.trainings (id)`);
    await db.query(`UPDATE ${db.s}.generations SET version_ref = $2 WHERE id = $1`, [g.id, `${other.modelId}:${other.versions[0]}`]);
    await expectOnly(db, "generation.model", u("trained").id);
  });

  it("generation.model: a training moved into another user's model, its generation following it, both with triggers off", async () => {
    // The clean-row test compares a generation with its training's version reference; it settles
    // the model rule only while every training's destination is its user's own model. Here the
    // trainings pass finds one that is not, so every generation is checked in full again.
    const { db, u } = await setup();
    const user = u("trained");
    const other = u("trained#2");
    const g = await firstGeneration(db, user.id);
    await withTriggersOff(db, `UPDATE ${db.s}.trainings SET destination = $2 WHERE id = $1`, [g.training_id, other.modelId]);
    await withTriggersOff(db, `UPDATE ${db.s}.generations SET version_ref = t.version_ref FROM ${db.s}.trainings t WHERE t.id = $2 AND ${db.s}.generations.id = $1`, [
      g.id,
      g.training_id,
    ]);
    const { found } = await findings(db);
    expect(found).toEqual([
      ["training.destination", user.id],
      ["generation.model", user.id],
    ]);
  });

  it("generation.model: trainings.version_ref made a plain column proves nothing, and the audit finds the row", async () => {
    const { db, u } = await setup();
    const user = u("trained");
    const other = u("trained#2");
    const g = await firstGeneration(db, user.id);
    // The column's catalogue entry says what it is: not generated any more, anyone can write it.
    await db.query(`ALTER TABLE ${db.s}.trainings DROP COLUMN version_ref CASCADE`);
    await db.query(`ALTER TABLE ${db.s}.trainings ADD COLUMN version_ref text`);
    await db.query(`UPDATE ${db.s}.trainings SET version_ref = destination || ':' || output_version WHERE status = 'completed'`);
    const theirs = `${other.modelId}:${other.versions[0]}`;
    await db.query(`UPDATE ${db.s}.trainings SET version_ref = $2 WHERE id = $1`, [g.training_id, theirs]);
    await db.query(`UPDATE ${db.s}.generations SET version_ref = $2 WHERE id = $1`, [g.id, theirs]);
    const v = await expectOnly(db, "generation.model", user.id);
    expect(v.generationId).toBe(g.id);
  });

  it("generation.no-completed-model: for a user still training, and before the first training finished", async () => {
    const { db, u } = await setup();
    const user = u("training");
    const input = buildGenerationInput(`user${user.id} portrait`, 7, "guidance_scale");
    const running = (await db.query<{ id: number }>(`SELECT id FROM ${db.s}.trainings WHERE user_id = $1`, [user.id])).rows[0]!.id;
    const plant = () =>
      db.query(
        `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed, training_id) VALUES ($1, $2, $3, $4, $5, 7, $6)`,
        [user.id, `${user.modelId}:${hexId("never trained")}`, `user${user.id} portrait`, JSON.stringify(input), hashInput(input), running],
      );
    // The running training has made no version: 0010's key refuses the row.
    await expect(plant()).rejects.toThrow(new RegExp(FOREIGN_KEY));
    await dropTrainingKey(db);
    await plant();
    await expectOnly(db, "generation.no-completed-model", user.id);

    const { db: db2, u: u2 } = await setup();
    const g = await firstGeneration(db2, u2("trained").id);
    await db2.query(`UPDATE ${db2.s}.generations SET created_at = $2 WHERE id = $1`, [g.id, iso(T0 + HOUR / 2)]);
    await expectOnly(db2, "generation.no-completed-model", u2("trained").id);
  });

  it("generation.version: a version of the user's model that was not completed yet at that time", async () => {
    const { db, u } = await setup();
    const user = u("retrained");
    const g = await firstGeneration(db, user.id);
    // Recorded at T0+2h with the version whose training finished at T0+5h (the first one existed),
    // naming that training: the key holds (a key cannot hold the time order), and the audit finds it.
    const later = await trainingOf(db, user.id, user.versions[1]!);
    await db.query(`UPDATE ${db.s}.generations SET version_ref = $2, training_id = $3 WHERE id = $1`, [g.id, `${user.modelId}:${user.versions[1]}`, later]);
    await expectOnly(db, "generation.version", user.id);

    // Still naming the first training, with the key dropped.
    const { db: db2, u: u2 } = await setup();
    const user2 = u2("retrained");
    const g2 = await firstGeneration(db2, user2.id);
    await dropTrainingKey(db2);
    await db2.query(`UPDATE ${db2.s}.generations SET version_ref = $2 WHERE id = $1`, [g2.id, `${user2.modelId}:${user2.versions[1]}`]);
    await expectOnly(db2, "generation.version", user2.id);
  });

  it("generation.input: an added, a changed and a missing input, prompt drift, and the wrong guidance key", async () => {
    const cases: Array<[string, (i: Record<string, unknown>) => Record<string, unknown>, string]> = [
      ["lora_weights added", (i) => ({ ...i, lora_weights: "https://example.com/other.safetensors" }), "trained"],
      ["num_outputs 4", (i) => ({ ...i, num_outputs: 4 }), "trained"],
      ["go_fast missing", ({ go_fast: _g, ...rest }) => rest, "retrained"],
      ["string guidance", (i) => ({ ...i, guidance_scale: "2.8" }), "awkward-prompts"],
      ["seed as a string", (i) => ({ ...i, seed: String(i.seed) }), "trained"],
      ["prompt differs from the column", (i) => ({ ...i, prompt: `${String(i.prompt)}!` }), "trained"],
      ["prompt missing", ({ prompt: _p, ...rest }) => rest, "trained"],
      ["seed written as 42.0-style text", (i) => ({ ...i, seed: `${String(i.seed)}.0` }), "trained"],
      // The version's cached schema declares guidance_scale; sending guidance would be ignored.
      ["guidance key not declared", ({ guidance_scale: g, ...rest }) => ({ ...rest, guidance: g }), "trained"],
      // The version's cached schema declares only guidance.
      ["guidance_scale sent to a guidance version", ({ guidance: g, ...rest }) => ({ ...rest, guidance_scale: g }), "guidance-key"],
    ];
    for (const [label, change, kind] of cases) {
      const { db, u } = await setup();
      const g = await firstGeneration(db, u(kind).id);
      const input = change(g.input);
      // Recorded consistently (hash of what was stored), so only the input rule applies. The
      // database refuses every such input but a guidance key the version does not declare
      // (which needs the cached schema, another table): that one the audit finds with the
      // constraint in place.
      const plant = () =>
        db.query(`UPDATE ${db.s}.generations SET input = $2, input_hash = $3 WHERE id = $1`, [g.id, JSON.stringify(input), hashInput(input)]);
      if (label.startsWith("guidance")) await plant();
      else {
        await expect(plant(), label).rejects.toThrow(/generations_input_locked/);
        await dropLockedInputCheck(db);
        await plant();
      }
      const v = await expectOnly(db, "generation.input", u(kind).id).catch((err) => {
        throw new Error(`${label}: ${err.message}`);
      });
      expect(v.generationId, label).toBe(g.id);
    }
  });

  it("generation.input: the guidance key is read from 0011's partial index, and found the same without it or with triggers off", async () => {
    const GUIDANCE_INDEX = "generations_guidance_key";
    const { db, u } = await setup();
    const user = u("trained");
    // Written with triggers off: the index holds the row all the same (indexes are not triggers).
    const g = await sendGuidanceKey(db, user.id);
    const { spy, seen } = recording(db);
    // The rules pass over generations (the first count of that table) reads nothing of the input.
    const rulesPass = () => seen.find((sql) => /generations x /.test(sql) && /count\(\*\)/.test(sql))!;
    const v = await expectOnly(spy, "generation.input", user.id);
    expect(v.generationId).toBe(g.id);
    expect(v.message).toMatch(/guidance/);
    expect(rulesPass()).not.toMatch(/x\.input/);
    expect(rulesPass()).toContain(`ga.input ? 'guidance'`);

    // The index replaced by one that holds other rows: the input is read row by row again.
    await db.query(`DROP INDEX ${db.s}.${GUIDANCE_INDEX}`);
    await db.query(`CREATE INDEX ${GUIDANCE_INDEX} ON ${db.s}.generations (id) WHERE input ? 'guidance_scale'`);
    seen.length = 0;
    expect((await expectOnly(spy, "generation.input", user.id)).generationId).toBe(g.id);
    expect(rulesPass()).toMatch(/x\.input \?/);
    // Dropped: the same.
    await db.query(`DROP INDEX ${db.s}.${GUIDANCE_INDEX}`);
    seen.length = 0;
    expect((await expectOnly(spy, "generation.input", user.id)).generationId).toBe(g.id);
    expect(rulesPass()).toMatch(/x\.input \?/);
  });

  it("generation.input: with every cached schema the usual kind, only the rows 0011's index holds are looked at", async () => {
    const { db, u } = await setup();
    const user = u("trained");
    // The only unusual schema of the fixtures (a version that declares `guidance`) forgotten: its
    // generations then may use either key (an uncached schema cannot say which).
    await db.query(`DELETE FROM ${db.s}.model_version_schemas WHERE NOT ((input_schema -> 'properties') ? 'guidance_scale')`);
    expect((await findings(db)).found).toEqual([]);
    const g = await sendGuidanceKey(db, user.id);
    const { spy, seen } = recording(db);
    const v = await expectOnly(spy, "generation.input", user.id);
    expect(v.generationId).toBe(g.id);
    // The rules pass over generations reads no input; the rows that sent `guidance` are counted alone.
    const counts = seen.filter((sql) => /generations x /.test(sql) && /count\(\*\)/.test(sql));
    expect(counts[0]).not.toMatch(/input/);
    expect(counts[1]).toContain(`ga.input ? 'guidance'`);
  });

  it("generation.input: an input that is not an object at all", async () => {
    for (const value of ['"portrait"', "[1, 2]", "null"]) {
      const { db, u } = await setup();
      const g = await firstGeneration(db, u("trained").id);
      await dropLockedInputCheck(db);
      await db.query(`UPDATE ${db.s}.generations SET input = $2::jsonb WHERE id = $1`, [g.id, value]);
      const { found } = await findings(db);
      expect(found, value).toEqual([["generation.input", u("trained").id]]);
    }
  });

  it("generation.input: a version whose cached schema lacks a locked input", async () => {
    const { db, u } = await setup();
    const user = u("trained");
    await db.query(`UPDATE ${db.s}.model_version_schemas SET input_schema = input_schema #- '{properties,num_outputs}' WHERE version_id = $1`, [
      user.versions[0],
    ]);
    const { found, report } = await findings(db);
    expect(found).toEqual([
      ["generation.input", user.id],
      ["generation.input", user.id],
    ]);
    expect(report.violations[0]!.message).toMatch(/does not declare every locked input/);
  });

  it("generation.input-hash: a hash that is not the input's", async () => {
    const { db, u } = await setup();
    const g = await firstGeneration(db, u("awkward-prompts").id);
    await dropLockedInputCheck(db);
    await db.query(`UPDATE ${db.s}.generations SET input_hash = $2 WHERE id = $1`, [g.id, hexId("forged")]);
    const v = await expectOnly(db, "generation.input-hash", u("awkward-prompts").id);
    expect(v.message).toContain(hashInput(g.input));
  });

  it("lists at most maxPerRule findings per rule and counts them all", async () => {
    const { db } = await setup();
    await dropLockedInputCheck(db);
    await db.query(`UPDATE ${db.s}.generations SET input_hash = repeat('0', 64)`);
    const total = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.generations`)).rows[0]!.n;
    const report = await runAudit(dbOnlyContext(db, OWNER), { maxPerRule: 3 });
    expect(report.counts).toEqual({ "generation.input-hash": total });
    expect(report.violations).toHaveLength(3);
    expect(report.truncated).toBe(true);
    const ids = report.violations.map((v) => v.userId);
    expect(ids).toEqual([...ids].sort());
  });

  it("audits one user only with userId, and refuses an unknown user", async () => {
    const { db, u } = await setup();
    await db.query(`UPDATE ${db.s}.trainings SET input = jsonb_set(input, '{trigger_word}', '"TOK"')`);
    const one = await runAudit(dbOnlyContext(db, OWNER), { userId: u("trained").id });
    expect(one.checked.users).toBe(1);
    expect(one.violations.map((v) => [v.rule, v.userId])).toEqual([["training.trigger-word", u("trained").id]]);
    await expect(runAudit(dbOnlyContext(db, OWNER), { userId: "nobody" })).rejects.toMatchObject({ code: "USER_NOT_FOUND" });
    await expect(runAudit(dbOnlyContext(db, OWNER), { userId: "../x" })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("without a configured owner, checks against the owner of most models and flags the others", async () => {
    const { db, u } = await setup();
    const clean = await runAudit(dbOnlyContext(db, null));
    expect(clean.ok).toBe(true);
    expect(clean.owner).toMatchObject({ name: OWNER, source: "inferred" });
    await dropOwnerGuard(db);
    await db.query(`UPDATE ${db.s}.user_models SET replicate_model_id = 'mallory/' || user_id || '-selfie-lora' WHERE user_id = $1`, [u("trained").id]);
    const report = await runAudit(dbOnlyContext(db, null));
    expect(report.violations.map((v) => [v.rule, v.userId])).toEqual([["model.id", u("trained").id]]);
  });

  it("never changes data", async () => {
    const { db, u } = await setup();
    await dropLockedInputCheck(db);
    await db.query(`UPDATE ${db.s}.generations SET input_hash = repeat('0', 64) WHERE user_id = $1`, [u("trained").id]);
    const snapshot = async () =>
      (
        await db.query<{ t: string }>(
          `SELECT (SELECT json_agg(x ORDER BY id)::text FROM ${db.s}.generations x) || (SELECT json_agg(x ORDER BY id)::text FROM ${db.s}.trainings x)
           || (SELECT json_agg(x ORDER BY user_id)::text FROM ${db.s}.user_models x) || (SELECT count(*)::text FROM ${db.s}.operator_events) AS t`,
        )
      ).rows[0]!.t;
    const before = await snapshot();
    await runAudit(dbOnlyContext(db, OWNER));
    expect(await snapshot()).toBe(before);
  });
});
