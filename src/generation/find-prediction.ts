/**
 * Finds the prediction a create call made when its answer was lost (a 5xx, a timeout, a dropped
 * connection). Replicate has no idempotency key to ask by, so the match is the recorded request
 * itself: the same `model:version` and the same input, whose random seed makes it one of a kind.
 * Replicate echoes the input back until it deletes it, an hour after the run.
 */
import type { SselfieContext } from "../context.js";
import { findUnattachedGenerations, getGenerationByPredictionId, type GenerationRow } from "../db/generations.js";
import { appendEvent } from "../db/operator-events.js";
import { StateError } from "../errors.js";
import { hashInput } from "../locked.js";
import type { Prediction } from "../replicate/schemas.js";
import { predictionVersionRef } from "./apply-prediction.js";

/**
 * The record is written just before the create, so its prediction is newer than the record; the
 * hour before it only absorbs a difference between our database's clock and Replicate's.
 */
export const SEARCH_WINDOW_MS = 60 * 60_000;
/** Ten of Replicate's pages: a busy account is searched no further in one go. */
export const DEFAULT_SEARCH_LIMIT = 1_000;

export type PredictionSearch =
  | { outcome: "found"; prediction: Prediction; examined: number }
  /** Several predictions of the recorded request that no other record claims. */
  | { outcome: "several"; predictionIds: string[]; examined: number }
  /** One prediction, but other unanswered records made the very same request (same explicit seed). */
  | { outcome: "shared"; prediction: Prediction; generationIds: number[]; examined: number }
  /**
   * `complete`: the list was read back past the window (or to its end) and no prediction of this
   * version lost its input before it could be compared; only then is "nothing was created" known.
   */
  | { outcome: "none"; complete: boolean; examined: number; limitReached: boolean; inputsDeleted: string[] };

/** The prediction is the very request recorded as `row`, or a StateError says why not. */
export function checkRecordedRequest(row: GenerationRow, prediction: Prediction): void {
  if (prediction.data_removed) {
    throw new StateError(
      "OUTPUTS_EXPIRED",
      `Prediction ${prediction.id}'s input and outputs were deleted by Replicate (an hour after it ran): it cannot be checked or downloaded.`,
      { generationId: row.id, predictionId: prediction.id },
    );
  }
  const ref = predictionVersionRef(prediction);
  if (ref !== row.version_ref || hashInput(prediction.input) !== row.input_hash) {
    throw new StateError(
      "PREDICTION_MISMATCH",
      `Prediction ${prediction.id} is not the request recorded as generation #${row.id} (its version or input differs).`,
      { generationId: row.id, predictionId: prediction.id, recordedVersion: row.version_ref, predictionVersion: ref },
    );
  }
}

/** Reads the account's predictions, newest first, for the one `row`'s create call made. */
export async function searchCreatedPrediction(
  ctx: SselfieContext,
  row: GenerationRow,
  opts: { limit?: number } = {},
): Promise<PredictionSearch> {
  const limit = opts.limit ?? DEFAULT_SEARCH_LIMIT;
  const since = row.created_at.getTime() - SEARCH_WINDOW_MS;
  const gateway = await ctx.gatewayForUser(row.user_id);
  const sameVersion: Prediction[] = [];
  let examined = 0;
  let limitReached = false;
  for await (const p of gateway.listPredictions()) {
    // Newest first: the first one older than the window ends the search. An unreadable date does not.
    if (Date.parse(p.created_at ?? "") < since) break;
    if (examined === limit) {
      limitReached = true;
      break;
    }
    examined++;
    if (predictionVersionRef(p) !== row.version_ref) continue;
    if (p.data_removed || hashInput(p.input) === row.input_hash) sameVersion.push(p);
  }

  // A prediction another record already owns is that record's (an explicit seed can repeat a request).
  const unclaimed: Prediction[] = [];
  for (const p of sameVersion) {
    const owner = await getGenerationByPredictionId(ctx.db, ctx.db.s, p.id);
    if (!owner || owner.id === row.id) unclaimed.push(p);
  }
  const matches = unclaimed.filter((p) => !p.data_removed);
  const inputsDeleted = unclaimed.filter((p) => p.data_removed).map((p) => p.id);

  if (matches.length > 1) return { outcome: "several", predictionIds: matches.map((p) => p.id), examined };
  if (matches.length === 1) {
    const prediction = matches[0]!;
    const others = (await findUnattachedGenerations(ctx.db, ctx.db.s, { versionRef: row.version_ref, inputHash: row.input_hash }))
      .map((g) => g.id)
      .filter((id) => id !== row.id);
    return others.length ? { outcome: "shared", prediction, generationIds: [row.id, ...others], examined } : { outcome: "found", prediction, examined };
  }
  return { outcome: "none", complete: !limitReached && inputsDeleted.length === 0, examined, limitReached, inputsDeleted };
}

/** The event that says a lost create's prediction was found and attached to its record. */
export function recordAttached(ctx: SselfieContext, actor: string | null, row: GenerationRow, found: { prediction: Prediction; examined: number }) {
  return appendEvent(ctx.db, ctx.db.s, {
    operator: actor,
    action: "generation.attach",
    userId: row.user_id,
    outcome: "ok",
    details: { generationId: row.id, predictionId: found.prediction.id, foundBy: "search", examined: found.examined },
  });
}
