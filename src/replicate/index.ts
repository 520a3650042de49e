export {
  createReplicateGateway,
  DEFAULT_BASE_URL,
  DEFAULT_MODEL_HARDWARE,
  type CreatePredictionParams,
  type CreateTrainingParams,
  type ReplicateGateway,
  type ReplicateGatewayOptions,
  type WebhookEvent,
} from "./gateway.js";
export {
  isTerminalStatus,
  STATUSES,
  TERMINAL_STATUSES,
  VERSION_REF_PATTERN,
  type Account,
  type FileObject,
  type Model,
  type Prediction,
  type PredictionStatus,
  type TerminalStatus,
  type Training,
  type TrainingStatus,
  type Version,
  type VersionInputSchema,
  type Visibility,
} from "./schemas.js";
export { parseTrainingProgress, TRAINING_PROGRESS_PREFIX, type TrainingProgress } from "./progress.js";
export { parseVersionRef, type VersionRef } from "./version-ref.js";
export { REPLICATE_ERROR_CODES, type ReplicateErrorCode } from "./error-mapping.js";
export { backoffMs, parseRateLimitReset, parseResetHint, parseRetryAfter, rateLimitWait } from "./retry-policy.js";
export { type ReplicateRetry, type RetryListener } from "./retry-notice.js";
export { createGatewayPool, type GatewayPool } from "./gateway-pool.js";
export { isModelLimitRefusal } from "./model-limit.js";
