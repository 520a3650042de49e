/**
 * What the catalogue proves, so the audit may skip re-deriving it row by row. A rule is trusted
 * only when the constraint that enforces it exists, is validated (every row, old and new, was
 * checked) and is exactly the shipped one: a dropped, NOT VALID or weakened constraint, or a
 * replaced function, leaves the audit's per-row pass in place.
 */
import type { Transaction } from "../db/types.js";
import { MIGRATIONS } from "../db/migrations/index.js";

const INPUT_FUNCTION = "generation_input_locked";
const INPUT_ARGS = "(input, prompt, seed, input_hash)";

/** The body of generation_input_locked as migration 0002 creates it (pg_proc.prosrc keeps it verbatim). */
export function lockedInputFunctionBody(): string {
  const sql = MIGRATIONS.find((m) => m.version === 2)?.sql ?? "";
  const body = new RegExp(`CREATE FUNCTION :SCHEMA\\.${INPUT_FUNCTION}\\([^)]*\\)[^$]*AS \\$\\$([\\s\\S]*?)\\$\\$`).exec(sql)?.[1];
  if (body === undefined) throw new Error(`Migration 0002 no longer creates ${INPUT_FUNCTION}`);
  return body;
}

/**
 * A validated CHECK on generations whose whole definition is the shipped function of this schema
 * over (input, prompt, seed, input_hash), the function's text unchanged: every row then holds the
 * locked input (in one of its guidance forms) and its hash.
 */
export async function hasLockedInputConstraint(tx: Transaction, schema: string): Promise<boolean> {
  const { rows } = await tx.query<{ found: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = $1 AND t.relname = 'generations' AND c.contype = 'c' AND c.convalidated
         AND pg_get_constraintdef(c.oid) IN (
           'CHECK (' || quote_ident(n.nspname) || '.' || $2 || $3 || ')', 'CHECK (' || $2 || $3 || ')')
         AND (SELECT count(*) FROM pg_depend d WHERE d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
                AND d.refclassid = 'pg_proc'::regclass) = 1
         AND EXISTS (
           SELECT 1 FROM pg_depend d JOIN pg_proc p ON p.oid = d.refobjid
           JOIN pg_language l ON l.oid = p.prolang
           WHERE d.classid = 'pg_constraint'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_proc'::regclass
             AND p.pronamespace = n.oid AND p.proname = $2 AND l.lanname = 'sql' AND p.prosrc = $4)
     ) AS found`,
    [schema, INPUT_FUNCTION, INPUT_ARGS, lockedInputFunctionBody()],
  );
  return rows[0]?.found === true;
}

/**
 * The definitions (pg_get_constraintdef) of the validated CHECK constraints of `table`. A rule
 * is spared only when the exact definition that implies it is here: a dropped, NOT VALID or
 * altered constraint leaves its pass in place.
 */
export async function validatedChecks(tx: Transaction, schema: string, table: string): Promise<Set<string>> {
  const { rows } = await tx.query<{ def: string }>(
    `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND t.relname = $2 AND c.contype = 'c' AND c.convalidated`,
    [schema, table],
  );
  return new Set(rows.map((r) => r.def));
}

/** What 0001's checks read as in pg_get_constraintdef (PostgreSQL 12 to 17 print them alike). */
export const USER_ID_CHECK = (maxLength: number, pattern: string) =>
  `CHECK ((((length(id) >= 1) AND (length(id) <= ${maxLength})) AND (id ~ '${pattern}'::text)))`;
export const MODEL_TRIGGER_WORD_CHECK = "CHECK ((trigger_word = ('user'::text || user_id)))";
export const MODEL_VERSION_HEX_CHECK = "CHECK ((replicate_version_id ~ '^[0-9a-f]{64}$'::text))";
export const MODEL_COMPLETED_HAS_VERSION_CHECK = "CHECK (((training_status <> 'completed'::text) OR (replicate_version_id IS NOT NULL)))";
export const TRAINING_OUTPUT_VERSION_HEX_CHECK = "CHECK ((output_version ~ '^[0-9a-f]{64}$'::text))";

/** 0010's generated `trainings.version_ref`, as pg_get_expr prints it (whitespace folded). */
export const TRAINING_VERSION_REF_EXPRESSION =
  "CASE WHEN (status = 'completed'::text) THEN ((destination || ':'::text) || output_version) ELSE NULL::text END";

/**
 * trainings.version_ref is still 0010's stored generated column: the database computes it from
 * the row on every write, triggers on or off, and no one can write it. A plain column of that
 * name, or another expression, proves nothing.
 */
export async function hasShippedVersionRef(tx: Transaction, schema: string): Promise<boolean> {
  const { rows } = await tx.query<{ expr: string | null }>(
    `SELECT pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attribute a
       JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND t.relname = 'trainings' AND a.attname = 'version_ref' AND a.attgenerated = 's' AND NOT a.attisdropped`,
    [schema],
  );
  return rows.length === 1 && rows[0]!.expr?.replace(/\s+/g, " ").trim() === TRAINING_VERSION_REF_EXPRESSION;
}
