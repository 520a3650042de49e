/**
 * Replicate allows 1,000 models per account ("Note that there is a limit of 1,000 models per
 * account", its API docs for `POST /models`). The body of that refusal is unconfirmed: a 4xx
 * (not a rate limit) whose detail speaks of a limit of models is taken as it. The emulator
 * answers 400 "You have reached the limit of N models per account." (test/support/emulator/README.md).
 */
import { ReplicateError } from "../errors.js";
import { REPLICATE_ERROR_CODES } from "./error-mapping.js";

const LIMIT_WORDS = /\blimit\b/i;
const MODEL_WORDS = /\bmodels?\b/i;

export function isModelLimitRefusal(err: unknown): err is ReplicateError {
  if (!(err instanceof ReplicateError) || err.code === REPLICATE_ERROR_CODES.RATE_LIMITED) return false;
  if (err.status === undefined || err.status < 400 || err.status >= 500 || err.status === 429) return false;
  const text = `${err.detail ?? ""} ${err.message}`;
  return LIMIT_WORDS.test(text) && MODEL_WORDS.test(text);
}
