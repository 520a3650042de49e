/**
 * The remote rules against the emulator over real HTTP: clean models audit clean; each planted
 * violation at Replicate (model public or gone, version deleted, training output pointing at
 * another model, a schema lacking a locked input, a training outcome we never recorded) is found
 * exactly once for the right user; failures are "unverified", never compliant; 429s are honoured.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { runAudit } from "../../src/audit/index.js";
import type { Database } from "../../src/db/types.js";
import { destinationModelId, triggerWord } from "../../src/locked.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, TRAINER_VERSION, trainedModelInputSchema, type Emulator } from "../support/emulator/index.js";
import { HOUR, T0, iso, trainedAtEmulator } from "./fixtures.js";

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

/** The gateway retries at once in these tests: the waits are the gateway's own tests' business. */
const fast = { gateway: { sleep: async () => {} } };

forEachBackend((backend) => {
  async function setup(n = 3) {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emu, fast);
    const users = [];
    for (let i = 0; i < n; i++) users.push(await trainedAtEmulator(db, emu, ctx.gateway, `u${i}`));
    const clean = await runAudit(ctx, { remote: true });
    expect(clean.violations).toEqual([]);
    expect(clean.checked.remoteModels).toBe(n);
    emu.clearRequests();
    return { db, ctx, users };
  }

  async function expectOnly(db: Database, rule: string, userId: string) {
    const report = await runAudit(makeContext(db, emu, fast), { remote: true });
    expect(report.violations.map((v) => [v.rule, v.userId])).toEqual([[rule, userId]]);
    expect(report.ok).toBe(false);
    return report;
  }

  it("remote.model-public", async () => {
    const { db, users } = await setup();
    emu.models.get(users[1]!.modelId)!.visibility = "public";
    await expectOnly(db, "remote.model-public", "u1");
  });

  it("remote.model-missing", async () => {
    const { db, users } = await setup();
    emu.models.delete(users[2]!.modelId);
    await expectOnly(db, "remote.model-missing", "u2");
  });

  it("remote.version-missing: the active version deleted", async () => {
    const { db, users } = await setup();
    emu.deleteVersion(users[0]!.modelId, users[0]!.versions[0]!);
    const report = await expectOnly(db, "remote.version-missing", "u0");
    expect(report.violations[0]!.versionRef).toBe(`${users[0]!.modelId}:${users[0]!.versions[0]}`);
  });

  it("remote.version-missing: a version id that belongs to another model", async () => {
    const { db, users } = await setup();
    // u1 records u0's version as its own, everywhere in the database.
    // (0002's unique index would refuse the second training naming it.)
    await db.query(`DROP INDEX ${db.s}.trainings_output_version`);
    const theirs = users[0]!.versions[0]!;
    // The training and its generations change together: 0010's key between them is not checked
    // (triggers off), and holds again afterwards.
    await db.transaction(async (tx) => {
      await tx.query("SET LOCAL session_replication_role = replica");
      await tx.query(`UPDATE ${db.s}.trainings SET output_version = $2 WHERE user_id = $1`, ["u1", theirs]);
      await tx.query(`UPDATE ${db.s}.generations SET version_ref = $2 WHERE user_id = $1`, ["u1", `${users[1]!.modelId}:${theirs}`]);
    });
    await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = $2 WHERE user_id = $1`, ["u1", theirs]);
    const report = await runAudit(makeContext(db, emu, fast), { remote: true });
    expect(report.violations.map((v) => [v.rule, v.userId]).sort()).toEqual(
      [
        ["version.shared", "u1"],
        ["remote.version-missing", "u1"],
        ["remote.training-output", "u1"],
      ].sort(),
    );
  });

  it("remote.version-inputs: the version's schema lacks a locked input, or declares no guidance", async () => {
    const { db, users } = await setup();
    const schema = trainedModelInputSchema() as { properties: Record<string, unknown> };
    const { num_outputs: _n, ...withoutOutputs } = schema.properties;
    emu.setVersionSchema(users[1]!.modelId, users[1]!.versions[0]!, { ...schema, properties: withoutOutputs });
    const report = await expectOnly(db, "remote.version-inputs", "u1");
    expect(report.violations[0]!.message).toMatch(/num_outputs/);

    const { guidance_scale: _g, ...withoutGuidance } = schema.properties;
    emu.setVersionSchema(users[1]!.modelId, users[1]!.versions[0]!, { ...schema, properties: withoutGuidance });
    const again = await expectOnly(db, "remote.version-inputs", "u1");
    expect(again.violations[0]!.message).toMatch(/guidance/);
  });

  it("remote.training-output: the training's output points at another model", async () => {
    const { db, users } = await setup();
    const training = emu.trainings.get(users[2]!.trainingId)!;
    training.output = { ...training.output!, version: `${users[0]!.modelId}:${users[0]!.versions[0]}` };
    const report = await expectOnly(db, "remote.training-output", "u2");
    expect(report.violations[0]!.message).toContain(users[0]!.modelId);
  });

  it("remote.training-output: recorded completed, but failed at Replicate", async () => {
    const { db, users } = await setup();
    const training = emu.trainings.get(users[0]!.trainingId)!;
    training.status = "failed";
    training.output = null;
    training.error = "boom";
    await expectOnly(db, "remote.training-output", "u0");
  });

  it("remote.training-output: a later training succeeded at Replicate but was never recorded", async () => {
    const { db, ctx, users } = await setup();
    const user = users[1]!;
    const input = { input_images: "https://example.invalid/again.zip", trigger_word: triggerWord(user.id) };
    const t = await ctx.gateway.createTraining({ trainerOwner: "ostris", trainerName: "flux-dev-lora-trainer", trainerVersion: TRAINER_VERSION, destination: user.modelId, input });
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, created_at, identity_check)
       SELECT user_id, $2, trainer_version, destination, $3, 'training', 'processing', $4, identity_check FROM ${db.s}.trainings WHERE user_id = $1`,
      [user.id, t.id, JSON.stringify(input), iso(T0 + 5 * HOUR)],
    );
    // Still running at Replicate: nothing to say.
    expect((await runAudit(makeContext(db, emu, fast), { remote: true })).violations).toEqual([]);
    emu.finishTraining(t.id, "succeeded");
    const report = await expectOnly(db, "remote.training-output", user.id);
    expect(report.violations[0]!.replicateTrainingId).toBe(t.id);
    // The finding says what to run, for this user: the record is behind, not wrong.
    expect(report.violations[0]!.message).toContain(`succeeded on Replicate with output ${user.modelId}:`);
    expect(report.violations[0]!.message).toContain('is recorded as "training"');
    expect(report.violations[0]!.message).toContain(`Run \`sselfie status --user ${user.id}\` (or \`sselfie reconcile\`) to record it.`);
  });

  it("a model that keeps failing is unverified (not compliant); the others are checked", async () => {
    const { db, users } = await setup();
    emu.inject({ kind: "status", method: "GET", path: `/v1/models/${users[1]!.modelId}`, status: 503, times: 100 });
    const report = await runAudit(makeContext(db, emu, fast), { remote: true });
    expect(report.ok).toBe(false);
    expect(report.unverified).toEqual([{ userId: "u1", modelId: users[1]!.modelId, code: "REPLICATE_UNAVAILABLE", message: expect.any(String) }]);
    expect(report.violations.map((v) => [v.rule, v.userId])).toEqual([["remote.unverified", "u1"]]);
    expect(report.checked.remoteModels).toBe(2);
  });

  it("honours 429s: throttled calls are retried after the hinted wait and the audit completes", async () => {
    const { db, users } = await setup();
    const sleeps: number[] = [];
    const ctx = makeContext(db, emu, { gateway: { sleep: async (ms: number) => void sleeps.push(ms) } });
    emu.inject({ kind: "rate-limit", method: "GET", path: `/v1/models/${users[0]!.modelId}`, retryAfterSeconds: 2, times: 2 });
    const report = await runAudit(ctx, { remote: true });
    expect(report.violations).toEqual([]);
    expect(report.checked.remoteModels).toBe(3);
    expect(emu.requestsTo("GET", `/v1/models/${users[0]!.modelId}`).map((r) => r.status)).toEqual([429, 429, 200]);
    expect(sleeps.filter((ms) => ms >= 2000)).toHaveLength(2);
  });

  it("stops calling a Replicate that keeps failing, and reports every model unverified", async () => {
    const { db } = await setup(25);
    emu.inject({ kind: "status", method: "GET", path: /\/v1\/models\//, status: 503, times: 10_000 });
    const report = await runAudit(makeContext(db, emu, fast), { remote: true, concurrency: 4 });
    expect(report.unverified).toHaveLength(25);
    expect(report.checked.remoteModels).toBe(0);
    expect(report.counts["remote.unverified"]).toBe(25);
    // 20 failed calls in a row (plus those already in flight), each with the gateway's 6 attempts.
    expect(emu.requestsTo("GET", /\/v1\/models\//).length).toBeLessThanOrEqual((20 + 4) * 6);
  });

  it("a refused token ends the audit with the Replicate error", async () => {
    const { db } = await setup(1);
    const ctx = makeContext(db, { url: emu.url, token: "test-token-wrong", owner: emu.owner }, fast);
    await expect(runAudit(ctx, { remote: true })).rejects.toMatchObject({ code: "REPLICATE_UNAUTHORIZED" });
  });

  it("reads the account's training list instead of one GET per training when that is cheaper", async () => {
    const { db, users } = await setup(25);
    const report = await runAudit(makeContext(db, emu, fast), { remote: true });
    expect(report.violations).toEqual([]);
    expect(emu.requestsTo("GET", "/v1/trainings").length).toBeGreaterThanOrEqual(1);
    expect(emu.requestsTo("GET", /^\/v1\/trainings\/[^/]+$/).map((r) => r.path + JSON.stringify(r.query) + r.status)).toEqual([]);
    // One user: a GET for its training.
    emu.clearRequests();
    const one = await runAudit(makeContext(db, emu, fast), { remote: true, userId: "u3" });
    expect(one.violations).toEqual([]);
    expect(emu.requestsTo("GET", `/v1/trainings/${users[3]!.trainingId}`)).toHaveLength(1);
    expect(emu.requestsTo("GET", "/v1/trainings")).toHaveLength(0);
    expect(one.checked.remoteModels).toBe(1);
  });

  it("a user whose first training never reached Replicate has no model there, rightly", async () => {
    const { db } = await setup(1);
    const modelId = destinationModelId(emu.owner, "newcomer");
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('newcomer')`);
    await db.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ('newcomer', $1, 'usernewcomer', 'pending')`,
      [modelId],
    );
    const report = await runAudit(makeContext(db, emu, fast), { remote: true });
    expect(report.violations).toEqual([]);
  });
});
