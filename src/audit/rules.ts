/**
 * Every audit rule: a stable id (CI scripts and SARIF viewers key on it), a one-line explanation
 * of what must hold, and how to fix a finding. `audit` never changes data, so every fix is a step
 * an operator takes.
 */
import { TRAINER_REF } from "../locked.js";

export type AuditRuleScope = "database" | "remote";

export interface AuditRule {
  readonly id: string;
  readonly scope: AuditRuleScope;
  /** What must hold, in one line. */
  readonly explanation: string;
  /** What to do about a finding. */
  readonly fix: string;
}

const rule = (id: string, scope: AuditRuleScope, explanation: string, fix: string): AuditRule =>
  Object.freeze({ id, scope, explanation, fix });

export const AUDIT_RULES: readonly AuditRule[] = Object.freeze([
  rule(
    "user.id",
    "database",
    "A user id is 1-50 lowercase letters and digits with single '.', '_' or '-' between them, so that {userId}-selfie-lora is a valid model name.",
    "The row was written around sselfie, which refuses such ids: rename or remove the user by hand.",
  ),
  rule(
    "model.id",
    "database",
    "The user's model id is exactly {owner}/{userId}-selfie-lora, where {owner} is the user's recorded owner and a configured one (added with `sselfie owners add`, or the implicit REPLICATE_OWNER).",
    "Correct user_models.replicate_model_id (and check REPLICATE_OWNER and `sselfie owners list`); if the model at Replicate is wrong too, retrain the user with `sselfie train`.",
  ),
  rule(
    "model.id-shared",
    "database",
    "No model id is recorded for two users.",
    "Find which user the model belongs to; give the other user their own model id and retrain them with `sselfie train`.",
  ),
  rule(
    "model.trigger-word",
    "database",
    "The user's trigger word is exactly user{userId}.",
    "Set user_models.trigger_word to user{userId}; if a training used another trigger word, retrain the user with `sselfie train`.",
  ),
  rule(
    "model.completed-version",
    "database",
    "A completed model has an active version id, and every active version id is 64 hex characters.",
    "Run `sselfie status --user <id>` to record the version from Replicate, or retrain the user with `sselfie train`.",
  ),
  rule(
    "model.version-source",
    "database",
    "The active version is the output of a completed training of that user.",
    "Run `sselfie status --user <id>` to record the training's outcome; if no training of the user produced the version, retrain the user.",
  ),
  rule(
    "training.trainer",
    "database",
    `Every training used the locked trainer ${TRAINER_REF}.`,
    "Retrain the user with `sselfie train`, which always uses the locked trainer; do not generate from a version another trainer made.",
  ),
  rule(
    "training.destination",
    "database",
    "Every training's destination is the user's own model {owner}/{userId}-selfie-lora.",
    "Retrain the user with `sselfie train`; check whose model the recorded destination is.",
  ),
  rule(
    "training.trigger-word",
    "database",
    "Every training was started with trigger_word user{userId}.",
    "Retrain the user with `sselfie train`, which always sends the user's own trigger word.",
  ),
  rule(
    "training.output-version",
    "database",
    "A completed training records the 64-hex id of the version it produced.",
    "Run `sselfie status --user <id>` to record the training's output from Replicate.",
  ),
  rule(
    "training.identity-checked",
    "database",
    "Every training records that its photo set passed the identity check (one person throughout, the user's own face), or that the operator replaced the user's identity with --replace-identity.",
    "Check the user's photos with `sselfie prepare`, then retrain the user with `sselfie train`: a model trained on unchecked photos may show someone else.",
  ),
  rule(
    "version.shared",
    "database",
    "No version id is recorded as the output of trainings of two different users.",
    "A version belongs to one model: find the user whose model made it and retrain the other user with `sselfie train`.",
  ),
  rule(
    "generation.model",
    "database",
    "Every generation used the user's own model: version_ref is {owner}/{userId}-selfie-lora:{64 hex}.",
    "Investigate who made this generation and how; sselfie only ever generates from the user's own model.",
  ),
  rule(
    "generation.no-completed-model",
    "database",
    "No generation was recorded for a user who had no completed model at that time.",
    "Investigate who made this generation and how; train the user first (`sselfie train --wait`) before generating.",
  ),
  rule(
    "generation.version",
    "database",
    "Every generation used a version that a completed training of that user had produced by then.",
    "Investigate who made this generation and how; generate only from the user's completed version (`sselfie status --user <id>`).",
  ),
  rule(
    "generation.input",
    "database",
    "Every generation sent exactly the locked input: prompt, seed, guidance 2.8 under the name the version declares, and the fixed parameters, nothing else.",
    "Investigate who made this generation and how; `sselfie generate` always sends the locked input.",
  ),
  rule(
    "generation.input-hash",
    "database",
    "Every generation's input_hash is the sha256 of its stored input in canonical JSON.",
    "The record was changed after it was written: compare it with the prediction at Replicate and the operator_events log.",
  ),
  rule(
    "owner.capacity",
    "database",
    "No owner holds more users than its capacity (the implicit owner without a row: 1,000).",
    "Raise the owner's capacity only if its Replicate account allows more models; otherwise erase or retrain the users past it after adding an owner (`sselfie owners add`).",
  ),
  rule(
    "erasure.rows",
    "database",
    "No row of an erased user remains from before the erasure (users, user_models, trainings, generations); a later `train` starts a new user.",
    "Run `sselfie erase --user <id>` again: it resumes, or finds what is left and removes it.",
  ),
  rule(
    "generation.unfinished",
    "database",
    "No generation is left unfinished: every prediction a process created (and paid for) has its final state recorded and its images saved, unless the process making it is still at work.",
    "Run `sselfie status --user <id>`: it finds the prediction at Replicate, records its outcome and saves its images in the folder recorded with it (Replicate keeps them an hour after it ends).",
  ),
  rule(
    "remote.model-missing",
    "remote",
    "The user's model exists on Replicate.",
    "Retrain the user with `sselfie train`, which creates the model (private) when missing.",
  ),
  rule(
    "remote.model-public",
    "remote",
    "The user's model on Replicate is private.",
    "Make the model private in its settings on replicate.com at once, then check who used it.",
  ),
  rule(
    "remote.version-missing",
    "remote",
    "The active version exists on Replicate under the user's own model.",
    "Retrain the user with `sselfie train`; until then generation for the user fails.",
  ),
  rule(
    "remote.version-inputs",
    "remote",
    "The active version's input schema declares every locked input and accepts its value.",
    "Retrain the user with the locked trainer (`sselfie train`); generation for the user is refused until then.",
  ),
  rule(
    "remote.training-output",
    "remote",
    "The latest succeeded training of the user at Replicate produced the stored active version.",
    "Run `sselfie status --user <id>` to record the training's outcome; if the output names another model, retrain the user.",
  ),
  rule(
    "erasure.remote-model",
    "remote",
    "An erased user's model no longer exists on Replicate (unless the user was trained again since).",
    "Run `sselfie erase --user <id>` again; it deletes the versions and the model.",
  ),
  rule(
    "remote.unverified",
    "remote",
    "Every model could be checked at Replicate; a model that could not be checked is not reported compliant.",
    "Run the audit again later; if it persists, check REPLICATE_API_TOKEN, the account's rate limit and Replicate's status.",
  ),
]);

const BY_ID = new Map(AUDIT_RULES.map((r) => [r.id, r]));

export function auditRule(id: string): AuditRule {
  const found = BY_ID.get(id);
  if (!found) throw new Error(`Unknown audit rule ${id}`);
  return found;
}
