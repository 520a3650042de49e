/** Replicate's training statuses onto `training_status` (CONTRACT.md). */
import type { TrainingStatus } from "../db/user-models.js";
import type { TrainingStatus as ReplicateTrainingStatus } from "../replicate/index.js";

export function mapReplicateStatus(status: ReplicateTrainingStatus): TrainingStatus {
  switch (status) {
    case "starting":
    case "processing":
      return "training";
    case "succeeded":
      return "completed";
    case "failed":
    case "aborted":
      return "failed";
    case "canceled":
      return "canceled";
  }
}
