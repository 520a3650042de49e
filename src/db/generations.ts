import { reserveCte, settleCte } from "./spending.js";
import type { ProcessHolder } from "../process-holder.js";
import { UNFINISHED_GENERATION } from "./reconcile-claims.js";
import type { Queryable } from "./types.js";

export type GenerationStatus = "pending" | "unknown" | "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";

/** One output of a prediction: its URL, and the verified local file once downloaded. */
export interface GenerationOutput {
  url: string;
  /** Absolute path of the verified PNG, or null when not (yet) downloaded. */
  file: string | null;
  size: number | null;
  sha256: string | null;
  /** Why the download failed, when it did. */
  error?: string;
}

export interface GenerationRow {
  id: number;
  user_id: string;
  /** `{modelId}:{versionId}`, exactly as sent. */
  version_ref: string;
  /** The user's completed training that made the version (migration 0010). */
  training_id: number;
  prompt: string;
  /** The exact `input` object sent. */
  input: Record<string, unknown>;
  input_hash: string;
  seed: number;
  status: GenerationStatus;
  replicate_prediction_id: string | null;
  outputs: GenerationOutput[] | null;
  error: string | null;
  predict_time: number | null;
  total_time: number | null;
  /** USD per second recorded when it ended (exact decimal string). */
  price_per_second: string | null;
  /** predict_time x price_per_second, exact; null until it ended (or without predict_time). */
  cost_usd: string | null;
  /** What was reserved against the user's budget when it was recorded. */
  estimate_usd: string;
  operator: string | null;
  /** The process making it (null on rows older than migration 0004). */
  holder: ProcessHolder | null;
  /** The folder its images go to (absolute), so that `reconcile` can download them there later. */
  out_dir: string | null;
  created_at: Date;
  finished_at: Date | null;
  updated_at: Date;
}

export interface NewGeneration {
  userId: string;
  versionRef: string;
  /** The user's completed training that made `versionRef` (completedTrainingOfVersion). */
  trainingId: number;
  prompt: string;
  input: Record<string, unknown>;
  inputHash: string;
  seed: number;
  operator: string | null;
  outDir?: string | null;
  holder?: ProcessHolder | null;
}

/** The user's unfinished generations (all users' when `userId` is null), oldest first. */
export async function listUnfinishedGenerations(
  db: Queryable,
  s: string,
  filter: { userId: string | null; limit?: number },
): Promise<GenerationRow[]> {
  const { rows } = await db.query<GenerationRow>(
    `SELECT * FROM ${s}.generations
      WHERE ${UNFINISHED_GENERATION} AND ($1::text IS NULL OR user_id = $1)
      ORDER BY user_id, id LIMIT $2`,
    [filter.userId, filter.limit ?? 1000],
  );
  return rows;
}

/**
 * Takes over an unfinished generation from `previous` (its recorded holder, gone): only one
 * process finishes it. Returns the row, or null when someone else took it first.
 */
export async function takeOverGeneration(
  db: Queryable,
  s: string,
  id: number,
  previous: ProcessHolder | null,
  holder: ProcessHolder,
): Promise<GenerationRow | null> {
  const { rows } = await db.query<GenerationRow>(
    `UPDATE ${s}.generations SET holder = $3::jsonb, updated_at = now()
      WHERE id = $1 AND holder IS NOT DISTINCT FROM $2::jsonb RETURNING *`,
    [id, previous === null ? null : JSON.stringify(previous), JSON.stringify(holder)],
  );
  return rows[0] ?? null;
}

/**
 * Recorded before the prediction is created, so a crash cannot lose a paid prediction.
 * Records the generation and reserves `estimateUsd` against the user's budget in one statement:
 * nothing is inserted (null) when spent + reserved + estimate would exceed the cap. The user needs
 * a `user_spending` row (ensureSpendingRow).
 */
export async function insertGenerationWithinBudget(
  db: Queryable,
  s: string,
  g: NewGeneration & { estimateUsd: string },
): Promise<GenerationRow | null> {
  const { rows } = await db.query<GenerationRow>(
    `WITH ${reserveCte(s, "$1", "$9")}
     INSERT INTO ${s}.generations (user_id, version_ref, prompt, input, input_hash, seed, operator, out_dir, estimate_usd, holder, training_id)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10::jsonb, $11 FROM reserved RETURNING *`,
    [
      g.userId,
      g.versionRef,
      g.prompt,
      JSON.stringify(g.input),
      g.inputHash,
      g.seed,
      g.operator,
      g.outDir ?? null,
      g.estimateUsd,
      g.holder ? JSON.stringify(g.holder) : null,
      g.trainingId,
    ],
  );
  return rows[0] ?? null;
}

/**
 * The create call did not yield a prediction: `failed` when Replicate refused it (nothing was
 * created), `unknown` when it may have been created. Only a record still waiting is changed, and
 * with `recordedAtLeastMsAgo` only one recorded that long ago by the database's clock.
 */
export async function markGenerationNotCreated(
  db: Queryable,
  s: string,
  id: number,
  outcome: { status: "failed" | "unknown"; error: string; recordedAtLeastMsAgo?: number },
): Promise<GenerationRow | null> {
  // `failed`: nothing was created, so the reservation is released (cost_usd stays null: 0 spent).
  const { rows } = await db.query<GenerationRow>(
    `WITH updated AS (UPDATE ${s}.generations
        SET status = $2::text, error = $3,
            finished_at = CASE WHEN $2::text = 'failed' THEN now() ELSE finished_at END, updated_at = now()
      WHERE id = $1 AND replicate_prediction_id IS NULL AND status IN ('pending', 'unknown')
        AND ($4::float8 IS NULL OR created_at <= now() - $4::float8 * interval '1 millisecond')
      RETURNING *),
     ended AS (SELECT user_id, cost_usd, estimate_usd FROM updated WHERE $2::text = 'failed'),
     ${settleCte("ended", s)}
     SELECT * FROM updated`,
    [id, outcome.status, outcome.error, outcome.recordedAtLeastMsAgo ?? null],
  );
  return rows[0] ?? null;
}

export interface PredictionUpdate {
  predictionId: string;
  status: Exclude<GenerationStatus, "pending" | "unknown">;
  error: string | null;
  predictTime: number | null;
  totalTime: number | null;
  /** USD per second: recorded, with the cost, when the status becomes final. */
  pricePerSecond: string;
  /** When Replicate says the prediction ended (terminal statuses only). */
  completedAt: Date | null;
  /** Output URLs of a succeeded prediction; stored (not yet downloaded) only when no outputs are recorded. */
  outputUrls: string[] | null;
}

const rank = (expr: string) =>
  `(CASE ${expr} WHEN 'starting' THEN 1 WHEN 'processing' THEN 2 ` +
  `WHEN 'succeeded' THEN 3 WHEN 'failed' THEN 3 WHEN 'canceled' THEN 3 WHEN 'aborted' THEN 3 ELSE 0 END)`;

/**
 * Applies what Replicate said about the generation's prediction. Statuses only move forward
 * (a late `processing` webhook never undoes `succeeded`) and a terminal status is final; outputs
 * already recorded (downloaded files) are never replaced. Returns the row, or null when the row
 * belongs to another prediction.
 */
export async function applyPredictionToGeneration(
  db: Queryable,
  s: string,
  id: number,
  u: PredictionUpdate,
): Promise<GenerationRow | null> {
  const advances = `(${rank("g.status")} < 3 AND ${rank("g.status")} <= ${rank("$3::text")})`;
  const terminal = `${rank("$3::text")} = 3`;
  // `previous` locks the row first and reads its latest committed version, so exactly one of
  // several concurrent writers (webhook, poll, reconcile) sees it move into a final state: that
  // one records the cost and settles the budget reservation in this same statement.
  const { rows } = await db.query<GenerationRow>(
    `WITH previous AS (SELECT id, status AS was FROM ${s}.generations WHERE id = $1 FOR UPDATE),
     updated AS (UPDATE ${s}.generations g SET
        replicate_prediction_id = COALESCE(g.replicate_prediction_id, $2),
        status       = CASE WHEN ${advances} THEN $3::text ELSE g.status END,
        error        = CASE WHEN ${advances} THEN $4 ELSE g.error END,
        predict_time = CASE WHEN ${advances} THEN COALESCE($5, g.predict_time) ELSE g.predict_time END,
        total_time   = CASE WHEN ${advances} THEN COALESCE($8, g.total_time) ELSE g.total_time END,
        price_per_second = CASE WHEN ${advances} AND ${terminal} THEN $9::numeric ELSE g.price_per_second END,
        cost_usd     = CASE WHEN ${advances} AND ${terminal} THEN COALESCE($5, g.predict_time)::numeric * $9::numeric ELSE g.cost_usd END,
        finished_at  = CASE WHEN ${advances} AND ${terminal} THEN COALESCE($6, now()) ELSE g.finished_at END,
        outputs      = CASE WHEN g.outputs IS NULL AND $7::jsonb IS NOT NULL THEN $7::jsonb ELSE g.outputs END,
        updated_at   = now()
      FROM previous
      WHERE g.id = previous.id AND (g.replicate_prediction_id IS NULL OR g.replicate_prediction_id = $2)
      RETURNING g.*, ${rank("previous.was")} < 3 AND ${rank("g.status")} = 3 AS ended_now),
     ended AS (SELECT user_id, cost_usd, estimate_usd FROM updated WHERE ended_now),
     ${settleCte("ended", s)}
     SELECT * FROM updated`,
    [
      id,
      u.predictionId,
      u.status,
      u.error,
      u.predictTime,
      u.completedAt,
      u.outputUrls ? JSON.stringify(u.outputUrls.map((url) => ({ url, file: null, size: null, sha256: null }))) : null,
      u.totalTime,
      u.pricePerSecond,
    ],
  );
  const row = rows[0] as (GenerationRow & { ended_now?: boolean }) | undefined;
  if (!row) return null;
  delete row.ended_now;
  return row;
}

/** Records the downloaded (and failed) outputs, in the order of the prediction's output. */
export async function setGenerationOutputs(db: Queryable, s: string, id: number, outputs: GenerationOutput[]): Promise<void> {
  await db.query(`UPDATE ${s}.generations SET outputs = $2::jsonb, updated_at = now() WHERE id = $1`, [id, JSON.stringify(outputs)]);
}

export async function getGeneration(db: Queryable, s: string, id: number): Promise<GenerationRow | null> {
  const { rows } = await db.query<GenerationRow>(`SELECT * FROM ${s}.generations WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function getGenerationByPredictionId(db: Queryable, s: string, predictionId: string): Promise<GenerationRow | null> {
  const { rows } = await db.query<GenerationRow>(`SELECT * FROM ${s}.generations WHERE replicate_prediction_id = $1`, [predictionId]);
  return rows[0] ?? null;
}

/**
 * Records whose create call ended without an answer, matching a prediction's exact version
 * reference and input hash (the input holds a random seed, so a match is the same request).
 */
export async function findUnattachedGenerations(
  db: Queryable,
  s: string,
  match: { versionRef: string; inputHash: string },
): Promise<GenerationRow[]> {
  const { rows } = await db.query<GenerationRow>(
    `SELECT * FROM ${s}.generations
      WHERE replicate_prediction_id IS NULL AND status IN ('pending', 'unknown')
        AND version_ref = $1 AND input_hash = $2
      ORDER BY id`,
    [match.versionRef, match.inputHash],
  );
  return rows;
}
