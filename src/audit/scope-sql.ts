/** SQL pieces every rule module shares: the audit's scope, the expected model id, 64-hex, completed trainings. */
import { MODEL_SUFFIX } from "../locked.js";
import type { SqlParams } from "./sql-check.js";

export interface AuditScope {
  /** Quoted schema name. */
  s: string;
  /** The owner model ids must have; null when unknown (no models at all). */
  owner: string | null;
  userId: string | null;
}

/**
 * `column` is 64 lowercase hex characters. Not `~ '^[0-9a-f]{64}$'`: PostgreSQL's regex engine
 * expands the bounded repetition and runs about ten times slower on a million rows.
 */
export function hex64Sql(column: string): string {
  return `(length(${column}) = 64 AND ${column} !~ '[^0-9a-f]')`;
}

/** `{owner}/{user_id}-selfie-lora` as SQL over the alias's `user_id`. */
export function expectedModelSql(p: SqlParams, owner: string | null, userIdColumn: string): string {
  return `(${p.add(owner, "text")} || '/' || ${userIdColumn} || ${p.add(MODEL_SUFFIX, "text")})`;
}

/**
 * Completed trainings, narrowed to what the joins need (a smaller hash table): with a unique
 * output_version, at most one matches a version.
 */
export function completedTrainingsSql(s: string): string {
  return `(SELECT output_version, user_id, least(finished_at, updated_at) AS done FROM ${s}.trainings WHERE status = 'completed')`;
}
