/**
 * Finishes a generation that was left behind: a create with no answer (`unknown`), or a
 * prediction sselfie stopped waiting for. Without a prediction id, the account's predictions are
 * searched for the recorded request; the prediction must be that very request (same
 * `model:version`, same input hash) before it is attached.
 */
import { resolve } from "node:path";
import type { SselfieContext } from "../context.js";
import { getGeneration, markGenerationNotCreated, type GenerationRow } from "../db/generations.js";
import { appendEvent } from "../db/operator-events.js";
import { StateError } from "../errors.js";
import { GUIDANCE_KEYS } from "../locked.js";
import type { Prediction } from "../replicate/schemas.js";
import { checkRecordedRequest, recordAttached, searchCreatedPrediction, SEARCH_WINDOW_MS } from "./find-prediction.js";
import { followPrediction, type GenerateOptions, type GenerationResult } from "./generate.js";
import { count } from "../plural.js";

/**
 * "Nothing was created" is recorded only this long after the record: until then a create held up
 * in rate-limit waits, or still being processed behind the 5xx that answered it, can appear.
 */
export const SETTLE_AFTER_MS = 10 * 60_000;

export interface RecoverOptions extends Pick<GenerateOptions, "onProgress" | "pollIntervalMs" | "timeoutMs" | "download" | "signal"> {
  generationId: number;
  /** Replicate's id of the prediction; defaults to the one recorded, else the account's predictions are searched. */
  predictionId?: string;
  outDir: string;
  /** Most predictions read (newest first) when searching. Default 1000 (ten pages). */
  searchLimit?: number;
}

export async function recoverGeneration(ctx: SselfieContext, actor: string | null, opts: RecoverOptions): Promise<GenerationResult> {
  const row = await getGeneration(ctx.db, ctx.db.s, opts.generationId);
  if (!row) throw new StateError("GENERATION_NOT_FOUND", `There is no generation #${opts.generationId}.`, { generationId: opts.generationId });
  const predictionId = opts.predictionId ?? row.replicate_prediction_id;
  let prediction: Prediction;
  if (predictionId) {
    if (row.replicate_prediction_id && row.replicate_prediction_id !== predictionId) {
      throw new StateError("PREDICTION_MISMATCH", `Generation #${row.id} belongs to prediction ${row.replicate_prediction_id}, not ${predictionId}.`, {
        generationId: row.id,
        predictionId,
      });
    }
    prediction = await (await ctx.gatewayForUser(row.user_id)).getPrediction(predictionId);
  } else {
    prediction = await findLostPrediction(ctx, actor, row, opts.searchLimit);
  }
  checkRecordedRequest(row, prediction);
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

/** The prediction `row`'s unanswered create made; or the record settled as "nothing was created"; or a refusal. */
export async function findLostPrediction(ctx: SselfieContext, actor: string | null, row: GenerationRow, limit?: number): Promise<Prediction> {
  const base = { generationId: row.id, userId: row.user_id, version: row.version_ref, seed: row.seed };
  const event = (outcome: "refused" | "failed", err: StateError) =>
    appendEvent(ctx.db, ctx.db.s, {
      operator: actor,
      action: "generation.recover",
      userId: row.user_id,
      outcome,
      details: { code: err.code, message: err.message, ...err.details },
    });
  const refuse = async (err: StateError): Promise<never> => {
    await event("refused", err);
    throw err;
  };

  if (row.status !== "pending" && row.status !== "unknown") {
    throw new StateError(
      "PREDICTION_NOT_CREATED",
      `Generation #${row.id} never became a prediction (status ${row.status}${row.error ? `: ${row.error}` : ""}). Generate again.`,
      { ...base, status: row.status },
    );
  }
  const search = await searchCreatedPrediction(ctx, row, limit === undefined ? {} : { limit });
  const examined = { examined: search.examined };
  switch (search.outcome) {
    case "found":
      await recordAttached(ctx, actor, row, search);
      return search.prediction;
    case "several":
      return refuse(
        new StateError(
          "INTEGRITY_VIOLATION",
          `Replicate holds ${search.predictionIds.length} predictions of generation #${row.id}'s exact request (${row.version_ref}, seed ` +
            `${row.seed}): ${search.predictionIds.join(", ")}. sselfie never repeats a create, so none of them is attached; pass the ` +
            `right one as predictionId once you know it.`,
          { ...base, ...examined, predictionIds: search.predictionIds },
        ),
      );
    case "shared":
      return refuse(
        new StateError(
          "INTEGRITY_VIOLATION",
          `Prediction ${search.prediction.id} is the exact request of generations ${search.generationIds.map((id) => `#${id}`).join(", ")} ` +
            `(same version and seed), which all went unanswered: it cannot be told whose it is. Pass it as predictionId to the one it belongs to.`,
          { ...base, ...examined, predictionId: search.prediction.id, generationIds: search.generationIds },
        ),
      );
    case "none":
      break;
  }

  const hour = SEARCH_WINDOW_MS / 60_000;
  if (!search.complete) {
    const why = search.limitReached
      ? `the search stopped after the newest ${count(search.examined, "prediction")}, before reaching the hour before it was recorded`
      : `prediction${search.inputsDeleted.length > 1 ? "s" : ""} ${search.inputsDeleted.join(", ")} of ${row.version_ref} ` +
        `can no longer be compared: Replicate deleted their input an hour after they ran`;
    return refuse(
      new StateError(
        "PREDICTION_UNKNOWN",
        `No prediction was found for generation #${row.id}, but that does not prove none was made: ${why}. It stays "unknown"; ` +
          `if you find its prediction (${row.version_ref}, seed ${row.seed}) at https://replicate.com/predictions, pass its id as predictionId.`,
        { ...base, ...examined, limitReached: search.limitReached, inputsDeleted: search.inputsDeleted },
      ),
    );
  }

  const reason =
    `The create call made nothing: no prediction of ${row.version_ref} with this input exists at Replicate ` +
    `(${count(search.examined, "prediction")} read, back to ${hour} min before it was recorded).`;
  const settled = await markGenerationNotCreated(ctx.db, ctx.db.s, row.id, { status: "failed", error: reason, recordedAtLeastMsAgo: SETTLE_AFTER_MS });
  if (!settled) {
    const now = await getGeneration(ctx.db, ctx.db.s, row.id);
    const waiting = now && !now.replicate_prediction_id && (now.status === "pending" || now.status === "unknown");
    return refuse(
      new StateError(
        "PREDICTION_UNKNOWN",
        waiting
          ? `No prediction of generation #${row.id} exists yet, but it was recorded less than ${SETTLE_AFTER_MS / 60_000} min ago and a ` +
              `create held up at Replicate can still appear. It stays "unknown": run recoverGeneration again later.`
          : `Generation #${row.id} changed while its prediction was searched for (now ${now?.status ?? "gone"}` +
              `${now?.replicate_prediction_id ? `, prediction ${now.replicate_prediction_id}` : ""}): run recoverGeneration again.`,
        { ...base, ...examined },
      ),
    );
  }
  const err = new StateError("PREDICTION_NOT_CREATED", `${reason} Generation #${row.id} is now recorded as failed; generate again.`, {
    ...base,
    ...examined,
  });
  await event("failed", err);
  throw err;
}
