/**
 * What a training or generation is expected to cost, reserved against the user's budget before
 * anything is paid for. The estimate is in GPU seconds, priced at the current price:
 *   - generation: the median predict_time of the user's last 20 succeeded generations, else
 *     DEFAULT_GENERATION_SECONDS (3 images x 35 steps of FLUX dev on an H100);
 *   - training: steps x the median seconds per step of the user's last 5 completed trainings,
 *     else steps x DEFAULT_TRAINING_SECONDS_PER_STEP.
 * Never below MIN_ESTIMATE_SECONDS, so that a budget of 0 refuses everything. The median follows
 * what the user's jobs really take, and one outlier does not move it; the estimate only needs to
 * be good enough that the cap holds: the real cost replaces it when the job ends.
 */
import type { Queryable } from "../db/types.js";

export const DEFAULT_GENERATION_SECONDS = 15;
export const DEFAULT_TRAINING_SECONDS_PER_STEP = 1.5;
/** The trainer's own default when `steps` is not given. */
export const DEFAULT_TRAINING_STEPS = 1000;
export const MIN_ESTIMATE_SECONDS = 1;
const RECENT_GENERATIONS = 20;
const RECENT_TRAININGS = 5;

/** Exact USD (decimal string) for `seconds` at `pricePerSecond`, computed by the database as numeric. */
async function price(db: Queryable, seconds: number, pricePerSecond: string): Promise<string> {
  const { rows } = await db.query<{ usd: string }>(`SELECT trim_scale(round($1::numeric, 3) * $2::numeric)::text AS usd`, [
    Math.max(seconds, MIN_ESTIMATE_SECONDS),
    pricePerSecond,
  ]);
  return rows[0]!.usd;
}

export async function estimateGenerationUsd(db: Queryable, s: string, userId: string, pricePerSecond: string): Promise<string> {
  const { rows } = await db.query<{ median: number | null }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY predict_time) AS median
       FROM (SELECT predict_time FROM ${s}.generations
              WHERE user_id = $1 AND price_per_second IS NOT NULL AND status = 'succeeded' AND predict_time IS NOT NULL
              ORDER BY finished_at DESC LIMIT ${RECENT_GENERATIONS}) recent`,
    [userId],
  );
  return price(db, rows[0]?.median ?? DEFAULT_GENERATION_SECONDS, pricePerSecond);
}

export async function estimateTrainingUsd(
  db: Queryable,
  s: string,
  userId: string,
  steps: number | undefined,
  pricePerSecond: string,
): Promise<string> {
  const { rows } = await db.query<{ median: number | null }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY per_step) AS median
       FROM (SELECT predict_time / COALESCE((input->>'steps')::int, ${DEFAULT_TRAINING_STEPS}) AS per_step FROM ${s}.trainings
              WHERE user_id = $1 AND price_per_second IS NOT NULL AND status = 'completed' AND predict_time IS NOT NULL
              ORDER BY finished_at DESC LIMIT ${RECENT_TRAININGS}) recent`,
    [userId],
  );
  const perStep = rows[0]?.median ?? DEFAULT_TRAINING_SECONDS_PER_STEP;
  return price(db, perStep * (steps ?? DEFAULT_TRAINING_STEPS), pricePerSecond);
}
