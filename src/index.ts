/**
 * The public SDK surface: one facade (`createSselfie` -> `Sselfie`), its option, parameter and
 * result types, the error classes, the locked constants and the pure validators. Nothing else:
 * use-case functions, the database and the gateway stay private behind the facade. The CLI
 * (src/cli) imports from this file only.
 */
export { createSselfie, type Sselfie, type SselfieOptions, type InitResult, type MigrateResult } from "./sselfie.js";
export type { RequestOptions } from "./sdk/request-options.js";
export type { StartTrainingParams, StartTrainingResult, TrainingStatusResult, WaitOptions } from "./sdk/trainings.js";
export type { EraseOptions, EraseProgress, EraseUserParams, EraseUserResult } from "./sdk/users.js";
export type {
  CreateGenerationParams,
  RecoverGenerationParams,
  GenerationOptions,
  GenerationProgress,
  GenerationResult,
  FinishedGeneration,
} from "./sdk/generations.js";
export type { UserModelRef } from "./sdk/models.js";
export type { CreateOperatorParams, AuthenticateParams, Operator, CreatedOperator, Principal } from "./sdk/operators.js";
export type { AddOwnerParams, DrainOwnerParams, Owner } from "./sdk/owners.js";
export type { TokenLookup } from "./owners/owner-gateways.js";
export type { AuditParams, AuditProgress, AuditReport } from "./sdk/audit.js";
export type { CostsParams, CostsReport, KindCosts } from "./sdk/costs.js";
export type { BudgetSetResult, BudgetsOverview, SetBudgetParams, UserBudget } from "./sdk/budgets.js";
export { DEFAULT_PRICE_PER_SECOND, validatePricePerSecond, validateSince, validateUsd } from "./costs/index.js";
export type { WebhookHandleOptions, WebhookRequest, WebhookResult } from "./sdk/webhooks.js";
export type { DatasetsResource, PrepareParams, PrepareOptions, PrepareResult } from "./datasets/index.js";
export type {
  PrepareProgress,
  PrepareReport,
  PreparedImageReport,
  DatasetProblem,
  DatasetSummary,
  FaceInfo,
  SourceFormat,
  MetadataKind,
} from "./datasets/types.js";
export type { ReconcileCallOptions, ReconcileItemError, ReconcileProgress, ReconcileReport } from "./reconcile/index.js";
export type { ServeParams, ServeOptions, WebhookServer, DeliveryCounts, LogEntry } from "./server/index.js";
export { validateServeParams, WEBHOOK_BODY_LIMIT_BYTES } from "./server/index.js";
export type { AuditRule, Violation, UnverifiedModel } from "./audit/index.js";
export type { ReplicateRetry } from "./replicate/retry-notice.js";

export {
  loadConfig,
  replicateTokenLookup,
  defaultHome,
  configFilePath,
  readConfigFile,
  saveConfigFile,
  type SselfieConfig,
  type ConfigFlags,
  type ConfigFile,
} from "./config.js";
export {
  SselfieError,
  InvalidInputError,
  AuthenticationError,
  AuthorizationError,
  StateError,
  OutcomeError,
  DownloadIncompleteError,
  BudgetExceededError,
  InterruptedError,
  ReplicateError,
  ConfigError,
  DatabaseError,
  isSselfieError,
  type ErrorDetails,
} from "./errors.js";
export { WebhookVerificationError, WEBHOOK_TOLERANCE_SECONDS } from "./webhooks/index.js";
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
  validateSeed,
  destinationModelName,
  destinationModelId,
  triggerWord,
} from "./locked.js";
export { SCOPES, type Scope } from "./operators/tokens.js";
export { validateOperatorName, validateScopes } from "./operators/operators.js";
export { quoteValue, QUOTED_MAX_CHARACTERS } from "./quote-value.js";
export { validateOwnerName, validateTokenEnv, validateCapacity, validateAddOwner } from "./owners/owners.js";
export { STEPS_MIN, STEPS_MAX, validateSteps } from "./training/index.js";
export { preparePrompt, PROMPT_MAX_LENGTH, type PreparedPrompt } from "./generation/index.js";
export { toSarif, AUDIT_RULES, auditRule } from "./audit/index.js";
export { toScanSarif, SCAN_RULES, USE_THE_SDK, scanRule } from "./scan/index.js";
export type { ScanFinding, ScanOptions, ScanParams, ScanParseError, ScanProgress, ScanReport, ScanRule, ScanRuleId } from "./scan/index.js";
