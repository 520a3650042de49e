/** The public SDK surface of sselfie. */
export { createSselfie, type Sselfie, type SselfieOptions, type InitResult } from "./sselfie.js";
export { loadConfig, defaultHome, type SselfieConfig, type ConfigFlags } from "./config.js";
export {
  SselfieError,
  InvalidInputError,
  AuthenticationError,
  AuthorizationError,
  StateError,
  OutcomeError,
  ReplicateError,
  ConfigError,
  DatabaseError,
  isSselfieError,
  type ErrorDetails,
} from "./errors.js";
export {
  TRAINER_OWNER,
  TRAINER_NAME,
  TRAINER_VERSION,
  TRAINER_REF,
  GUIDANCE,
  LOCKED_GENERATION_INPUT,
  SEED_MIN,
  SEED_MAX,
  validateUserId,
  destinationModelName,
  destinationModelId,
  triggerWord,
  hashInput,
} from "./locked.js";
export { SCOPES, type Scope } from "./operators/tokens.js";
export type { Operator, CreatedOperator, Principal } from "./operators/operators.js";
export type { Database, Queryable, Transaction } from "./db/types.js";
export {
  startTraining,
  refreshTraining,
  getTrainingStatus,
  waitForTraining,
  cancelTraining,
  STEPS_MIN,
  STEPS_MAX,
  type StartTrainingParams,
  type StartTrainingResult,
  type TrainingStatusResult,
  type WaitForTrainingOptions,
} from "./training/index.js";
export { inspectImageSet, packageImageSet, INVALID_IMAGES } from "./training/dataset/index.js";
export {
  generate,
  resolveUserModel,
  recoverGeneration,
  applyPredictionUpdate,
  preparePrompt,
  type GenerateOptions,
  type GenerationResult,
  type UserModelRef,
} from "./generation/index.js";
export {
  handleReplicateWebhook,
  verifyReplicateWebhook,
  WebhookVerificationError,
  WEBHOOK_TOLERANCE_SECONDS,
  type WebhookRequest,
  type WebhookResult,
} from "./webhooks/index.js";
export type { SselfieContext } from "./context.js";
export {
  runAudit,
  toSarif,
  AUDIT_RULES,
  auditRule,
  type AuditOptions,
  type AuditReport,
  type AuditRule,
  type Violation,
  type UnverifiedModel,
} from "./audit/index.js";
