/** What `status` reports for a user, read from the database only. */
import { getModelAndLatestTraining, type TrainingRow } from "../db/trainings.js";
import type { TrainingStatus } from "../db/user-models.js";
import type { Queryable } from "../db/types.js";

export interface TrainingStatusResult {
  userId: string;
  /** The latest training's status, or "none" when the user never trained. */
  status: TrainingStatus | "none";
  modelId: string | null;
  /** The active version: the last one a succeeded training produced. */
  versionId: string | null;
  /** Replicate's id of the latest training (null while it is being started). */
  trainingId: string | null;
  progress: { step: number; total: number } | null;
  error: string | null;
  /** 0..100 from the trainer's log, when it printed its bar. */
  percent: number | null;
  etaSeconds: number | null;
  /** Seconds of compute Replicate billed, once the training ended. */
  predictTime: number | null;
  /** Replicate's own status word (keeps `aborted` apart from `failed`). */
  replicateStatus: string | null;
}

export async function readTrainingStatus(db: Queryable, s: string, userId: string): Promise<TrainingStatusResult> {
  const { model, latest } = await getModelAndLatestTraining(db, s, userId);
  return toStatusResult(userId, model, latest);
}

export function toStatusResult(
  userId: string,
  model: { replicate_model_id: string; replicate_version_id: string | null; training_status: TrainingStatus; error: string | null } | null,
  latest: TrainingRow | null,
): TrainingStatusResult {
  const progress = latest?.progress ?? null;
  const active = latest !== null && (latest.status === "pending" || latest.status === "training");
  return {
    userId,
    status: model?.training_status ?? latest?.status ?? "none",
    modelId: model?.replicate_model_id ?? latest?.destination ?? null,
    versionId: model?.replicate_version_id ?? null,
    trainingId: latest?.replicate_training_id ?? null,
    progress: progress ? { step: progress.step, total: progress.total } : null,
    error: model ? model.error : latest?.error ?? null,
    percent: progress ? progress.percent : null,
    etaSeconds: active && progress?.etaSeconds !== undefined ? progress.etaSeconds : null,
    predictTime: latest?.predict_time ?? null,
    replicateStatus: latest?.replicate_status ?? null,
  };
}
