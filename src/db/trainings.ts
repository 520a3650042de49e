/**
 * Queries on `trainings`. An active row (pending|training) is the user's one running training:
 * the partial unique index `trainings_one_active_per_user` decides every race, and a row that
 * reached a terminal status is never changed again (every write below is guarded on that).
 */
import { settleCte } from "./spending.js";
import type { ProcessHolder } from "../process-holder.js";
import type { Queryable } from "./types.js";
import type { TrainingStatus } from "./user-models.js";

export interface TrainingProgressValue {
  step: number;
  total: number;
  percent: number;
  etaSeconds?: number;
}

export interface TrainingRow {
  id: number;
  user_id: string;
  replicate_training_id: string | null;
  trainer_version: string;
  destination: string;
  input: Record<string, unknown>;
  input_images_url: string | null;
  manifest: unknown;
  /** The photo set passed preparation (src/datasets); `dataset` says what preparation did. */
  dataset_prepared: boolean;
  dataset: Record<string, unknown> | null;
  /** What vouches for the photos' faces: the identity check, or the operator's --replace-identity; null: nothing. */
  identity_check: "passed" | "replaced" | null;
  status: TrainingStatus;
  replicate_status: string | null;
  output_version: string | null;
  progress: TrainingProgressValue | null;
  predict_time: number | null;
  total_time: number | null;
  /** USD per second recorded when the training ended (exact decimal string). */
  price_per_second: string | null;
  /** predict_time x price_per_second, exact; null until it ended (or when Replicate gave no predict_time). */
  cost_usd: string | null;
  /** What was reserved against the user's budget when it was claimed. */
  estimate_usd: string;
  error: string | null;
  operator: string | null;
  /** The process that claimed a pending row (null on rows older than migration 0003). */
  holder: ProcessHolder | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export const ONE_ACTIVE_TRAINING_INDEX = "trainings_one_active_per_user";

/** True when `err` is the unique violation of the one-active-training index (pg and PGlite alike). */
export function isActiveTrainingConflict(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== "23505") return false;
  return e.constraint === ONE_ACTIVE_TRAINING_INDEX || String(e.message ?? "").includes(ONE_ACTIVE_TRAINING_INDEX);
}

/** Claims the user's active slot; throws the unique violation when another training is active. */
export async function insertPendingTraining(
  db: Queryable,
  s: string,
  row: {
    userId: string;
    trainerVersion: string;
    destination: string;
    input: Record<string, unknown>;
    manifest: unknown;
    operator: string | null;
    /** The summary of the prepared set; the row then records that the set passed preparation. */
    dataset?: Record<string, unknown>;
    /** Reserved against the budget in the same transaction (reserveSpending); "0" when nothing was. */
    estimateUsd?: string;
    holder: ProcessHolder;
  },
): Promise<TrainingRow> {
  const { rows } = await db.query<TrainingRow>(
    `INSERT INTO ${s}.trainings (user_id, trainer_version, destination, input, manifest, operator, status, dataset_prepared, dataset, estimate_usd, holder)
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9::numeric, $10) RETURNING *`,
    [
      row.userId,
      row.trainerVersion,
      row.destination,
      JSON.stringify(row.input),
      JSON.stringify(row.manifest ?? null),
      row.operator,
      row.dataset !== undefined,
      row.dataset === undefined ? null : JSON.stringify(row.dataset),
      row.estimateUsd ?? "0",
      JSON.stringify(row.holder),
    ],
  );
  return rows[0]!;
}

export async function getTrainingRow(db: Queryable, s: string, id: number): Promise<TrainingRow | null> {
  const { rows } = await db.query<TrainingRow>(`SELECT * FROM ${s}.trainings WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The row, locked until the transaction ends, so that concurrent reports apply one after another. */
export async function lockTrainingRow(db: Queryable, s: string, id: number): Promise<TrainingRow | null> {
  const { rows } = await db.query<TrainingRow>(`SELECT * FROM ${s}.trainings WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ?? null;
}

export async function getActiveTraining(db: Queryable, s: string, userId: string): Promise<TrainingRow | null> {
  const { rows } = await db.query<TrainingRow>(
    `SELECT * FROM ${s}.trainings WHERE user_id = $1 AND status IN ('pending', 'training')`,
    [userId],
  );
  return rows[0] ?? null;
}

export async function getLatestTraining(db: Queryable, s: string, userId: string): Promise<TrainingRow | null> {
  const { rows } = await db.query<TrainingRow>(
    `SELECT * FROM ${s}.trainings WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
    [userId],
  );
  return rows[0] ?? null;
}

/**
 * The row of a Replicate training: by its id, or else the pending row (no id stored yet) whose
 * recorded upload it was created from. One statement, so a row storing its id meanwhile is found
 * one way or the other.
 */
export async function findTrainingForReplicate(
  db: Queryable,
  s: string,
  replicateId: string,
  inputImagesUrl: string | null,
): Promise<TrainingRow | null> {
  const { rows } = await db.query<TrainingRow>(
    `SELECT * FROM ${s}.trainings
     WHERE replicate_training_id = $1
        OR ($2::text IS NOT NULL AND input_images_url = $2 AND status = 'pending' AND replicate_training_id IS NULL)
     ORDER BY (replicate_training_id = $1) DESC NULLS LAST
     LIMIT 1`,
    [replicateId, inputImagesUrl],
  );
  return rows[0] ?? null;
}

/** The claiming process gives a pending row up (it stays pending for reconcile.ts to settle). */
export async function letGoOfPendingTraining(db: Queryable, s: string, id: number): Promise<void> {
  await db.query(
    `UPDATE ${s}.trainings SET holder = holder || jsonb_build_object('exitedAt', now()), updated_at = now()
     WHERE id = $1 AND status = 'pending' AND holder IS NOT NULL`,
    [id],
  );
}

/** Shows that the process starting this training is alive; the stale-pending rule counts from here. */
export async function touchPendingTraining(db: Queryable, s: string, id: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${s}.trainings SET updated_at = now() WHERE id = $1 AND status = 'pending' AND replicate_training_id IS NULL`,
    [id],
  );
  return rowCount === 1;
}

/**
 * Records the exact input (with the upload's URL) before the create call. False when the row is
 * no longer a pending row of ours (a reconciler or `cancel` settled it): the caller must not create.
 */
export async function recordTrainingInput(
  db: Queryable,
  s: string,
  id: number,
  input: Record<string, unknown>,
  inputImagesUrl: string,
  manifest: unknown,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${s}.trainings SET input = $2, input_images_url = $3, manifest = $4, updated_at = now()
     WHERE id = $1 AND status = 'pending' AND replicate_training_id IS NULL AND input_images_url IS NULL`,
    [id, JSON.stringify(input), inputImagesUrl, JSON.stringify(manifest ?? null)],
  );
  return rowCount === 1;
}

export interface TrainingUpdate {
  replicateTrainingId: string;
  status: TrainingStatus;
  replicateStatus: string;
  progress: TrainingProgressValue | null;
  predictTime: number | null;
  totalTime: number | null;
  /** USD per second: recorded, with the cost, when the status is final. */
  pricePerSecond: string;
  error: string | null;
  outputVersion: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

/**
 * Applies what Replicate says about the row's training. Adopts the Replicate id on a pending row
 * that has none yet. Returns null (and changes nothing) when the row is already terminal or
 * belongs to another Replicate training.
 */
/**
 * Applies what Replicate says. Reaching a final state records the cost (predict_time x the price
 * given, exact numeric) and settles the budget reservation in the same statement.
 */
export async function updateTrainingState(db: Queryable, s: string, id: number, u: TrainingUpdate): Promise<TrainingRow | null> {
  const final = `$3 IN ('completed', 'failed', 'canceled')`;
  const { rows } = await db.query<TrainingRow>(
    `WITH updated AS (UPDATE ${s}.trainings SET
       replicate_training_id = $2,
       status = $3,
       replicate_status = $4,
       progress = COALESCE($5::jsonb, progress),
       predict_time = COALESCE($6, predict_time),
       error = $7,
       output_version = $8,
       started_at = COALESCE(started_at, $9::timestamptz),
       finished_at = CASE WHEN $3 IN ('completed', 'failed', 'canceled') THEN COALESCE($10::timestamptz, now()) ELSE NULL END,
       total_time = COALESCE($11, total_time),
       price_per_second = CASE WHEN ${final} THEN $12::numeric ELSE NULL END,
       cost_usd = CASE WHEN ${final} THEN COALESCE($6, predict_time)::numeric * $12::numeric ELSE NULL END,
       updated_at = now()
     WHERE id = $1 AND status IN ('pending', 'training')
       AND (replicate_training_id IS NULL OR replicate_training_id = $2)
     RETURNING *),
     ended AS (SELECT user_id, cost_usd, estimate_usd FROM updated WHERE ${final}),
     ${settleCte("ended", s)}
     SELECT * FROM updated`,
    [
      id,
      u.replicateTrainingId,
      u.status,
      u.replicateStatus,
      u.progress === null ? null : JSON.stringify(u.progress),
      u.predictTime,
      u.error,
      u.outputVersion,
      u.startedAt,
      u.finishedAt,
      u.totalTime,
      u.pricePerSecond,
    ],
  );
  return rows[0] ?? null;
}

/**
 * Ends a row that has no Replicate training (never created, or refused before the create).
 * `staleAfterMs` makes it conditional on the row not having been touched for that long, measured
 * on the database's clock so that processes on different machines agree.
 */
export async function failPendingTraining(
  db: Queryable,
  s: string,
  id: number,
  opts: { error: string; status?: "failed" | "canceled"; staleAfterMs?: number; onlyWithoutUpload?: boolean },
): Promise<TrainingRow | null> {
  // Nothing ran at Replicate: the reservation is released (cost_usd stays null, so 0 is spent).
  const { rows } = await db.query<TrainingRow>(
    `WITH ended AS (UPDATE ${s}.trainings SET status = $2, error = $3, finished_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'pending' AND replicate_training_id IS NULL
       AND ($4::double precision IS NULL OR updated_at < now() - $4::double precision * interval '1 millisecond')
       AND (NOT $5::boolean OR input_images_url IS NULL)
     RETURNING *),
     ${settleCte("ended", s)}
     SELECT * FROM ended`,
    [id, opts.status ?? "failed", opts.error, opts.staleAfterMs ?? null, opts.onlyWithoutUpload ?? false],
  );
  return rows[0] ?? null;
}

/** Undoes a claim that never reached Replicate's create call. False when the row was settled meanwhile. */
export async function deletePendingTraining(db: Queryable, s: string, id: number): Promise<boolean> {
  const { rows } = await db.query(
    `WITH ended AS (DELETE FROM ${s}.trainings WHERE id = $1 AND status = 'pending' AND replicate_training_id IS NULL
       RETURNING user_id, NULL::numeric AS cost_usd, estimate_usd),
     ${settleCte("ended", s)}
     SELECT user_id FROM ended`,
    [id],
  );
  return rows.length === 1;
}

/** Whether a pending row was last touched more than `ms` ago (database clock). */
export async function isPendingStale(db: Queryable, s: string, id: number, ms: number): Promise<boolean> {
  const { rows } = await db.query<{ stale: boolean }>(
    `SELECT updated_at < now() - $2::double precision * interval '1 millisecond' AS stale FROM ${s}.trainings WHERE id = $1`,
    [id, ms],
  );
  return rows[0]?.stale === true;
}

/** Points a pending row at the model of the owner its user was moved to (before any create). */
export async function setPendingDestination(db: Queryable, s: string, id: number, destination: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${s}.trainings SET destination = $2, updated_at = now() WHERE id = $1 AND status = 'pending' AND replicate_training_id IS NULL`,
    [id, destination],
  );
  return rowCount === 1;
}

/** What vouches for the training's photos: the identity check passed, or the operator replaced the identity. */
export async function setTrainingIdentityCheck(db: Queryable, s: string, id: number, check: "passed" | "replaced"): Promise<void> {
  await db.query(`UPDATE ${s}.trainings SET identity_check = $2 WHERE id = $1`, [id, check]);
}
