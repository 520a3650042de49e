/**
 * The database half of the audit: every rule of every table, in one read-only transaction, so the
 * tables are seen at one instant (a training recorded between two queries cannot make a clean
 * generation look orphaned) and the audit cannot change data even by mistake.
 */
import type { Database, Transaction } from "../db/types.js";
import { GUIDANCE_KEYS, USER_ID_MAX_LENGTH } from "../locked.js";
import { TRAINING_OUTPUT_VERSION_HEX_CHECK, USER_ID_CHECK, hasLockedInputConstraint, hasShippedVersionRef, validatedChecks } from "./constraints.js";
import { erasuresCheck } from "./erasure-checks.js";
import { generationsCheck, loadUnusualSchemas } from "./generation-checks.js";
import { USER_ID_SQL_PATTERN, userModelsCheck, usersCheck } from "./model-checks.js";
import type { AuditScope } from "./scope-sql.js";
import { auditOwnerCapacity } from "./owner-checks.js";
import { runTableCheck, type FindingFields, type TableCheckResult } from "./sql-check.js";
import { trainingsCheck } from "./training-checks.js";
import { UNFINISHED_RULE, unfinishedGenerationFindings } from "./unfinished-generations.js";

/** Hash aggregates over a million users want more than PostgreSQL's default 4 MB. */
export const AUDIT_WORK_MEM = "128MB";

export interface DatabaseAuditResult {
  checked: { users: number; models: number; trainings: number; generations: number };
  /** Finished erasures in scope (not part of the report's `checked`). */
  erasures: number;
  counts: Map<string, number>;
  listed: Array<{ rule: string } & FindingFields>;
}

export async function auditDatabase(
  db: Database,
  scope: Omit<AuditScope, "s">,
  opts: { maxPerRule: number },
  then?: (tx: Transaction) => Promise<void>,
): Promise<DatabaseAuditResult> {
  const full: AuditScope = { ...scope, s: db.s };
  return db.transaction(async (tx) => {
    await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    await tx.query(`SET LOCAL work_mem = '${AUDIT_WORK_MEM}'`);
    // The JIT compiles these wide expressions for seconds and wins back less than it spends.
    await tx.query("SET LOCAL jit = off");
    if (scope.userId === null) {
      // Row estimates for these conditions are guesses, and a wrong guess turns a whole-table
      // anti-join into a million index lookups. For one user, lookups are the right plan.
      await tx.query("SET LOCAL enable_nestloop = off");
    }
    const uniqueModelIdIndex = await hasUniqueIndex(tx, db.schema, "user_models", "replicate_model_id");
    const uniqueOutputVersionIndex = await hasUniqueIndex(tx, db.schema, "trainings", "output_version");
    const lockedInputConstraint = await hasLockedInputConstraint(tx, db.schema);
    const guidanceKeyIndex = await hasPartialIndex(tx, db.schema, "generations", `(input ? '${GUIDANCE_KEYS[1]}'::text)`);
    const results: Record<string, TableCheckResult> = {};
    // One after another: a transaction has one connection.
    const idChecked = (await validatedChecks(tx, db.schema, "users")).has(USER_ID_CHECK(USER_ID_MAX_LENGTH, USER_ID_SQL_PATTERN));
    const modelChecks = await validatedChecks(tx, db.schema, "user_models");
    results.users = await runTableCheck(tx, usersCheck(full, { idChecked }), opts.maxPerRule);
    results.trainings = await runTableCheck(tx, trainingsCheck(full, {
        uniqueOutputVersionIndex,
        outputVersionHexChecked: (await validatedChecks(tx, db.schema, "trainings")).has(TRAINING_OUTPUT_VERSION_HEX_CHECK),
      }), opts.maxPerRule);
    results.models = await runTableCheck(tx, userModelsCheck(full, { uniqueModelIdIndex, checks: modelChecks }), opts.maxPerRule);
    // The trainings pass's findings are part of the proof that settles clean generations at once.
    const versionRefProven =
      !results.trainings.counts.has("training.destination") &&
      !results.trainings.counts.has("training.output-version") &&
      (await hasShippedVersionRef(tx, db.schema));
    const unusual = await loadUnusualSchemas(tx, db.s);
    results.generations = await runTableCheck(
      tx,
      generationsCheck(full, unusual, { lockedInputConstraint, guidanceKeyIndex, versionRefProven }),
      opts.maxPerRule,
    );
    results.erasures = await runTableCheck(tx, erasuresCheck(full), opts.maxPerRule);
    const unfinished = await unfinishedGenerationFindings(tx, db.s, { userId: scope.userId });
    if (then) await then(tx);
    const counts = new Map<string, number>();
    const listed: DatabaseAuditResult["listed"] = [];
    for (const r of Object.values(results)) {
      for (const [rule, n] of r.counts) counts.set(rule, (counts.get(rule) ?? 0) + n);
      listed.push(...r.listed);
    }
    // A pool-wide rule: audited with every user, not for one.
    if (scope.userId === null) {
      const capacity = await auditOwnerCapacity(tx, db.s, scope.owner, opts.maxPerRule);
      if (capacity.count > 0) counts.set("owner.capacity", capacity.count);
      listed.push(...capacity.listed);
    }
    if (unfinished.count > 0) {
      counts.set(UNFINISHED_RULE, unfinished.count);
      listed.push(...unfinished.findings.slice(0, opts.maxPerRule));
    }
    return {
      checked: {
        users: results.users!.rows,
        models: results.models!.rows,
        trainings: results.trainings!.rows,
        generations: results.generations!.rows,
      },
      erasures: results.erasures!.rows,
      counts,
      listed,
    };
  });
}

/** Whether `table` of `schema` has a valid index meeting `condition` (over pg_index `i`, from $3 on). */
async function hasIndex(tx: Transaction, schema: string, table: string, condition: string, params: unknown[]): Promise<boolean> {
  const { rows } = await tx.query<{ found: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = $2 AND i.indisvalid AND ${condition}
     ) AS found`,
    [schema, table, ...params],
  );
  return rows[0]?.found === true;
}

/**
 * A valid unique index on exactly `column` (whole, or over its non-null values) makes duplicates
 * impossible, so the pass that looks for them can be skipped. Without one (a dropped constraint),
 * the pass runs.
 */
function hasUniqueIndex(tx: Transaction, schema: string, table: string, column: string): Promise<boolean> {
  return hasIndex(
    tx,
    schema,
    table,
    `i.indisunique AND i.indnkeyatts = 1 AND i.indexprs IS NULL
       AND (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = i.indkey[0]) = $3
       AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = '(' || quote_ident($3) || ' IS NOT NULL)')`,
    [column],
  );
}

/**
 * A valid index of `table` whose predicate is exactly `predicate` (as pg_get_expr prints it). It
 * proves nothing: a query with the same WHERE is answered right with or without it. It only tells
 * whether asking that question costs a few index pages or a scan of the whole table.
 */
function hasPartialIndex(tx: Transaction, schema: string, table: string, predicate: string): Promise<boolean> {
  return hasIndex(tx, schema, table, `i.indisready AND i.indpred IS NOT NULL AND pg_get_expr(i.indpred, i.indrelid) = $3`, [predicate]);
}
