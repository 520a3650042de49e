/**
 * The one state transition every path shares (status, webhooks, train, cancel, reconciliation):
 * what Replicate says about a training becomes the row's and the user's status. A succeeded
 * training's version becomes the user's active version only once it is proven to live under the
 * user's own destination model; anything else is an integrity violation, kept on the training and
 * never stored as the user's version.
 */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import { retryOnDeadlock } from "../db/retry-on-deadlock.js";
import { getTrainingRow, lockTrainingRow, updateTrainingState, type TrainingRow, type TrainingUpdate } from "../db/trainings.js";
import type { Transaction } from "../db/types.js";
import { lockUserModel, promotePendingFaceReference, setUserModelTraining } from "../db/user-models.js";
import { destinationModelName } from "../locked.js";
import type { Training } from "../replicate/index.js";
import { parseTrainingProgress } from "../replicate/progress.js";
import { parseVersionRef } from "../replicate/version-ref.js";
import { metricsOf, priceOf } from "../costs/metrics.js";
import { mapReplicateStatus } from "./status-map.js";

export type TransitionSource = "train" | "status" | "webhook" | "cancel" | "reconcile";

export interface TransitionMeta {
  actor: string | null;
  source: TransitionSource;
  /** False when the caller records the change in an event of its own (train, cancel). */
  event?: boolean;
}

export interface TrainingPlan {
  update: TrainingUpdate;
  /** Set when a succeeded training's output was refused. */
  integrityViolation: string | null;
  /** The verified version (64 hex) to activate, on success only. */
  versionId: string | null;
}

export const INTEGRITY_VIOLATION = "INTEGRITY_VIOLATION";

/** Reads Replicate (the output version) where needed; writes nothing. */
export async function planTrainingUpdate(ctx: SselfieContext, row: TrainingRow, t: Training): Promise<TrainingPlan> {
  const parsed = parseTrainingProgress(t.logs);
  const progress = parsed ? { ...parsed } : null;
  const { predictTime, totalTime } = metricsOf(t.metrics);
  let status = mapReplicateStatus(t.status);
  let error: string | null = null;
  let integrityViolation: string | null = null;
  let versionId: string | null = null;

  if (t.status === "succeeded") {
    const check = await verifyOutputVersion(ctx, row, t);
    if ("violation" in check) {
      integrityViolation = check.violation;
      status = "failed";
      error = `${INTEGRITY_VIOLATION}: ${check.violation}`;
    } else {
      versionId = check.versionId;
    }
  } else if (t.status === "failed") {
    error = t.error ?? "The training failed at Replicate without an error message.";
  } else if (t.status === "aborted") {
    error = t.error ? `Aborted by Replicate: ${t.error}` : "The training was aborted by Replicate before it ran.";
  } else if (t.status === "canceled") {
    error = t.error ?? "The training was canceled.";
  }

  return {
    update: {
      replicateTrainingId: t.id,
      status,
      replicateStatus: t.status,
      progress,
      predictTime,
      totalTime,
      pricePerSecond: priceOf(ctx),
      error,
      outputVersion: versionId,
      startedAt: t.started_at,
      finishedAt: t.completed_at,
    },
    integrityViolation,
    versionId,
  };
}

async function verifyOutputVersion(
  ctx: SselfieContext,
  row: TrainingRow,
  t: Training,
): Promise<{ versionId: string } | { violation: string }> {
  const ref = t.output?.version ?? "";
  let owner: string;
  let name: string;
  let versionId: string;
  try {
    ({ owner, name, versionId } = parseVersionRef(ref));
  } catch {
    return { violation: `training ${t.id} succeeded without a valid output version (${JSON.stringify(ref)}); nothing was stored.` };
  }
  const modelId = `${owner}/${name}`;
  if (modelId !== row.destination || name !== destinationModelName(row.user_id)) {
    return {
      violation:
        `training ${t.id} produced ${ref}, which is not a version of user ${row.user_id}'s own model ${row.destination}; ` +
        `it was not stored as the user's version.`,
    };
  }
  const gateway = await ctx.gatewayForOwner(owner);
  const version = await gateway.getVersion(owner, name, versionId);
  if (!version || version.id !== versionId) {
    return { violation: `training ${t.id} names version ${versionId}, which does not exist under ${modelId}; it was not stored.` };
  }
  return { versionId };
}

/**
 * Writes a plan inside the caller's transaction. Returns the updated row, or null when the row
 * was already terminal (a late or repeated report changes nothing) or tracks another training.
 */
export async function writeTrainingUpdate(
  tx: Transaction,
  s: string,
  row: TrainingRow,
  plan: TrainingPlan,
  meta: TransitionMeta,
): Promise<TrainingRow | null> {
  // The user's model first, then the training: the order a claim takes them in (start-training),
  // so that a claim of the same user waits here instead of deadlocking with this write.
  await lockUserModel(tx, s, row.user_id);
  const before = await lockTrainingRow(tx, s, row.id);
  const updated = await updateTrainingState(tx, s, row.id, plan.update);
  if (!updated) return null;
  const adopted = before?.replicate_training_id == null;
  if (before?.status === updated.status && !adopted) return updated;
  await setUserModelTraining(tx, s, updated.user_id, {
    status: updated.status,
    trainingId: updated.replicate_training_id,
    error: updated.error,
    versionId: plan.versionId,
  });
  // The face reference follows the active version: it changes only when a training produced one.
  if (plan.versionId && updated.status === "completed") await promotePendingFaceReference(tx, s, updated.user_id);
  if (meta.event === false) return updated;
  await appendEvent(tx, s, {
    operator: meta.actor,
    action: "training.refresh",
    userId: updated.user_id,
    outcome: updated.status === "failed" ? "failed" : "ok",
    details: {
      source: meta.source,
      trainingId: updated.replicate_training_id,
      from: before?.status ?? null,
      to: updated.status,
      replicateStatus: plan.update.replicateStatus,
      ...(adopted ? { adopted: true } : {}),
      ...(plan.versionId ? { versionId: plan.versionId } : {}),
      ...(plan.integrityViolation ? { code: INTEGRITY_VIOLATION, violation: plan.integrityViolation } : {}),
      ...(updated.error ? { error: updated.error } : {}),
    },
  });
  return updated;
}

/** Plans and writes in one go; returns the row as it is afterwards. */
export async function applyTraining(
  ctx: SselfieContext,
  row: TrainingRow,
  t: Training,
  meta: TransitionMeta,
): Promise<{ row: TrainingRow; applied: boolean }> {
  const plan = await planTrainingUpdate(ctx, row, t);
  const { db } = ctx;
  const updated = await retryOnDeadlock(() => db.transaction((tx) => writeTrainingUpdate(tx, db.s, row, plan, meta)));
  if (updated) return { row: updated, applied: true };
  return { row: (await getTrainingRow(db, db.s, row.id)) ?? row, applied: false };
}
