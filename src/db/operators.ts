import type { Queryable } from "./types.js";

export interface OperatorRow {
  id: string;
  name: string;
  token_hash: string;
  token_prefix: string;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export async function countOperators(db: Queryable, s: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.operators`);
  return rows[0]?.n ?? 0;
}

export async function insertOperator(
  db: Queryable,
  s: string,
  op: { name: string; tokenHash: string; tokenPrefix: string; scopes: readonly string[] },
): Promise<OperatorRow> {
  const { rows } = await db.query<OperatorRow>(
    `INSERT INTO ${s}.operators (name, token_hash, token_prefix, scopes) VALUES ($1, $2, $3, $4) RETURNING *`,
    [op.name, op.tokenHash, op.tokenPrefix, op.scopes],
  );
  return rows[0]!;
}

/** An operator as authentication reads it: with whether its token was used within the last minute (by the database's clock). */
export interface AuthOperatorRow extends OperatorRow {
  used_within_a_minute: boolean;
}

const USED_WITHIN_A_MINUTE = `coalesce(last_used_at >= now() - interval '1 minute', false) AS used_within_a_minute`;

export async function findOperatorByTokenHash(db: Queryable, s: string, tokenHash: string): Promise<AuthOperatorRow | null> {
  const { rows } = await db.query<AuthOperatorRow>(`SELECT *, ${USED_WITHIN_A_MINUTE} FROM ${s}.operators WHERE token_hash = $1`, [tokenHash]);
  return rows[0] ?? null;
}

/**
 * The operator holding a token hash, read in the same statement as the versions the schema's
 * migrations table lists (the check every verb makes first; see SdkCore.readyWith). Fails with
 * undefined_table where the schema has no migrations table.
 */
export async function findOperatorWithAppliedVersions(
  db: Queryable,
  s: string,
  tokenHash: string,
): Promise<{ applied: number[]; value: AuthOperatorRow | null }> {
  const { rows } = await db.query<{ [K in keyof AuthOperatorRow]: AuthOperatorRow[K] | null } & { sselfie_applied_versions: number[] | null }>(
    `SELECT m.sselfie_applied_versions, o.*
       FROM (SELECT array_agg(version) AS sselfie_applied_versions FROM ${s}.migrations) m
       LEFT JOIN (SELECT *, ${USED_WITHIN_A_MINUTE} FROM ${s}.operators WHERE token_hash = $1) o ON true`,
    [tokenHash],
  );
  const { sselfie_applied_versions: applied, ...row } = rows[0]!;
  return { applied: applied ?? [], value: row.id === null ? null : (row as AuthOperatorRow) };
}

export async function listOperatorRows(db: Queryable, s: string): Promise<OperatorRow[]> {
  const { rows } = await db.query<OperatorRow>(`SELECT * FROM ${s}.operators ORDER BY created_at, id`);
  return rows;
}

/** Active (unrevoked) operators holding the admin scope, other than `except`. */
export async function countOtherActiveAdmins(db: Queryable, s: string, except: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${s}.operators WHERE revoked_at IS NULL AND 'admin' = ANY(scopes) AND name <> $1`,
    [except],
  );
  return rows[0]?.n ?? 0;
}

export async function findOperatorByName(db: Queryable, s: string, name: string): Promise<OperatorRow | null> {
  const { rows } = await db.query<OperatorRow>(`SELECT * FROM ${s}.operators WHERE name = $1`, [name]);
  return rows[0] ?? null;
}

/** Returns the revoked row, or null when no unrevoked operator has that name. */
export async function revokeOperatorRow(db: Queryable, s: string, name: string): Promise<OperatorRow | null> {
  const { rows } = await db.query<OperatorRow>(
    `UPDATE ${s}.operators SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING *`,
    [name],
  );
  return rows[0] ?? null;
}

/**
 * Records a use, to the minute: a token used again within a minute is not written again. Every
 * command authenticates, and on the embedded database its first write was measured at 0.4 s of a
 * read-only command's 2.5 s on a loaded machine. (Authentication does not even send this for a
 * token its read found used within the minute.)
 */
export async function touchOperator(db: Queryable, s: string, id: string): Promise<void> {
  await db.query(
    `UPDATE ${s}.operators SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [id],
  );
}
