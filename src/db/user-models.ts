import type { Queryable } from "./types.js";

export type TrainingStatus = "pending" | "training" | "completed" | "failed" | "canceled";

export interface UserModelRow {
  user_id: string;
  replicate_model_id: string;
  /** The active version: set only from a succeeded training, kept while a retraining runs or fails. */
  replicate_version_id: string | null;
  trigger_word: string;
  training_status: TrainingStatus;
  current_training_id: string | null;
  error: string | null;
  version_updated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export async function getUserModel(db: Queryable, s: string, userId: string): Promise<UserModelRow | null> {
  const { rows } = await db.query<UserModelRow>(`SELECT * FROM ${s}.user_models WHERE user_id = $1`, [userId]);
  return rows[0] ?? null;
}
