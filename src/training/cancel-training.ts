/** `cancel`: stop the user's running training at Replicate and record it. */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import { getActiveTraining } from "../db/trainings.js";
import { StateError } from "../errors.js";
import { modelOwner, validateUserId } from "../locked.js";
import { applyTraining } from "./apply-training.js";
import { failPendingClaim } from "./end-claim.js";
import { reconcilePendingTraining, type ReconcileOptions } from "./reconcile.js";
import { readTrainingStatus, type TrainingStatusResult } from "./training-status.js";

export type CancelTrainingOptions = ReconcileOptions;

export async function cancelTraining(
  ctx: SselfieContext,
  actor: string | null,
  userId: string,
  opts: CancelTrainingOptions = {},
): Promise<TrainingStatusResult> {
  const id = validateUserId(userId);
  const { db } = ctx;
  const refuse = async (code: string, message: string): Promise<never> => {
    await appendEvent(db, db.s, { operator: actor, action: "cancel", userId: id, outcome: "refused", details: { code } });
    throw new StateError(code, message, { userId: id });
  };
  const noTraining = () =>
    refuse("NO_ACTIVE_TRAINING", `User ${id} has no training in progress to cancel. See \`sselfie status --user ${id}\`.`);

  let row = await getActiveTraining(db, db.s, id);
  if (!row) return noTraining();
  if (row.status === "pending") row = await reconcilePendingTraining(ctx, actor, row, opts);
  if (row.status === "pending" && !row.replicate_training_id) {
    // Not created yet and no upload recorded: ending the claim here stops the starting process at
    // its next guarded write, before it can create anything.
    const error = `Canceled by ${actor ?? "an operator"} before it was started at Replicate.`;
    const canceled = await db.transaction(async (tx) => {
      const ended = await failPendingClaim(tx, db.s, row!, { error, status: "canceled", onlyWithoutUpload: true });
      if (!ended) return null;
      await appendEvent(tx, db.s, { operator: actor, action: "cancel", userId: id, details: { trainingRowId: ended.id, before: "pending" } });
      return ended;
    });
    if (canceled) return readTrainingStatus(db, db.s, id);
    return refuse(
      "TRAINING_STARTING",
      `User ${id}'s training is being created at Replicate right now. Run \`sselfie cancel --user ${id}\` again in a moment.`,
    );
  }
  if (row.status !== "training" || !row.replicate_training_id) return noTraining();

  const training = await (await ctx.gatewayForOwner(modelOwner(row.destination))).cancelTraining(row.replicate_training_id);
  const { row: after } = await applyTraining(ctx, row, training, { actor, source: "cancel", event: false });
  await appendEvent(db, db.s, {
    operator: actor,
    action: "cancel",
    userId: id,
    details: { trainingId: training.id, replicateStatus: training.status, status: after.status, ...(after.error ? { error: after.error } : {}) },
  });
  return readTrainingStatus(db, db.s, id);
}
