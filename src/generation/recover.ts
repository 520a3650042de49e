/**
 * Finishes a generation that was left behind: a create with no answer (`unknown`, the operator
 * found the prediction at Replicate), or a prediction sselfie stopped waiting for. The prediction
 * must be the very request recorded (same `model:version`, same input hash) before it is attached.
 */
import { resolve } from "node:path";
import type { SselfieContext } from "../context.js";
import { getGeneration } from "../db/generations.js";
import { StateError } from "../errors.js";
import { GUIDANCE_KEYS, hashInput } from "../locked.js";
import { predictionVersionRef } from "./apply-prediction.js";
import { followPrediction, type GenerateOptions, type GenerationResult } from "./generate.js";

export interface RecoverOptions extends Pick<GenerateOptions, "onProgress" | "pollIntervalMs" | "timeoutMs" | "download"> {
  generationId: number;
  /** Replicate's id of the prediction; defaults to the one recorded. */
  predictionId?: string;
  outDir: string;
}

export async function recoverGeneration(ctx: SselfieContext, actor: string | null, opts: RecoverOptions): Promise<GenerationResult> {
  const row = await getGeneration(ctx.db, ctx.db.s, opts.generationId);
  if (!row) throw new StateError("GENERATION_NOT_FOUND", `There is no generation #${opts.generationId}.`, { generationId: opts.generationId });
  const predictionId = opts.predictionId ?? row.replicate_prediction_id;
  if (!predictionId) {
    throw new StateError(
      "PREDICTION_UNKNOWN",
      `Generation #${row.id} has no prediction id: find its prediction (${row.version_ref}, seed ${row.seed}) at Replicate and pass its id.`,
      { generationId: row.id },
    );
  }
  if (row.replicate_prediction_id && row.replicate_prediction_id !== predictionId) {
    throw new StateError("PREDICTION_MISMATCH", `Generation #${row.id} belongs to prediction ${row.replicate_prediction_id}, not ${predictionId}.`, {
      generationId: row.id,
      predictionId,
    });
  }
  const prediction = await (await ctx.replicate()).getPrediction(predictionId);
  if (prediction.data_removed) {
    throw new StateError(
      "OUTPUTS_EXPIRED",
      `Prediction ${predictionId}'s input and outputs were deleted by Replicate (an hour after it ran): it cannot be checked or downloaded.`,
      { generationId: row.id, predictionId },
    );
  }
  const ref = predictionVersionRef(prediction);
  if (ref !== row.version_ref || hashInput(prediction.input) !== row.input_hash) {
    throw new StateError(
      "PREDICTION_MISMATCH",
      `Prediction ${predictionId} is not the request recorded as generation #${row.id} (its version or input differs).`,
      { generationId: row.id, predictionId, recordedVersion: row.version_ref, predictionVersion: ref },
    );
  }
  const guidanceKey = GUIDANCE_KEYS.find((k) => Object.hasOwn(row.input, k)) ?? "";
  return followPrediction(ctx, actor, {
    row,
    prediction,
    outDir: resolve(opts.outDir),
    prompt: { prompt: row.prompt, original: row.prompt, triggerWordAdded: false },
    guidanceKey,
    opts,
  });
}
