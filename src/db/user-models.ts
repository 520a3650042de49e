import type { Queryable } from "./types.js";

export type TrainingStatus = "pending" | "training" | "completed" | "failed" | "canceled";

export interface UserModelRow {
  user_id: string;
  replicate_model_id: string;
  /** The Replicate owner holding the user's model: the owner part of replicate_model_id (generated). */
  owner: string;
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

/**
 * Creates the user's model row, or marks a new training pending on the existing one. The active
 * version (`replicate_version_id`) is left as it is: retraining never takes it away. Returns the
 * row as it now is, so the caller can check that its model id is the one it computed.
 */
export async function upsertUserModelForTraining(
  db: Queryable,
  s: string,
  row: { userId: string; modelId: string; triggerWord: string },
): Promise<UserModelRow> {
  const { rows } = await db.query<UserModelRow>(
    `INSERT INTO ${s}.user_models (user_id, replicate_model_id, trigger_word, training_status)
     VALUES ($1, $2, $3, 'pending')
     ON CONFLICT (user_id) DO UPDATE SET
       training_status = 'pending', current_training_id = NULL, error = NULL, updated_at = now()
     RETURNING *`,
    [row.userId, row.modelId, row.triggerWord],
  );
  return rows[0]!;
}

/**
 * Mirrors the latest training's outcome. A version is written only when given (a verified
 * succeeded training); every other outcome keeps the active version.
 */
export async function setUserModelTraining(
  db: Queryable,
  s: string,
  userId: string,
  u: { status: TrainingStatus; trainingId: string | null; error: string | null; versionId?: string | null },
): Promise<UserModelRow | null> {
  const { rows } = await db.query<UserModelRow>(
    `UPDATE ${s}.user_models SET
       training_status = $2,
       current_training_id = COALESCE($3, current_training_id),
       error = $4,
       replicate_version_id = COALESCE($5, replicate_version_id),
       version_updated_at = CASE WHEN $5::text IS NULL THEN version_updated_at ELSE now() END,
       updated_at = now()
     WHERE user_id = $1
     RETURNING *`,
    [userId, u.status, u.trainingId, u.error, u.versionId ?? null],
  );
  return rows[0] ?? null;
}

/** The row, locked until the transaction ends. */
export async function lockUserModel(db: Queryable, s: string, userId: string): Promise<UserModelRow | null> {
  const { rows } = await db.query<UserModelRow>(`SELECT * FROM ${s}.user_models WHERE user_id = $1 FOR UPDATE`, [userId]);
  return rows[0] ?? null;
}

/**
 * Puts the training fields back as they were before a claim that never reached Replicate
 * (`previous` null: the claim created the row, so it goes, unless a version appeared meanwhile).
 */
export async function restoreUserModel(db: Queryable, s: string, userId: string, previous: UserModelRow | null): Promise<void> {
  if (!previous) {
    await db.query(`DELETE FROM ${s}.user_models WHERE user_id = $1 AND replicate_version_id IS NULL`, [userId]);
    return;
  }
  await db.query(
    `UPDATE ${s}.user_models SET training_status = $2, current_training_id = $3, error = $4, updated_at = now()
     WHERE user_id = $1 AND (replicate_version_id IS NOT NULL OR $2 <> 'completed')`,
    [userId, previous.training_status, previous.current_training_id, previous.error],
  );
}

/** The owner of a user's model with this id, or null when no user has it. */
export async function findModelOwner(db: Queryable, s: string, modelId: string): Promise<string | null> {
  const { rows } = await db.query<{ owner: string }>(`SELECT owner FROM ${s}.user_models WHERE replicate_model_id = $1`, [modelId]);
  return rows[0]?.owner ?? null;
}

/**
 * The user's face reference (mean descriptor of the set behind the active version), or null.
 * Read only to compare with a new set of the same user; never returned to callers.
 */
export async function getFaceReference(db: Queryable, s: string, userId: string): Promise<Float32Array | null> {
  const { rows } = await db.query<{ face_reference: number[] | null }>(`SELECT face_reference FROM ${s}.user_models WHERE user_id = $1`, [
    userId,
  ]);
  const ref = rows[0]?.face_reference;
  return ref ? Float32Array.from(ref) : null;
}

/** The face of the set of the training just claimed (null: no identity check vouches for it). */
export async function setPendingFaceReference(db: Queryable, s: string, userId: string, mean: Float32Array | null): Promise<void> {
  await db.query(`UPDATE ${s}.user_models SET face_reference_pending = $2::real[] WHERE user_id = $1`, [
    userId,
    mean ? Array.from(mean) : null,
  ]);
}

/** A training completed: its set's face becomes the user's reference. */
export async function promotePendingFaceReference(db: Queryable, s: string, userId: string): Promise<void> {
  await db.query(`UPDATE ${s}.user_models SET face_reference = face_reference_pending, face_reference_pending = NULL WHERE user_id = $1`, [userId]);
}
