/** The `erasures` table: an erasure's durable state while it runs, its tombstone afterwards. */
import { StateError } from "../errors.js";
import type { Queryable } from "./types.js";

export interface ErasureDeleted {
  versions: string[];
  model: boolean;
  files: string[];
  localFiles: string[];
  rows: number;
}

export interface ErasureRemaining {
  kind: string;
  id: string;
  why: string;
}

export interface ErasureRow {
  id: number;
  user_id: string;
  status: "erasing" | "erased";
  operator: string | null;
  model_id: string | null;
  deleted: Partial<ErasureDeleted>;
  remaining: ErasureRemaining[];
  started_at: Date;
  finished_at: Date | null;
}

/**
 * Refuses new work for a user being erased: called inside the transaction that claims the work
 * (the training slot, the generation row). The share lock on the users row waits for an erasure
 * being marked right now (which holds it for update), so a claim and a mark cannot cross: either
 * the claim commits first and the erasure sees its work, or the claim sees the erasure and refuses.
 */
export async function refuseIfErasing(tx: Queryable, s: string, userId: string): Promise<void> {
  await tx.query(`SELECT 1 FROM ${s}.users WHERE id = $1 FOR SHARE`, [userId]);
  const { rows } = await tx.query<{ id: number }>(`SELECT id FROM ${s}.erasures WHERE user_id = $1 AND status = 'erasing'`, [userId]);
  if (rows.length > 0) {
    throw new StateError(
      "USER_ERASING",
      `User ${userId} is being erased; nothing new is started for them. Finish it with \`sselfie erase --user ${userId}\`.`,
      { userId },
    );
  }
}

/**
 * Marks the user as being erased: resumes the open erasure, or opens one. The users row is locked
 * for update while the mark is written (see refuseIfErasing). Null when there is nothing to erase:
 * no users row (never trained, or erased already) and no erasure left open.
 */
export async function openErasure(
  tx: Queryable,
  s: string,
  userId: string,
  operator: string | null,
): Promise<{ row: ErasureRow; resumed: boolean } | null> {
  const user = await tx.query(`SELECT 1 FROM ${s}.users WHERE id = $1 FOR UPDATE`, [userId]);
  const open = await tx.query<ErasureRow>(`SELECT * FROM ${s}.erasures WHERE user_id = $1 AND status = 'erasing'`, [userId]);
  if (open.rows[0]) return { row: open.rows[0], resumed: true };
  if (user.rows.length === 0) return null;
  const { rows } = await tx.query<ErasureRow>(
    `INSERT INTO ${s}.erasures (user_id, operator, model_id)
     VALUES ($1, $2, (SELECT replicate_model_id FROM ${s}.user_models WHERE user_id = $1))
     RETURNING *`,
    [userId, operator],
  );
  return { row: rows[0]!, resumed: false };
}

/** Records progress: what was deleted so far (and the model, learnt later when it was not known). */
export async function saveErasureProgress(db: Queryable, s: string, id: number, deleted: ErasureDeleted, modelId: string | null): Promise<void> {
  await db.query(`UPDATE ${s}.erasures SET deleted = $2::jsonb, model_id = COALESCE(model_id, $3), updated_at = now() WHERE id = $1`, [
    id,
    JSON.stringify(deleted),
    modelId,
  ]);
}

/**
 * Deletes every row of the user (in the caller's transaction) and turns the erasure into its
 * tombstone. Returns how many rows went.
 */
export async function deleteUserRows(
  tx: Queryable,
  s: string,
  erasure: { id: number; userId: string; modelId: string | null; deleted: ErasureDeleted; remaining: ErasureRemaining[] },
): Promise<number> {
  const u = [erasure.userId];
  let rows = 0;
  rows += (await tx.query(`DELETE FROM ${s}.generations WHERE user_id = $1`, u)).rowCount;
  rows += (await tx.query(`DELETE FROM ${s}.trainings WHERE user_id = $1`, u)).rowCount;
  rows += (await tx.query(`DELETE FROM ${s}.user_models WHERE user_id = $1`, u)).rowCount;
  if (erasure.modelId) {
    rows += (await tx.query(`DELETE FROM ${s}.model_version_schemas WHERE model_id = $1`, [erasure.modelId])).rowCount;
  }
  // Their spending totals and own budget (migration 0007) go with them; not counted in `rows`, which counts their work.
  await tx.query(`DELETE FROM ${s}.user_spending WHERE user_id = $1`, u);
  await tx.query(`DELETE FROM ${s}.budgets WHERE user_id = $1`, u);
  rows += (await tx.query(`DELETE FROM ${s}.users WHERE id = $1`, u)).rowCount;
  const deleted = { ...erasure.deleted, rows: erasure.deleted.rows + rows };
  await tx.query(
    `UPDATE ${s}.erasures SET status = 'erased', deleted = $2::jsonb, remaining = $3::jsonb, finished_at = now(), updated_at = now()
     WHERE id = $1`,
    [erasure.id, JSON.stringify(deleted), JSON.stringify(erasure.remaining)],
  );
  return rows;
}
