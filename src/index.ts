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
