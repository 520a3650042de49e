/**
 * The audit with owners: each user's model is under the user's recorded owner, a configured one;
 * no owner holds more users than its capacity; --remote checks each model with its owner's token.
 * Each rule is broken once in the database (or at Replicate) and found for the right user.
 */
import { expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import type { Database } from "../../src/db/types.js";
import { addOwner } from "../../src/owners/owners.js";
import { refreshTraining, startTraining } from "../../src/training/index.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { TOKENS, tokenEnvOf, ownersTestBed } from "./owners-support.js";

const bed = ownersTestBed();

forEachBackend((backend) => {
  /** early on the implicit owner alice; u1 and u3 on carol, u2 on bob; all trained. */
  async function setUp() {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, bed.emu, { tokens: TOKENS });
    const trained = async (userId: string) => {
      const started = await startTraining(ctx, "op", { userId, images: bed.images });
      bed.emu.finishTraining(started.trainingId, "succeeded");
      await refreshTraining(ctx, "op", userId);
      return started.modelId;
    };
    await trained("early");
    await addOwner(ctx, { name: "bob", tokenEnv: tokenEnvOf("bob"), capacity: 2 });
    await addOwner(ctx, { name: "carol", tokenEnv: tokenEnvOf("carol"), capacity: 3 });
    const models = [await trained("u1"), await trained("u2"), await trained("u3")];
    expect(models).toEqual(["carol/u1-selfie-lora", "bob/u2-selfie-lora", "carol/u3-selfie-lora"]);
    // The synthetic images have no faces, so these trainings ran without the identity check; this
    // file audits the owner rules, so they are recorded as checked (test/audit/fixtures.ts does the same).
    await db.query(`UPDATE ${db.s}.trainings SET identity_check = 'passed'`);
    return { db, ctx };
  }
  const found = async (db: Database, remote = false) =>
    (await runAudit(makeContext(db, bed.emu, { tokens: TOKENS }), { remote })).violations.map((v) => [v.rule, v.userId]);

  it("users spread over owners audit clean, and --remote checks each model with its owner's token", async () => {
    const { db, ctx } = await setUp();
    expect(await runAudit(ctx)).toMatchObject({ ok: true, violations: [] });
    bed.emu.clearRequests();
    const remote = await runAudit(ctx, { remote: true });
    expect(remote).toMatchObject({ ok: true, violations: [], checked: { remoteModels: 4 } });
    const modelReads = bed.emu.requestsTo("GET", /^\/v1\/models\/[^/]+\/[^/]+$/).map((r) => [r.path.split("/")[3], r.account]);
    expect(modelReads.sort()).toEqual([["alice", "alice"], ["bob", "bob"], ["carol", "carol"], ["carol", "carol"]]);
    expect(bed.emu.requests.filter((r) => r.path.startsWith("/v1/") && r.path.split("/")[3] !== r.account && r.path.startsWith("/v1/models/"))).toEqual([]);

    // A model gone at bob is found with bob's token.
    bed.emu.models.delete("bob/u2-selfie-lora");
    expect(await found(db, true)).toEqual([["remote.model-missing", "u2"]]);
  });

  it("model.id: a model id that is not under the user's recorded owner", async () => {
    const { db } = await setUp();
    // The owner column is generated from the model id; only a damaged schema can part them.
    await db.query(`ALTER TABLE ${db.s}.user_models ALTER COLUMN owner DROP EXPRESSION`);
    await db.query(`UPDATE ${db.s}.user_models SET owner = 'bob' WHERE user_id = 'u1'`);
    // Its trainings went to carol's model, which is then not the recorded owner's either.
    expect(await found(db)).toEqual([["model.id", "u1"], ["training.destination", "u1"]]);
  });

  it("model.id: a user under an owner that is not configured", async () => {
    const { db } = await setUp();
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('u9')`);
    await db.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ('u9', 'mallory/u9-selfie-lora', 'useru9', 'failed')`,
    );
    const report = await runAudit(makeContext(db, bed.emu, { tokens: TOKENS }));
    expect(report.violations.map((v) => [v.rule, v.userId])).toEqual([["model.id", "u9"]]);
    expect(report.violations[0]!.message).toContain("not a configured owner");
  });

  it("training.destination: another configured owner's model is not the user's own", async () => {
    const { db } = await setUp();
    await db.query(`UPDATE ${db.s}.trainings SET destination = 'bob/u1-selfie-lora' WHERE user_id = 'u1'`);
    expect(await found(db)).toEqual([["training.destination", "u1"]]);
  });

  it("owner.capacity: an owner holding more users than its capacity", async () => {
    const { db } = await setUp();
    // The database refuses it (CHECK used <= capacity): only a damaged schema can hold it.
    await db.query(`ALTER TABLE ${db.s}.owners DROP CONSTRAINT owners_within_capacity`);
    await db.query(`UPDATE ${db.s}.owners SET capacity = 1 WHERE name = 'carol'`);
    const report = await runAudit(makeContext(db, bed.emu, { tokens: TOKENS }));
    expect(report.violations.map((v) => [v.rule, v.userId])).toEqual([["owner.capacity", "u3"]]);
    expect(report.violations[0]!.message).toBe("Owner carol holds 2 users, more than its capacity of 1; user u3 was placed past it.");
  });

  it("the database refuses what the capacity rule looks for", async () => {
    const { db } = await setUp();
    await expect(db.query(`UPDATE ${db.s}.owners SET capacity = 1 WHERE name = 'carol'`)).rejects.toThrow(/owners_within_capacity/);
    await expect(db.query(`UPDATE ${db.s}.owners SET used = 0 WHERE name = 'carol'`)).resolves.toBeDefined();
    // A trained user never changes owner.
    await expect(db.query(`UPDATE ${db.s}.user_models SET replicate_model_id = 'bob/u1-selfie-lora' WHERE user_id = 'u1'`)).rejects.toThrow(
      /never changes owner/,
    );
  });
});
