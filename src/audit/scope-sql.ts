/** SQL pieces every rule module shares: the audit's scope, the expected model id, 64-hex, completed trainings. */
import { MODEL_SUFFIX } from "../locked.js";
import type { SqlParams } from "./sql-check.js";

export interface AuditScope {
  /** Quoted schema name. */
  s: string;
  /** The implicit owner (configured or inferred); null when unknown (no models at all). */
  owner: string | null;
  userId: string | null;
  /**
   * Owners besides the implicit one exist (owners table): each user's model must then be under
   * the user's own recorded owner, which must be one of `configuredOwners`. Without, every model
   * is under the implicit owner, as before owners existed (and no lookup per row is needed).
   */
  perUserOwner?: boolean;
  /** Added owners and the implicit one. */
  configuredOwners?: readonly string[];
}

/**
 * `column` is 64 lowercase hex characters. Not `~ '^[0-9a-f]{64}$'`: PostgreSQL's regex engine
 * expands the bounded repetition and runs about ten times slower on a million rows.
 */
export function hex64Sql(column: string): string {
  return `(length(${column}) = 64 AND ${column} !~ '[^0-9a-f]')`;
}

/**
 * `{owner}/{user_id}-selfie-lora` as SQL over the alias's `user_id`: the implicit owner, or with
 * several owners the user's recorded owner (user_models.owner, by primary key).
 */
export function expectedModelSql(p: SqlParams, scope: Pick<AuditScope, "s" | "owner" | "perUserOwner">, userIdColumn: string): string {
  const implicit = p.add(scope.owner, "text");
  const owner = scope.perUserOwner
    ? `coalesce((SELECT um.owner FROM ${scope.s}.user_models um WHERE um.user_id = ${userIdColumn}), ${implicit})`
    : implicit;
  return `(${owner} || '/' || ${userIdColumn} || ${p.add(MODEL_SUFFIX, "text")})`;
}

/**
 * Completed trainings, narrowed to what the joins need (0012's index of completed trainings holds
 * what the generations' check reads with `versionRef`). `done` is when the outcome was known on
 * both clocks (see generation-checks.ts).
 */
export function completedTrainingsSql(s: string, opts: { versionRef?: boolean } = {}): string {
  return `(SELECT id, output_version, user_id, least(finished_at, updated_at) AS done${opts.versionRef ? ", version_ref" : ""} FROM ${s}.trainings WHERE status = 'completed')`;
}
