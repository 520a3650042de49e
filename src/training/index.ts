/** The training use-cases: train, status/refresh, wait, cancel. */
export { startTraining, type StartTrainingParams, type StartTrainingOptions, type StartTrainingResult } from "./start-training.js";
export { refreshTraining, getTrainingStatus, type RefreshTrainingOptions } from "./refresh-training.js";
export { waitForTraining, DEFAULT_TRAINING_POLL_MS, type WaitForTrainingOptions } from "./wait-for-training.js";
export { cancelTraining, type CancelTrainingOptions } from "./cancel-training.js";
export { PENDING_GRACE_MS, type ReconcileOptions } from "./reconcile.js";
export { STEPS_MIN, STEPS_MAX, validateSteps } from "./training-input.js";
export { mapReplicateStatus } from "./status-map.js";
export type { TrainingStatusResult } from "./training-status.js";
