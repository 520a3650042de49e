/**
 * Claims of `reconcile`: each unfinished row is taken by one process at a time. A claim is one
 * short statement (`FOR UPDATE SKIP LOCKED`: a row another process is claiming, or a webhook is
 * writing, is skipped, never waited for) that moves the row's `reconcile_after` a lease ahead;
 * the work happens outside any transaction; `releaseClaim` then moves it a short interval ahead,
 * so that other processes in the same round do not check the row again. A reconciler that dies
 * leaves a claim that lapses with its lease.
 */
import type { GenerationRow } from "./generations.js";
import type { TrainingRow } from "./trainings.js";
import type { Queryable } from "./types.js";

/** The predicate of the partial index `trainings_unfinished` (migration 0003). */
export const UNFINISHED_TRAINING = `status IN ('pending', 'training')`;
/** The predicate of the partial index `generations_unfinished` (migration 0003): keep them equal. */
export const UNFINISHED_GENERATION =
  `(status IN ('pending', 'unknown', 'starting', 'processing')` +
  ` OR (status = 'succeeded' AND (outputs IS NULL OR outputs @> '[{"file": null}]'::jsonb)))`;

export interface ClaimTimes {
  /** How long a claim holds before another process may take the row. */
  leaseMs: number;
  /** When the pass began (database clock): a row checked or claimed since then is not taken again. */
  since: Date;
}

export interface GenerationAges {
  /** A create without an answer, or a prediction nobody follows, is taken once recorded this long ago. */
  settleAfterMs: number;
  /** A succeeded generation's missing files are fetched once it ended this long ago (its own process downloads first)... */
  downloadAfterMs: number;
  /** ...and until this long after it ended (Replicate deletes outputs an hour after the run). */
  downloadUntilMs: number;
}

const ms = (param: string) => `${param}::double precision * interval '1 millisecond'`;

/** Takes up to `limit` unfinished trainings no other process holds, oldest first. */
export async function claimTrainings(db: Queryable, s: string, limit: number, times: ClaimTimes): Promise<TrainingRow[]> {
  const { rows } = await db.query<TrainingRow>(
    `UPDATE ${s}.trainings t SET reconcile_after = now() + ${ms("$2")}
      WHERE t.id IN (
        SELECT id FROM ${s}.trainings
         WHERE ${UNFINISHED_TRAINING} AND (reconcile_after IS NULL OR reconcile_after <= $3::timestamptz)
         ORDER BY id LIMIT $1
           FOR UPDATE SKIP LOCKED)
      RETURNING t.*`,
    [limit, times.leaseMs, times.since],
  );
  return rows.sort((a, b) => a.id - b.id);
}

/**
 * Takes up to `limit` generations that need a reconciler: a create with no answer or a prediction
 * nobody follows (recorded `settleAfterMs` ago), or a succeeded one whose files are missing, with
 * its folder recorded, while Replicate still has them.
 */
export async function claimGenerations(
  db: Queryable,
  s: string,
  limit: number,
  times: ClaimTimes & GenerationAges,
): Promise<GenerationRow[]> {
  const { rows } = await db.query<GenerationRow>(
    `UPDATE ${s}.generations g SET reconcile_after = now() + ${ms("$2")}
      WHERE g.id IN (
        SELECT id FROM ${s}.generations
         WHERE ${UNFINISHED_GENERATION}
           AND (reconcile_after IS NULL OR reconcile_after <= $6::timestamptz)
           AND CASE WHEN status = 'succeeded'
                    THEN out_dir IS NOT NULL AND finished_at <= now() - ${ms("$4")} AND finished_at > now() - ${ms("$5")}
                    ELSE created_at <= now() - ${ms("$3")} END
         ORDER BY id LIMIT $1
           FOR UPDATE SKIP LOCKED)
      RETURNING g.*`,
    [limit, times.leaseMs, times.settleAfterMs, times.downloadAfterMs, times.downloadUntilMs, times.since],
  );
  return rows.sort((a, b) => a.id - b.id);
}

/** Ends a claim: the row may be taken again `recheckAfterMs` from now (null: by anyone, at once). */
export async function releaseClaim(
  db: Queryable,
  s: string,
  table: "trainings" | "generations",
  id: number,
  recheckAfterMs: number | null,
): Promise<void> {
  await db.query(
    `UPDATE ${s}.${table} SET reconcile_after = CASE WHEN $2::double precision IS NULL THEN NULL ELSE now() + ${ms("$2")} END WHERE id = $1`,
    [id, recheckAfterMs],
  );
}
