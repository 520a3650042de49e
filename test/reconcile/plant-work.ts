/**
 * Plants unfinished work as a process that died would leave it: a user with a training running at
 * the emulator (created there for real, recorded here as `training`), and finished rows that a
 * reconciler must never read.
 */
import type { Database } from "../../src/db/types.js";
import { TRAINER_NAME, TRAINER_OWNER, TRAINER_REF, TRAINER_VERSION, destinationModelId, triggerWord } from "../../src/locked.js";
import type { ReplicateGateway } from "../../src/replicate/index.js";
import type { Emulator } from "../support/emulator/index.js";

/** A training created at the emulator for `userId` and recorded as running; returns its Replicate id. */
export async function plantRunningTraining(
  db: Database,
  emu: Emulator,
  gateway: ReplicateGateway,
  userId: string,
  opts: { webhook?: string } = {},
): Promise<{ trainingId: string; rowId: number }> {
  const modelId = destinationModelId(emu.owner, userId);
  if (!emu.models.has(modelId)) emu.createModel(modelId, { visibility: "private", hardware: "gpu-h100" });
  const input = { input_images: `https://example.invalid/${userId}.zip`, trigger_word: triggerWord(userId) };
  const t = await gateway.createTraining({
    trainerOwner: TRAINER_OWNER,
    trainerName: TRAINER_NAME,
    trainerVersion: TRAINER_VERSION,
    destination: modelId,
    input,
    ...(opts.webhook ? { webhook: opts.webhook, webhookEventsFilter: ["start", "completed"] } : {}),
  });
  await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1) ON CONFLICT DO NOTHING`, [userId]);
  await db.query(
    `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status, current_training_id)
     VALUES ($1, $2, $3, 'training', $4)`,
    [userId, modelId, triggerWord(userId), t.id],
  );
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status)
     VALUES ($1, $2, $3, $4, $5, $6, 'training', 'starting') RETURNING id`,
    [userId, t.id, TRAINER_REF, modelId, JSON.stringify(input), input.input_images],
  );
  return { trainingId: t.id, rowId: rows[0]!.id };
}

/** `count` users whose training completed and whose generations are all downloaded: nothing to do. */
export async function plantFinishedWork(db: Database, count: number, prefix = "done"): Promise<void> {
  await db.query(
    `WITH u AS (
       INSERT INTO ${db.s}.users (id) SELECT $1 || i FROM generate_series(1, $2) AS i RETURNING id
     )
     INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, finished_at)
     SELECT id, 'r' || id, $3, 'o/' || id || '-selfie-lora', '{}'::jsonb, 'completed', 'succeeded', now() FROM u`,
    [prefix, count, TRAINER_REF],
  );
}
