/** Rules over `users` and `user_models`: ids, model ids, trigger words, active versions. */
import { MODEL_SUFFIX, USER_ID_MAX_LENGTH } from "../locked.js";
import { MODEL_COMPLETED_HAS_VERSION_CHECK, MODEL_TRIGGER_WORD_CHECK, MODEL_VERSION_HEX_CHECK } from "./constraints.js";
import { expectedModelSql, hex64Sql, type AuditScope } from "./scope-sql.js";
import { SqlParams, type SqlRule, type TableCheck } from "./sql-check.js";

/** USER_ID_PATTERN of src/locked.ts, in PostgreSQL's regular-expression syntax. */
export const USER_ID_SQL_PATTERN = "^[a-z0-9]+([._-][a-z0-9]+)*$";

function scopeWhere(p: SqlParams, column: string, userId: string | null): string {
  return userId === null ? "true" : `${column} = ${p.add(userId, "text")}`;
}

interface UserRow {
  user_id: string;
}

/** `idChecked`: 0001's CHECK on users.id, validated, is this very rule: only the rows are counted. */
export function usersCheck(scope: AuditScope, opts: { idChecked: boolean } = { idChecked: false }): TableCheck<UserRow> {
  const p = new SqlParams();
  const where = scopeWhere(p, "x.id", scope.userId);
  return {
    with: "",
    from: `${scope.s}.users x`,
    where,
    detail: "x.id AS user_id",
    order: "x.id",
    params: p,
    rules: opts.idChecked
      ? []
      : [
          {
            id: "user.id",
            when: `NOT (length(x.id) BETWEEN 1 AND ${p.add(USER_ID_MAX_LENGTH, "int")} AND x.id ~ ${p.add(USER_ID_SQL_PATTERN, "text")})`,
          },
        ],
    describe: (_rule, row) => ({
      userId: row.user_id,
      message: `User id ${JSON.stringify(row.user_id)} cannot name a Replicate model: use 1-${USER_ID_MAX_LENGTH} lowercase letters and digits with single ".", "_" or "-" between them.`,
    }),
  };
}

interface ModelRow {
  user_id: string;
  replicate_model_id: string | null;
  replicate_version_id: string | null;
  trigger_word: string | null;
  training_status: string;
  expected_model_id: string | null;
  owner_configured: boolean | null;
  shared_with: string[] | null;
}

/**
 * `uniqueModelIdIndex`: a valid unique index on replicate_model_id (the schema ships one) makes a
 * shared model id impossible, which spares a pass over the table.
 */
export function userModelsCheck(
  scope: AuditScope,
  opts: { uniqueModelIdIndex: boolean; checks?: Set<string> },
): TableCheck<ModelRow> {
  const checks = opts.checks ?? new Set<string>();
  // 0001's validated checks prove the trigger word, and that a version is 64 hex characters and
  // present when completed; each rule they prove is dropped, or its test made cheaper.
  const versionHexChecked = checks.has(MODEL_VERSION_HEX_CHECK);
  const isHex = (column: string) => (versionHexChecked ? `(${column} IS NOT NULL)` : hex64Sql(column));
  const p = new SqlParams();
  const { s } = scope;
  // With several owners, a user's model is under their own recorded owner, a configured one.
  const expected = scope.perUserOwner
    ? `(x.owner || '/' || x.user_id || ${p.add(MODEL_SUFFIX, "text")})`
    : expectedModelSql(p, scope, "x.user_id");
  const ownerConfigured = scope.perUserOwner ? `coalesce(x.owner = ANY(${p.add(scope.configuredOwners ?? [], "text[]")}), false)` : "true";
  const where = scopeWhere(p, "x.user_id", scope.userId);
  const version = "x.replicate_version_id";
  const rules: SqlRule[] = [
    { id: "model.id", when: `x.replicate_model_id IS DISTINCT FROM ${expected} OR NOT ${ownerConfigured}` },
    ...(checks.has(MODEL_TRIGGER_WORD_CHECK) ? [] : [{ id: "model.trigger-word", when: `x.trigger_word IS DISTINCT FROM 'user' || x.user_id` }]),
    ...(versionHexChecked && checks.has(MODEL_COMPLETED_HAS_VERSION_CHECK)
      ? []
      : [{ id: "model.completed-version", when: `(x.training_status = 'completed' AND ${version} IS NULL) OR NOT ${hex64Sql(version)}` }]),
    // The source of the active version: a completed training of the user whose output it is,
    // looked up for every model by walking 0012's two indexes in user order side by side (a merge
    // anti-join) rather than hashing a million trainings (see settings).
    {
      id: "model.version-source",
      when: `${isHex(version)} AND NOT EXISTS (SELECT 1 FROM ${s}.trainings t
        WHERE t.user_id = x.user_id AND t.output_version = ${version} AND t.status = 'completed')`,
      alone: true,
    },
  ];
  const sharedWith = `ARRAY(SELECT o.user_id FROM ${s}.user_models o
      WHERE o.replicate_model_id = x.replicate_model_id AND o.user_id <> x.user_id ORDER BY o.user_id)`;
  if (!opts.uniqueModelIdIndex) {
    rules.push({
      id: "model.id-shared",
      when: `EXISTS (SELECT 1 FROM ${s}.user_models o WHERE o.replicate_model_id = x.replicate_model_id AND o.user_id <> x.user_id)`,
      alone: true,
    });
  }
  return {
    with: "",
    from: `${s}.user_models x`,
    where,
    // The planner costs the anti-join's hash lower than walking the two sorted indexes; at a
    // million users the hash took 0.6 s where this takes 0.2-0.3 s (bench/README.md).
    settings: { enable_hashjoin: "off" },
    detail: `x.user_id, x.replicate_model_id, x.replicate_version_id, x.trigger_word, x.training_status,
      ${expected} AS expected_model_id, ${ownerConfigured} AS owner_configured, ${opts.uniqueModelIdIndex ? "NULL::text[]" : sharedWith} AS shared_with`,
    order: "x.user_id",
    params: p,
    rules,
    describe: (rule, row) => {
      const base = { userId: row.user_id, modelId: row.replicate_model_id ?? undefined };
      switch (rule) {
        case "model.id":
          return {
            ...base,
            message:
              row.expected_model_id === null
                ? `Model id ${JSON.stringify(row.replicate_model_id)} cannot be checked: the owner is unknown.`
                : row.owner_configured === false
                  ? `Model ${row.replicate_model_id} is under owner ${JSON.stringify(row.replicate_model_id?.split("/")[0] ?? null)}, which is not a configured owner ` +
                    `(added: ${(scope.configuredOwners ?? []).filter((o) => o !== scope.owner).join(", ") || "none"}; implicit: ${scope.owner ?? "unknown"}).`
                  : `Model id ${JSON.stringify(row.replicate_model_id)} is not ${row.expected_model_id}.`,
          };
        case "model.id-shared":
          return {
            ...base,
            message: `Model ${row.replicate_model_id} is recorded for users ${(row.shared_with ?? []).join(", ")}.`,
          };
        case "model.trigger-word":
          return { ...base, message: `Trigger word ${JSON.stringify(row.trigger_word)} is not user${row.user_id}.` };
        case "model.completed-version":
          return {
            ...base,
            message:
              row.replicate_version_id === null
                ? `The model is ${row.training_status} but has no active version id.`
                : `Active version id ${JSON.stringify(row.replicate_version_id)} is not 64 hex characters.`,
          };
        default:
          return {
            ...base,
            versionRef: `${row.replicate_model_id}:${row.replicate_version_id}`,
            message: `Active version ${row.replicate_version_id} is not the output of any completed training of user ${row.user_id}.`,
          };
      }
    },
  };
}
