/**
 * Plants users in the state a finished training leaves (design.md, "Data conventions"): the
 * users row, user_models with the active version, a completed trainings row; and the matching
 * private model and version at the emulator.
 */
import type { Database } from "../../src/db/types.js";
import { TRAINER_REF, destinationModelId, triggerWord } from "../../src/locked.js";
import { decodePng, type Emulator } from "../support/emulator/index.js";

export interface PlantedModel {
  userId: string;
  modelId: string;
  versionId: string;
  ref: string;
}

export interface PlantOptions {
  /** Input schema of the planted version (default: the trained model's, with guidance_scale). */
  inputSchema?: object;
  /** training_status of user_models (default completed). */
  trainingStatus?: "pending" | "training" | "completed" | "failed" | "canceled";
  /** False: no version yet (a first training running, failed or canceled). */
  withVersion?: boolean;
  error?: string;
}

let trainingSeq = 0;

export async function plantUser(db: Database, emulator: Emulator, userId: string, opts: PlantOptions = {}): Promise<PlantedModel> {
  const modelId = destinationModelId(emulator.owner, userId);
  if (!emulator.models.has(modelId)) emulator.createModel(modelId, { visibility: "private", hardware: "gpu-h100" });
  const withVersion = opts.withVersion ?? true;
  const versionId = withVersion ? emulator.createVersion(modelId, opts.inputSchema ? { inputSchema: opts.inputSchema } : {}) : "";
  const status = opts.trainingStatus ?? "completed";
  const trainingId = `plantedtraining${process.pid}x${++trainingSeq}`;
  await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1) ON CONFLICT DO NOTHING`, [userId]);
  await db.query(
    `INSERT INTO ${db.s}.user_models
       (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, current_training_id, error, version_updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $3::text IS NULL THEN NULL ELSE now() END)`,
    [userId, modelId, withVersion ? versionId : null, triggerWord(userId), status, trainingId, opts.error ?? null],
  );
  if (withVersion) {
    await db.query(
      `INSERT INTO ${db.s}.trainings
         (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, output_version, started_at, finished_at, identity_check)
       VALUES ($1, $2, $3, $4, $5, 'completed', 'succeeded', $6, now(), now(), 'passed')`,
      [
        userId,
        `${trainingId}done`,
        TRAINER_REF,
        modelId,
        JSON.stringify({ input_images: "https://example.invalid/images.zip", trigger_word: triggerWord(userId) }),
        versionId,
      ],
    );
  }
  return { userId, modelId, versionId, ref: `${modelId}:${versionId}` };
}

/** What the emulator wrote into an output PNG's tEXt chunk (decodePng also checks every CRC). */
export function emulatorTextOf(png: Buffer): { prediction: string; seed: number; index: number; version: string } {
  return JSON.parse(decodePng(png).text.emulator ?? "null");
}
