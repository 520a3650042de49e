/**
 * What a read-only command (`sselfie status`) costs the database: each statement is a round trip,
 * and on the embedded database a command's first statement on a table loads that table's catalogue
 * entries. Authentication reads the token's operator in the statement that checks the schema;
 * `status` reads the user's model and latest training in one. The checks still refuse as before.
 */
import { tmpdir } from "node:os";
import { expect, it } from "vitest";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import { getLatestTraining } from "../../src/db/trainings.js";
import { getUserModel } from "../../src/db/user-models.js";
import { bootstrapFirstAdmin } from "../../src/operators/operators.js";
import { generateToken } from "../../src/operators/tokens.js";
import { createOwnerGateways } from "../../src/owners/owner-gateways.js";
import { SdkCore } from "../../src/sdk/core.js";
import { Sselfie } from "../../src/sselfie.js";
import { toStatusResult } from "../../src/training/training-status.js";
import { counting } from "../support/counting-database.js";
import { forEachBackend } from "../support/databases.js";

/** An SDK object over `db`, with no Replicate token: nothing here may need Replicate. */
function sdkOver(db: Database): Sselfie {
  const ctx: SselfieContext = { db, webhookUrl: undefined, tmpDir: tmpdir(), identityCheck: false, ...createOwnerGateways(db, {}) };
  return new Sselfie(new SdkCore(ctx));
}

/** A statement by the tables it names, e.g. "migrations+operators". */
function tables(sql: string, s: string): string {
  const named = [...sql.matchAll(new RegExp(`${s.replace(/"/g, '\\"')}\\.(\\w+)`, "g"))].map((m) => m[1]!);
  return [...new Set(named)].join("+");
}

/** What `sselfie status --user <userId>` asks of the SDK, in its order (src/cli/run-command.ts, commands/status.ts). */
async function status(sselfie: Sselfie, token: string, userId: string) {
  const principal = await sselfie.operators.authenticate({ token, scope: "read", action: "status", userId });
  await sselfie.generations.finish({ userId }, { actor: principal.name });
  return sselfie.trainings.refresh(userId, { actor: principal.name });
}

forEachBackend((backend) => {
  it("status costs three statements (schema check with the operator, unfinished generations, model with latest training) and the last-use write once a minute", async () => {
    const raw = await backend.freshDatabase();
    const admin = (await bootstrapFirstAdmin(raw))!;
    const { db, statements } = counting(raw);
    const result = await status(sdkOver(db), admin.token, "42");
    expect(result).toMatchObject({ userId: "42", status: "none", modelId: null });
    expect(statements.map((sql) => tables(sql, db.s))).toEqual(["migrations+operators", "operators", "generations", "user_models+trainings"]);

    // Used again within the minute: nothing to write, and the statement is not sent at all.
    statements.length = 0;
    await status(sdkOver(db), admin.token, "42");
    expect(statements.map((sql) => tables(sql, db.s))).toEqual(["migrations+operators", "generations", "user_models+trainings"]);
  });

  it("reads the same model and latest training in its one statement as the two reads it replaces", async () => {
    const db = await backend.freshDatabase();
    const admin = (await bootstrapFirstAdmin(db))!;
    const sselfie = sdkOver(db);
    const separately = async (userId: string) =>
      toStatusResult(userId, await getUserModel(db, db.s, userId), await getLatestTraining(db, db.s, userId));
    const model = "owner-a/7-selfie-lora";
    const version = "a".repeat(64);
    await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('7')`);
    // A training of user 7 but no model row yet (as while a first training is being started).
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status,
                                      output_version, progress, predict_time, started_at, finished_at, created_at)
       VALUES ('7', 'tr1', 'ostris/flux-dev-lora-trainer:x', $1, '{}', 'completed', 'succeeded', $2,
               '{"step": 1000, "total": 1000, "percent": 100}', 812.5, now(), now(), now() - interval '1 hour')`,
      [model, version],
    );
    expect(await status(sselfie, admin.token, "7")).toEqual(await separately("7"));
    await db.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, error)
       VALUES ('7', $1, $2, 'user7', 'failed', 'out of memory')`,
      [model, version],
    );
    await db.query(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, error, finished_at)
       VALUES ('7', 'tr2', 'ostris/flux-dev-lora-trainer:x', $1, '{}', 'failed', 'failed', 'out of memory', now())`,
      [model],
    );
    const read = await status(sselfie, admin.token, "7");
    expect(read).toEqual(await separately("7"));
    expect(read).toMatchObject({ status: "failed", modelId: model, versionId: version, trainingId: "tr2", error: "out of memory" });
    // A user with neither.
    expect(await status(sselfie, admin.token, "8")).toEqual(await separately("8"));
  });

  it("a well-formed token on a schema never migrated is told NOT_INITIALISED, and nothing is written", async () => {
    const db = await backend.freshDatabase({ migrate: false });
    for (const t of [generateToken(), undefined, "sselfie_garbage"]) {
      await expect(sdkOver(db).operators.authenticate({ token: t, scope: "read", action: "status" })).rejects.toMatchObject({
        code: "NOT_INITIALISED",
      });
    }
  });
});
