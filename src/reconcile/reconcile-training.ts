/**
 * One unfinished training, brought up to date the way `status` does it: a running one is read
 * from Replicate and the outcome applied; a `pending` claim is adopted (its training exists at
 * Replicate) or released (its process is gone and nothing was created).
 */
import type { SselfieContext } from "../context.js";
import type { TrainingRow } from "../db/trainings.js";
import { modelOwner } from "../locked.js";
import { applyTraining } from "../training/apply-training.js";
import { reconcilePendingTraining, type ReconcileOptions } from "../training/reconcile.js";

/** True when the row's status (or its Replicate training) changed. */
export async function reconcileTraining(
  ctx: SselfieContext,
  actor: string | null,
  row: TrainingRow,
  opts: ReconcileOptions = {},
): Promise<boolean> {
  let after: TrainingRow = row;
  if (row.status === "pending") {
    after = await reconcilePendingTraining(ctx, actor, row, opts);
  } else if (row.status === "training" && row.replicate_training_id) {
    const training = await (await ctx.gatewayForOwner(modelOwner(row.destination))).getTraining(row.replicate_training_id);
    after = (await applyTraining(ctx, row, training, { actor, source: "reconcile" })).row;
  }
  return after.status !== row.status || after.replicate_training_id !== row.replicate_training_id;
}
