/**
 * Locked-parameter generation from the user's own model. In order:
 *   1. validate user id, prompt and seed (no I/O);
 *   2. resolve the user's own `model:version` and check the locked input against the version's
 *      declared inputs (refusals write one `refused` event and nothing else, and reach no
 *      prediction endpoint);
 *   3. record the generation (with the process making it and the folder its images go to), then
 *      create the prediction, and record its id before anything else;
 *   4. poll, then download and verify every output at once, and record files, sizes and hashes.
 * A create that may or may not have happened is never repeated: the record says `unknown`, and
 * the account's predictions are searched once for it (recover.ts searches again later).
 *
 * The create does not ask Replicate to hold its answer (`Prefer: wait`): that would keep the
 * prediction's id unknown, and a process killed meanwhile would leave a paid prediction that only
 * a search of the account can find. Without it the id comes back at once and is stored first.
 * An abort (the caller's signal) never cuts a create short; it stops polling and downloading, and
 * the generation is left recorded as unfinished for finishGenerations (finish.ts) to complete.
 */
import { resolve } from "node:path";
import { interrupted, raceAbort } from "../abort.js";
import type { SselfieContext } from "../context.js";
import {
  applyPredictionToGeneration,
  insertGenerationWithinBudget,
  markGenerationNotCreated,
  setGenerationOutputs,
  type GenerationOutput,
  type GenerationRow,
} from "../db/generations.js";
import { refuseIfErasing } from "../db/erasures.js";
import { completedTrainingOfVersion } from "../db/trainings.js";
import { appendEvent } from "../db/operator-events.js";
import { saveVersionSchema } from "../db/version-schemas.js";
import { InvalidInputError, OutcomeError, ReplicateError, StateError } from "../errors.js";
import { ensureDirectory } from "../fs-safety.js";
import { LOCKED_GENERATION_INPUT, hashInput, randomSeed, validateSeed, validateUserId } from "../locked.js";
import { currentHolder } from "../process-holder.js";
import type { Prediction } from "../replicate/schemas.js";
import { isTerminalStatus } from "../replicate/statuses.js";
import { abortableSleep } from "../abortable-sleep.js";
import { budgetExceeded } from "../costs/budget-exceeded.js";
import { estimateGenerationUsd } from "../costs/estimate.js";
import { priceOf } from "../costs/metrics.js";
import { ensureSpendingRow } from "../db/spending.js";
import { predictionUpdate, predictionVersionRef } from "./apply-prediction.js";
import { downloadOutputs, type DownloadOptions } from "./download.js";
import { checkRecordedRequest, recordAttached, searchCreatedPrediction } from "./find-prediction.js";
import { checkLockedInput } from "./input-schema.js";
import { preparePrompt } from "./prompt.js";
import { integrityViolation, lookUpUserModel, type UserModelRef } from "./resolve-model.js";
import { loadInputSchema } from "./version-schema.js";
import { count } from "../plural.js";

export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_GENERATION_TIMEOUT_MS = 10 * 60_000;
const NSFW = /nsfw/i;

export type GenerationProgress =
  | { phase: "creating"; version: string; seed: number }
  | { phase: "waiting"; predictionId: string; status: string }
  | { phase: "downloading"; predictionId: string; count: number };

export interface GenerateOptions {
  userId: string;
  /** Trimmed and checked; the user's trigger word is added when missing. */
  prompt: string;
  /** 0..999999; random (crypto) when absent. */
  seed?: number | string;
  /** Folder for the PNGs (created when missing). */
  outDir: string;
  onProgress?: (progress: GenerationProgress) => void;
  /** Stops waiting and downloading (never a create in flight); the generation stays unfinished, to be finished later. */
  signal?: AbortSignal;
  /**
   * Let Replicate hold the create's answer up to N seconds (`Prefer: wait=N`, 1..60). Default: not
   * at all, so that the prediction's id is known and stored at once (see above).
   */
  waitSeconds?: number;
  pollIntervalMs?: number;
  /** Give up following the prediction after this long (it keeps running; a webhook can still record it). */
  timeoutMs?: number;
  download?: DownloadOptions;
}

export interface GenerationResult {
  userId: string;
  generationId: number;
  predictionId: string;
  /** The exact reference used: `{owner}/{userId}-selfie-lora:{version}`. */
  version: string;
  seed: number;
  /** The prompt as sent. */
  prompt: string;
  /** True when the prompt sent differs from the one given (trimmed, or trigger word added). */
  promptChanged: boolean;
  triggerWordAdded: boolean;
  /** The guidance input name the version declares, which carried 2.8. */
  guidanceKey: string;
  inputHash: string;
  /** Absolute paths of the verified PNGs, in the order of the prediction's output. */
  files: string[];
  /** Images the safety checker withheld (of the 3 asked for). */
  withheld: number;
  /** Outputs that could not be downloaded after retries (their URLs stay in the record). */
  failedDownloads: { index: number; url: string; error: string }[];
  outputs: GenerationOutput[];
  predictTime: number | null;
}

function eventDetails(err: unknown): Record<string, unknown> {
  if (err instanceof StateError || err instanceof ReplicateError || err instanceof InvalidInputError) {
    return { code: err.code, message: err.message, ...err.details };
  }
  return { code: "UNEXPECTED", message: err instanceof Error ? err.message : String(err) };
}

async function prepareOutDir(outDir: string): Promise<void> {
  try {
    await ensureDirectory(outDir);
  } catch (err) {
    throw new InvalidInputError(`Cannot write the images to ${outDir}: ${(err as Error).message}. Choose another folder (--out).`, {
      outDir,
    }, "OUTPUT_DIR_UNWRITABLE");
  }
}

/** Validates everything that needs no I/O; throws InvalidInputError (exit 2). */
export function validateGenerateOptions(opts: GenerateOptions) {
  const userId = validateUserId(opts.userId);
  const prompt = preparePrompt(userId, opts.prompt);
  const seed = opts.seed === undefined ? randomSeed() : validateSeed(opts.seed);
  if (typeof opts.outDir !== "string" || opts.outDir.trim() === "") {
    throw new InvalidInputError("An output folder is required.", { outDir: opts.outDir });
  }
  return { userId, prompt, seed, outDir: resolve(opts.outDir) };
}

export async function generate(ctx: SselfieContext, actor: string | null, opts: GenerateOptions): Promise<GenerationResult> {
  const { userId, prompt, seed, outDir } = validateGenerateOptions(opts);
  const stopped = () => interrupted(opts.signal, "Interrupted before anything was sent to Replicate; nothing was generated.", { userId });
  if (opts.signal?.aborted) throw stopped();
  const event = (outcome: "ok" | "refused" | "failed", details: Record<string, unknown>) =>
    appendEvent(ctx.db, ctx.db.s, { operator: actor, action: "generate", userId, outcome, details });

  let model: UserModelRef;
  let input: Record<string, unknown>;
  let guidanceKey: string;
  try {
    // At once, before anything is asked of Replicate (the claim below checks again, race-free).
    await refuseIfErasing(ctx.db, ctx.db.s, userId);
    model = await lookUpUserModel(ctx, userId);
    const loaded = await loadInputSchema(ctx, model);
    const check = checkLockedInput(loaded.schema, prompt.prompt, seed);
    if (!check.ok) {
      throw new StateError(
        "LOCKED_INPUT_UNSUPPORTED",
        `User ${userId}'s model version ${model.ref} cannot take the locked input: ${check.problems.join("; ")}. ` +
          `Nothing was sent, because Replicate would silently ignore or reject it. Retrain the user's model with the ` +
          `locked trainer (sselfie train --user ${userId} --images <folder>) and run \`sselfie audit --user ${userId} --remote\`.`,
        { userId, version: model.ref, problems: check.problems },
      );
    }
    ({ input, guidanceKey } = check);
    if (!loaded.cached) {
      await saveVersionSchema(ctx.db, ctx.db.s, { versionId: model.versionId, modelId: model.modelId, inputSchema: loaded.schema });
    }
  } catch (err) {
    // A refusal's event is part of the refusal; if the store cannot take it, the original error still wins.
    await event(err instanceof StateError ? "refused" : "failed", eventDetails(err)).catch(() => undefined);
    throw err;
  }

  // Before anything is paid for: the images must have somewhere to go.
  await prepareOutDir(outDir);

  const inputHash = hashInput(input);
  // The claim, the erasure check and the budget reservation in one transaction: an erasure marked
  // before it refuses it, and an estimate that does not fit under the cap records and sends nothing.
  let row;
  try {
    row = await ctx.db.transaction(async (tx) => {
      await refuseIfErasing(tx, ctx.db.s, userId);
      await ensureSpendingRow(tx, ctx.db.s, userId);
      // The record names the training that made the version (the database refuses it otherwise).
      const trainingId = await completedTrainingOfVersion(tx, ctx.db.s, userId, model.ref);
      if (trainingId === null) {
        throw integrityViolation(`User ${userId}'s active version ${model.ref} is not the output of a completed training of the user.`, {
          userId,
          version: model.ref,
        });
      }
      const estimateUsd = await estimateGenerationUsd(tx, ctx.db.s, userId, priceOf(ctx));
      const inserted = await insertGenerationWithinBudget(tx, ctx.db.s, {
        userId,
        versionRef: model.ref,
        trainingId,
        prompt: prompt.prompt,
        input,
        inputHash,
        seed,
        operator: actor,
        holder: currentHolder(),
        outDir,
        estimateUsd,
      });
      if (!inserted) throw await budgetExceeded(tx, ctx.db.s, userId, "generation", estimateUsd);
      return inserted;
    });
  } catch (err) {
    if (err instanceof StateError) await event("refused", eventDetails(err)).catch(() => undefined);
    throw err;
  }
  if (opts.signal?.aborted) {
    await markGenerationNotCreated(ctx.db, ctx.db.s, row.id, { status: "failed", error: "Interrupted before the create was sent." });
    throw stopped();
  }

  opts.onProgress?.({ phase: "creating", version: model.ref, seed });
  const gateway = await ctx.gatewayForOwner(model.owner);
  let prediction: Prediction;
  try {
    prediction = await gateway.createPrediction({
      version: model.ref,
      input,
      ...(opts.waitSeconds === undefined ? {} : { waitSeconds: opts.waitSeconds }),
      ...(ctx.webhookUrl ? { webhook: ctx.webhookUrl, webhookEventsFilter: ["start", "completed"] as const } : {}),
    });
    // Paid for from here on: its id is stored before anything else happens.
    await applyPredictionToGeneration(ctx.db, ctx.db.s, row.id, predictionUpdate(prediction, priceOf(ctx)));
  } catch (err) {
    const refused = err instanceof ReplicateError && err.code !== "REPLICATE_OUTCOME_UNKNOWN";
    const reason = err instanceof Error ? err.message : String(err);
    // Best effort: if the store fails now, the row still says `pending` with no prediction id, which an
    // operator reads the same way as `unknown`; the caller gets the Replicate error either way.
    await markGenerationNotCreated(ctx.db, ctx.db.s, row.id, { status: refused ? "failed" : "unknown", error: reason }).catch(() => undefined);
    // A create that did happen is usually listed at once: look once, and carry on with it if it is there.
    const look = refused ? null : await lookForLostPrediction(ctx, actor, row);
    if (look?.prediction) return followPrediction(ctx, actor, { row, prediction: look.prediction, outDir, prompt, guidanceKey, opts });
    await event("failed", { generationId: row.id, version: model.ref, seed, ...eventDetails(err), ...(look ? { lookup: look.said } : {}) }).catch(
      () => undefined,
    );
    if (refused) throw err;
    throw new ReplicateError(
      `${reason}. The prediction may exist (and be billed), so it was not created again; ${look!.said}. Generation #${row.id} is ` +
        `recorded with status "unknown": ${ctx.webhookUrl ? "Replicate's webhook for it will attach it to the record; or " : ""}` +
        `\`sselfie reconcile\` (SDK: generations.recover({ generationId: ${row.id} })) searches Replicate again for a prediction of ` +
        `${model.ref} with seed ${seed} and attaches it, or records that nothing was created. Do that before generating again.`,
      {
        code: "REPLICATE_OUTCOME_UNKNOWN",
        ...(err instanceof ReplicateError && err.status !== undefined ? { status: err.status } : {}),
        details: { generationId: row.id, userId, version: model.ref, seed, inputHash, lookup: look!.said },
      },
    );
  }

  return followPrediction(ctx, actor, { row, prediction, outDir, prompt, guidanceKey, opts });
}

/**
 * One search for the prediction an unanswered create made. Only an unambiguous match is taken;
 * anything else leaves the record `unknown` for recoverGeneration, which can wait out a late create.
 */
async function lookForLostPrediction(
  ctx: SselfieContext,
  actor: string | null,
  row: GenerationRow,
): Promise<{ prediction?: Prediction; said: string }> {
  try {
    const search = await searchCreatedPrediction(ctx, row);
    if (search.outcome === "found") {
      checkRecordedRequest(row, search.prediction);
      await recordAttached(ctx, actor, row, search);
      return { prediction: search.prediction, said: `found ${search.prediction.id}` };
    }
    if (search.outcome === "none") return { said: `none was listed among the newest ${count(search.examined, "prediction")}` };
    return { said: `the predictions listed could not be told apart (${search.outcome})` };
  } catch (err) {
    return { said: `the predictions could not be listed (${err instanceof Error ? err.message : String(err)})` };
  }
}

export interface FollowParams {
  row: GenerationRow;
  prediction: Prediction;
  outDir: string;
  prompt: { prompt: string; original: string; triggerWordAdded: boolean };
  guidanceKey: string;
  opts: Pick<GenerateOptions, "onProgress" | "pollIntervalMs" | "timeoutMs" | "download" | "signal">;
}

/** From a created prediction to verified files on disk, recording every step. */
export async function followPrediction(ctx: SselfieContext, actor: string | null, params: FollowParams): Promise<GenerationResult> {
  const { row, outDir, prompt, opts } = params;
  let prediction = params.prediction;
  const userId = row.user_id;
  const base = { generationId: row.id, predictionId: prediction.id, version: row.version_ref, seed: row.seed, inputHash: row.input_hash };
  const eventOf = (outcome: "ok" | "failed", details: Record<string, unknown>) =>
    ({ operator: actor, action: "generate", userId, outcome, details: { ...base, ...details } }) as const;
  const event = (outcome: "ok" | "failed", details: Record<string, unknown>) => appendEvent(ctx.db, ctx.db.s, eventOf(outcome, details));
  const record = (p: Prediction) => applyPredictionToGeneration(ctx.db, ctx.db.s, row.id, predictionUpdate(p, priceOf(ctx)));
  // Outputs are delivered as the user's only if Replicate ran the user's own version.
  const refuseForeignModel = async (p: Prediction) => {
    const ran = predictionVersionRef(p);
    if (ran === null || ran === row.version_ref) return;
    const err = integrityViolation(`Replicate reports that prediction ${p.id} ran ${ran}, not ${row.version_ref}; its outputs were not downloaded.`, {
      userId,
      ...base,
      reported: ran,
    });
    await event("failed", { code: err.code, message: err.message, reported: ran });
    throw err;
  };

  const gateway = await ctx.gatewayForUser(userId);
  const interval = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_GENERATION_TIMEOUT_MS);
  const finishLater = `\`sselfie status --user ${userId}\` saves its images in ${outDir} once it has ended (Replicate keeps them an hour)`;
  const leftRunning = (status: string) =>
    interrupted(
      opts.signal,
      `Interrupted while prediction ${prediction.id} was ${status} at Replicate. It runs on and is paid for; generation #${row.id} ` +
        `is recorded as unfinished: ${finishLater}.`,
      { ...base, status },
    );
  while (!isTerminalStatus(prediction.status)) {
    await record(prediction);
    await refuseForeignModel(prediction);
    opts.onProgress?.({ phase: "waiting", predictionId: prediction.id, status: prediction.status });
    if (opts.signal?.aborted) throw leftRunning(prediction.status);
    if (Date.now() + interval > deadline) {
      const err = new ReplicateError(
        `Prediction ${prediction.id} was still ${prediction.status} when sselfie stopped waiting. Generation #${row.id} keeps ` +
          `its status; Replicate's webhook (when configured) or \`sselfie reconcile\` (SDK: generations.recover) records the outcome.`,
        { code: "REPLICATE_WAIT_TIMEOUT", details: { ...base, status: prediction.status } },
      );
      await event("failed", { code: err.code, message: err.message });
      throw err;
    }
    try {
      await abortableSleep(interval, opts.signal);
      prediction = await raceAbort(gateway.getPrediction(prediction.id), opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw leftRunning(prediction.status);
      await event("failed", eventDetails(err));
      throw err;
    }
  }

  // The terminal state is written while the outputs download (they expire; the write does not
  // need to come first), and awaited before anything is reported.
  const recorded = record(prediction);
  recorded.catch(() => undefined);
  const settle = async () => void (await recorded);
  try {
    await refuseForeignModel(prediction);
  } catch (err) {
    await settle();
    throw err;
  }

  if (prediction.status !== "succeeded") {
    await settle();
    const withheldAll = prediction.status === "failed" && NSFW.test(prediction.error ?? "");
    const err = withheldAll
      ? new OutcomeError(
          "ALL_IMAGES_WITHHELD",
          `The safety checker withheld all 3 images of generation #${row.id} (${prediction.error}). Try again with a different prompt.`,
          { ...base, status: prediction.status },
        )
      : new OutcomeError(
          "GENERATION_FAILED",
          `Prediction ${prediction.id} ended ${prediction.status}${prediction.error ? `: ${prediction.error}` : ""}. Generation #${row.id} records it.`,
          { ...base, status: prediction.status, error: prediction.error },
        );
    await event("failed", { code: err.code, message: err.message, status: prediction.status });
    throw err;
  }

  const urls = prediction.output ?? [];
  const asked = LOCKED_GENERATION_INPUT.num_outputs;
  if (urls.length === 0) {
    await settle();
    const err = new OutcomeError(
      "ALL_IMAGES_WITHHELD",
      `Prediction ${prediction.id} succeeded without any image: the safety checker withheld all ${asked}. Try again with a different prompt.`,
      { ...base },
    );
    await event("failed", { code: err.code, message: err.message });
    throw err;
  }

  opts.onProgress?.({ phase: "downloading", predictionId: prediction.id, count: urls.length });
  let outputs: GenerationOutput[];
  try {
    outputs = await downloadOutputs(urls, outDir, prediction.id.replace(/[^A-Za-z0-9_-]/g, "_"), {
      ...opts.download,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) {
      // The partial files are gone; the record keeps every URL unsaved, so finishing saves them all.
      await settle().catch(() => undefined);
      await event("failed", { code: "INTERRUPTED", message: "stopped by the caller while downloading" }).catch(() => undefined);
      throw interrupted(
        opts.signal,
        `Interrupted while saving the images of prediction ${prediction.id}; generation #${row.id} is recorded as unfinished: ${finishLater}.`,
        { ...base },
      );
    }
    // Only the folder itself can fail here (each image's failure is reported per image).
    await settle().catch(() => undefined);
    await event("failed", { code: "DOWNLOAD_FAILED", message: (err as Error).message }).catch(() => undefined);
    throw new OutcomeError(
      "DOWNLOAD_FAILED",
      `Prediction ${prediction.id} succeeded but its images could not be saved in ${outDir}: ${(err as Error).message}. ` +
        `Within the hour, \`sselfie reconcile\` downloads them into the recorded folder once it is writable ` +
        `(SDK: generations.recover({ generationId: ${row.id}, outDir }) into another folder).`,
      { ...base },
    );
  }
  await settle();
  const files = outputs.flatMap((o) => (o.file ? [o.file] : []));
  const failedDownloads = outputs.flatMap((o, index) => (o.file ? [] : [{ index, url: o.url, error: o.error ?? "unknown error" }]));
  const withheld = Math.max(0, asked - urls.length);
  const done = eventOf(failedDownloads.length ? "failed" : "ok", {
    files: files.length,
    withheld,
    ...(failedDownloads.length ? { code: "DOWNLOAD_INCOMPLETE", failedDownloads } : {}),
  });
  // One commit for the files and the event.
  await ctx.db.transaction(async (tx) => {
    await setGenerationOutputs(tx, ctx.db.s, row.id, outputs);
    await appendEvent(tx, ctx.db.s, done);
  });
  return {
    userId,
    generationId: row.id,
    predictionId: prediction.id,
    version: row.version_ref,
    seed: row.seed,
    prompt: row.prompt,
    promptChanged: row.prompt !== prompt.original,
    triggerWordAdded: prompt.triggerWordAdded,
    guidanceKey: params.guidanceKey,
    inputHash: row.input_hash,
    files,
    withheld,
    failedDownloads,
    outputs,
    predictTime: typeof prediction.metrics.predict_time === "number" ? prediction.metrics.predict_time : null,
  };
}
