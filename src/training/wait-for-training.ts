/** `train --wait` and `status --watch`: refresh until the latest training ends. */
import { interrupted } from "../abort.js";
import type { SselfieContext } from "../context.js";
import { OutcomeError, StateError } from "../errors.js";
import { validateUserId } from "../locked.js";
import { refreshTraining } from "./refresh-training.js";
import type { ReconcileOptions } from "./reconcile.js";
import type { TrainingStatusResult } from "./training-status.js";
import { abortableSleep } from "../abortable-sleep.js";

/** Trainings take minutes; one look every 2 s is far inside Replicate's 3,000 requests a minute. */
export const DEFAULT_TRAINING_POLL_MS = 2_000;

export interface WaitForTrainingOptions extends ReconcileOptions {
  /** Called after every refresh, the last one included. */
  onProgress?: (status: TrainingStatusResult) => void;
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Resolves with the status once the training completed; throws OutcomeError TRAINING_FAILED or
 * TRAINING_CANCELED when it ended otherwise, StateError NO_ACTIVE_TRAINING when there is none.
 */
export async function waitForTraining(
  ctx: SselfieContext,
  actor: string | null,
  userId: string,
  opts: WaitForTrainingOptions = {},
): Promise<TrainingStatusResult> {
  const id = validateUserId(userId);
  const interval = opts.pollIntervalMs ?? DEFAULT_TRAINING_POLL_MS;
  for (;;) {
    opts.signal?.throwIfAborted();
    const status = await refreshTraining(ctx, actor, id, opts);
    opts.onProgress?.(status);
    const which = status.trainingId ? `User ${id}'s training ${status.trainingId}` : `User ${id}'s training`;
    const kept = status.versionId ? ` The previous version ${status.versionId} stays active.` : "";
    switch (status.status) {
      case "completed":
        return status;
      case "failed":
        throw new OutcomeError("TRAINING_FAILED", `${which} failed: ${status.error ?? "no error given"}.${kept}`, { status });
      case "canceled":
        throw new OutcomeError("TRAINING_CANCELED", `${which} was canceled.${kept}`, { status });
      case "none":
        throw new StateError("NO_ACTIVE_TRAINING", `User ${id} has no training to follow. Start one with \`sselfie train --user ${id} --images <dir>\`.`, {
          userId: id,
        });
      default:
        try {
          await abortableSleep(interval, opts.signal);
        } catch (err) {
          if (!opts.signal?.aborted) throw err;
          throw interrupted(
            opts.signal,
            `Stopped following user ${id}'s training${status.trainingId ? ` ${status.trainingId}` : ""}; it goes on at Replicate. ` +
              `Follow it again with \`sselfie status --user ${id} --watch\`, or stop it with \`sselfie cancel --user ${id}\`.`,
            { userId: id },
          );
        }
    }
  }
}
