/**
 * Ending a claim (a pending training that never reached Replicate's create call). Each takes the
 * user's model row before the training row: the order a claim takes them in (start-training's
 * claimSlot), so that a claim of the same user racing it waits for the model row, then is refused
 * by the unique index at once, instead of the two waiting for each other until PostgreSQL kills one.
 */
import { deletePendingTraining, failPendingTraining, type TrainingRow } from "../db/trainings.js";
import type { Queryable } from "../db/types.js";
import { lockUserModel, restoreUserModel, setUserModelTraining, type UserModelRow } from "../db/user-models.js";

/** Ends the claim as failed or canceled, with its user's model; null when it was settled meanwhile. */
export async function failPendingClaim(
  tx: Queryable,
  s: string,
  row: TrainingRow,
  opts: { error: string; status: "failed" | "canceled"; staleAfterMs?: number; onlyWithoutUpload?: boolean },
): Promise<TrainingRow | null> {
  await lockUserModel(tx, s, row.user_id);
  const ended = await failPendingTraining(tx, s, row.id, opts);
  if (ended) await setUserModelTraining(tx, s, row.user_id, { status: opts.status, trainingId: null, error: opts.error });
  return ended;
}

/** Removes the claim and puts the user's model back as it was before it; false when it was settled meanwhile. */
export async function undoPendingClaim(tx: Queryable, s: string, row: TrainingRow, previous: UserModelRow | null): Promise<boolean> {
  await lockUserModel(tx, s, row.user_id);
  if (!(await deletePendingTraining(tx, s, row.id))) return false;
  await restoreUserModel(tx, s, row.user_id, previous);
  return true;
}
