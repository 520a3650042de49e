/**
 * `status`: bring the user's latest training up to date from Replicate and store the outcome.
 * This polling path is also the fallback that keeps a lost webhook from leaving a training stuck.
 */
import type { SselfieContext } from "../context.js";
import { getModelAndLatestTraining } from "../db/trainings.js";
import { modelOwner, validateUserId } from "../locked.js";
import { applyTraining } from "./apply-training.js";
import { reconcilePendingTraining, type ReconcileOptions } from "./reconcile.js";
import { readTrainingStatus, toStatusResult, type TrainingStatusResult } from "./training-status.js";

export type RefreshTrainingOptions = ReconcileOptions;

export async function refreshTraining(
  ctx: SselfieContext,
  actor: string | null,
  userId: string,
  opts: RefreshTrainingOptions = {},
): Promise<TrainingStatusResult> {
  const id = validateUserId(userId);
  const { db } = ctx;
  // One statement when there is nothing to ask Replicate: what it read is the status.
  const { model, latest } = await getModelAndLatestTraining(db, db.s, id);
  if (latest?.status === "pending") {
    await reconcilePendingTraining(ctx, actor, latest, opts);
  } else if (latest?.status === "training" && latest.replicate_training_id) {
    const training = await (await ctx.gatewayForOwner(modelOwner(latest.destination))).getTraining(latest.replicate_training_id);
    await applyTraining(ctx, latest, training, { actor, source: "status" });
  } else {
    return toStatusResult(id, model, latest);
  }
  return readTrainingStatus(db, db.s, id);
}

/** The stored status, without asking Replicate. */
export async function getTrainingStatus(ctx: SselfieContext, userId: string): Promise<TrainingStatusResult> {
  return readTrainingStatus(ctx.db, ctx.db.s, validateUserId(userId));
}
