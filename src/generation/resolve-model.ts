/**
 * The only way sselfie arrives at a model reference for generation: the user's own user_models
 * row, checked against the locked naming. There is no fallback, no shared model and no base
 * model; anything else is a typed refusal that says what to do next.
 */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import { getUserModel, type TrainingStatus, type UserModelRow } from "../db/user-models.js";
import { StateError } from "../errors.js";
import { OWNER_NOT_CONFIGURED } from "../owners/owner-gateways.js";
import { VERSION_ID_PATTERN, destinationModelId, modelVersionRef, triggerWord, validateUserId } from "../locked.js";

export interface UserModelRef {
  userId: string;
  /** The Replicate owner holding the user's model (recorded when the user was placed). */
  owner: string;
  /** `{owner}/{userId}-selfie-lora` */
  modelId: string;
  /** The active version: 64 hex characters. */
  versionId: string;
  /** `{modelId}:{versionId}`, the only reference a prediction is ever created with. */
  ref: string;
  /** The status of the user's latest training (a retraining may be running or have failed). */
  trainingStatus: TrainingStatus;
}

export function integrityViolation(message: string, details: Record<string, unknown>): StateError {
  return new StateError(
    "INTEGRITY_VIOLATION",
    `${message} Nothing was sent to Replicate. Run \`sselfie audit --user ${String(details.userId)} --remote\` and fix the record before generating.`,
    details,
  );
}

/** The reference for `row`, or the refusal; pure apart from its inputs. */
export function resolveFromRow(userId: string, row: UserModelRow | null): UserModelRef {
  if (!row) {
    throw new StateError(
      "MODEL_NOT_FOUND",
      `User ${userId} has no model yet: train one first (sselfie train --user ${userId} --images <folder>).`,
      { userId },
    );
  }
  if (row.replicate_version_id === null) {
    const status = row.training_status;
    if (status === "pending" || status === "training") {
      throw new StateError(
        "MODEL_NOT_READY",
        `User ${userId}'s first training is still running (status ${status}): wait for it to complete ` +
          `(sselfie status --user ${userId} --watch), then generate.`,
        { userId, status, trainingId: row.current_training_id },
      );
    }
    if (status === "failed" || status === "canceled") {
      throw new StateError(
        "MODEL_NOT_READY",
        `User ${userId}'s training ${status === "failed" ? "failed" : "was canceled"} and there is no earlier model` +
          `${row.error ? ` (${row.error})` : ""}: train again (sselfie train --user ${userId} --images <folder>).`,
        { userId, status, trainingId: row.current_training_id, error: row.error },
      );
    }
    throw integrityViolation(`User ${userId}'s model is marked ${status} but has no version.`, { userId, status });
  }
  const { owner } = row;
  const expectedModelId = destinationModelId(owner, userId);
  if (row.user_id !== userId || row.replicate_model_id !== expectedModelId) {
    throw integrityViolation(
      `User ${userId}'s stored model is ${JSON.stringify(row.replicate_model_id)}, not the user's own ${expectedModelId}.`,
      { userId, storedModelId: row.replicate_model_id, expectedModelId },
    );
  }
  if (!VERSION_ID_PATTERN.test(row.replicate_version_id)) {
    throw integrityViolation(`User ${userId}'s stored version ${JSON.stringify(row.replicate_version_id)} is not a 64-hex version id.`, {
      userId,
      storedVersionId: row.replicate_version_id,
    });
  }
  if (row.trigger_word !== triggerWord(userId)) {
    throw integrityViolation(`User ${userId}'s stored trigger word ${JSON.stringify(row.trigger_word)} is not ${triggerWord(userId)}.`, {
      userId,
      storedTriggerWord: row.trigger_word,
    });
  }
  return {
    userId,
    owner,
    modelId: expectedModelId,
    versionId: row.replicate_version_id,
    ref: modelVersionRef(expectedModelId, row.replicate_version_id),
    trainingStatus: row.training_status,
  };
}

/**
 * Reads the user's row and resolves it against the owner recorded on it, which must be a
 * configured owner (an added one, or the implicit one). No request to Replicate is made, except
 * the implicit owner's account lookup when REPLICATE_OWNER is unset (once).
 */
export async function lookUpUserModel(ctx: SselfieContext, userId: string): Promise<UserModelRef> {
  validateUserId(userId);
  const row = await getUserModel(ctx.db, ctx.db.s, userId);
  const ref = resolveFromRow(userId, row);
  try {
    await ctx.gatewayForOwner(ref.owner);
  } catch (err) {
    if (!(err instanceof StateError && err.code === OWNER_NOT_CONFIGURED)) throw err;
    throw integrityViolation(`User ${userId}'s stored model ${ref.modelId} is under an owner that is not configured. ${err.message}`, {
      userId,
      storedModelId: ref.modelId,
      ...err.details,
    });
  }
  return ref;
}

/**
 * The user's own model reference `{owner}/{userId}-selfie-lora:{version}`, or a StateError:
 * MODEL_NOT_FOUND, MODEL_NOT_READY (details.status) or INTEGRITY_VIOLATION. An integrity
 * violation is recorded in operator_events (action `model.resolve`, outcome `refused`).
 */
export async function resolveUserModel(
  ctx: SselfieContext,
  userId: string,
  opts: { actor?: string | null } = {},
): Promise<UserModelRef> {
  try {
    return await lookUpUserModel(ctx, userId);
  } catch (err) {
    if (err instanceof StateError && err.code === "INTEGRITY_VIOLATION") {
      await appendEvent(ctx.db, ctx.db.s, {
        operator: opts.actor ?? null,
        action: "model.resolve",
        userId,
        outcome: "refused",
        details: { code: err.code, message: err.message, ...err.details },
      });
    }
    throw err;
  }
}
