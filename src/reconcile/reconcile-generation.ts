/**
 * One generation left behind: a create that got no answer (the account's predictions are
 * searched for it), a prediction nobody follows any more, or a succeeded one whose images were
 * not all downloaded. Never waits for a prediction still running: its state is recorded and a
 * later pass (or its webhook) finishes it. Images go to the folder recorded with the generation.
 */
import type { SselfieContext } from "../context.js";
import { applyPredictionToGeneration, getGeneration, type GenerationRow } from "../db/generations.js";
import { OutcomeError, StateError } from "../errors.js";
import { GUIDANCE_KEYS } from "../locked.js";
import type { Prediction } from "../replicate/schemas.js";
import { isTerminalStatus } from "../replicate/statuses.js";
import { priceOf } from "../costs/metrics.js";
import { predictionUpdate } from "../generation/apply-prediction.js";
import { checkRecordedRequest } from "../generation/find-prediction.js";
import { followPrediction } from "../generation/generate.js";
import { findLostPrediction } from "../generation/recover.js";
import type { DownloadOptions } from "../generation/download.js";

export interface GenerationOutcome {
  changed: boolean;
  /** A problem to list (the row keeps what could be recorded). */
  problem?: { code: string; message: string };
}

const filesOf = (row: GenerationRow | null) => (row?.outputs ?? []).filter((o) => o.file).length;

export async function reconcileGeneration(
  ctx: SselfieContext,
  actor: string | null,
  row: GenerationRow,
  opts: { download?: DownloadOptions } = {},
): Promise<GenerationOutcome> {
  let prediction: Prediction;
  if (row.replicate_prediction_id) {
    prediction = await (await ctx.gatewayForUser(row.user_id)).getPrediction(row.replicate_prediction_id);
  } else {
    try {
      prediction = await findLostPrediction(ctx, actor, row);
    } catch (err) {
      // "Nothing was created" is itself the answer: the record now says failed.
      if (err instanceof StateError && err.code === "PREDICTION_NOT_CREATED") return { changed: true };
      throw err;
    }
  }
  const changedSince = async (): Promise<boolean> => {
    const now = await getGeneration(ctx.db, ctx.db.s, row.id);
    return now?.status !== row.status || filesOf(now) !== filesOf(row) || now?.replicate_prediction_id !== row.replicate_prediction_id;
  };

  if (prediction.data_removed || !isTerminalStatus(prediction.status) || row.out_dir === null) {
    // Only the state can be recorded: still running, no folder to download into, or deleted by Replicate.
    if (!prediction.data_removed) checkRecordedRequest(row, prediction);
    await applyPredictionToGeneration(ctx.db, ctx.db.s, row.id, predictionUpdate(prediction, priceOf(ctx)));
    const changed = await changedSince();
    if (prediction.data_removed && prediction.status === "succeeded" && !(row.outputs ?? []).every((o) => o.file)) {
      return {
        changed,
        problem: {
          code: "OUTPUTS_EXPIRED",
          message: `Prediction ${prediction.id}'s images were deleted by Replicate (an hour after it ran) before generation #${row.id} downloaded them.`,
        },
      };
    }
    return { changed };
  }

  checkRecordedRequest(row, prediction);
  const guidanceKey = GUIDANCE_KEYS.find((k) => Object.hasOwn(row.input, k)) ?? "";
  try {
    const result = await followPrediction(ctx, actor, {
      row,
      prediction,
      outDir: row.out_dir,
      prompt: { prompt: row.prompt, original: row.prompt, triggerWordAdded: false },
      guidanceKey,
      opts: opts.download ? { download: opts.download } : {},
    });
    if (result.failedDownloads.length) {
      return {
        changed: await changedSince(),
        problem: {
          code: "DOWNLOAD_INCOMPLETE",
          message: `${result.failedDownloads.length} of generation #${row.id}'s images could not be downloaded into ${row.out_dir}: ${result.failedDownloads[0]!.error}.`,
        },
      };
    }
  } catch (err) {
    // A prediction that failed, or whose images were all withheld, is a finished outcome, not a problem of reconcile.
    if (!(err instanceof OutcomeError && (err.code === "GENERATION_FAILED" || err.code === "ALL_IMAGES_WITHHELD"))) throw err;
  }
  return { changed: await changedSince() };
}
