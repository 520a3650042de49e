/** What the remote audit checks, read from the database in the audit's snapshot. */
import type { Queryable } from "../db/types.js";

export interface RemoteTarget {
  userId: string;
  modelId: string;
  /** The active version, or null. */
  versionId: string | null;
  /** A training of the user reached Replicate, so the model must exist there. */
  started: boolean;
  /** Trainings whose outcome at Replicate decides "the latest succeeded training", newest first. */
  trainings: RemoteTrainingRef[];
}

export interface RemoteTrainingRef {
  id: number;
  replicateTrainingId: string;
  /** Our status for it (completed = we recorded it as succeeded). */
  status: string;
  outputVersion: string | null;
}

/**
 * Every user with a model row, with the trainings that can be "the latest succeeded" one: the
 * last one recorded completed and every later one (a later one may have succeeded at Replicate
 * without being recorded yet). Two queries, whatever the number of users.
 */
export async function loadRemoteTargets(db: Queryable, s: string, userId: string | null): Promise<RemoteTarget[]> {
  const params = userId === null ? [] : [userId];
  const scope = (column: string) => (userId === null ? "true" : `${column} = $1::text`);
  const models = await db.query<{ user_id: string; replicate_model_id: string; replicate_version_id: string | null; started: boolean }>(
    `SELECT m.user_id, m.replicate_model_id, m.replicate_version_id, (st.user_id IS NOT NULL) AS started
     FROM ${s}.user_models m
     LEFT JOIN (SELECT DISTINCT user_id FROM ${s}.trainings WHERE replicate_training_id IS NOT NULL AND ${scope("user_id")}) st
       ON st.user_id = m.user_id
     WHERE ${scope("m.user_id")}
     ORDER BY m.user_id`,
    params,
  );
  const trainings = await db.query<{ user_id: string; id: number; replicate_training_id: string; status: string; output_version: string | null }>(
    `WITH last_completed AS (
       SELECT user_id, max(created_at) AS created_at FROM ${s}.trainings
       WHERE status = 'completed' AND replicate_training_id IS NOT NULL AND ${scope("user_id")}
       GROUP BY user_id)
     SELECT t.user_id, t.id, t.replicate_training_id, t.status, t.output_version
     FROM ${s}.trainings t LEFT JOIN last_completed lc ON lc.user_id = t.user_id
     WHERE t.replicate_training_id IS NOT NULL AND (lc.created_at IS NULL OR t.created_at >= lc.created_at) AND ${scope("t.user_id")}
     ORDER BY t.user_id, t.created_at DESC, t.id DESC`,
    params,
  );
  const byUser = new Map<string, RemoteTrainingRef[]>();
  for (const t of trainings.rows) {
    const list = byUser.get(t.user_id) ?? [];
    list.push({ id: t.id, replicateTrainingId: t.replicate_training_id, status: t.status, outputVersion: t.output_version });
    byUser.set(t.user_id, list);
  }
  return models.rows.map((m) => ({
    userId: m.user_id,
    modelId: m.replicate_model_id,
    versionId: m.replicate_version_id,
    started: m.started,
    trainings: byUser.get(m.user_id) ?? [],
  }));
}
