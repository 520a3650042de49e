/**
 * The one small interface every query module is written against. Two implementations:
 * a `pg` pool (a server) and embedded PGlite (the default). SQL is the same on both.
 *
 * Values read back are the same on both: int/bigint -> number (ids and counts stay far below
 * 2^53), numeric -> string, timestamptz -> Date, jsonb -> parsed value, text[] -> string[].
 * Pass jsonb parameters as `JSON.stringify(value)`: `pg` would turn a JS array into a
 * PostgreSQL array literal, not JSON.
 */
export interface QueryResult<R> {
  rows: R[];
  /** Rows returned, or rows changed by INSERT/UPDATE/DELETE without RETURNING. */
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** What a transaction's callback receives. */
export interface Transaction extends Queryable {
  /** Runs several `;`-separated statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Transaction {
  readonly kind: "pg" | "pglite";
  /** The schema's name, unquoted (e.g. `sselfie`). */
  readonly schema: string;
  /** The schema's name as a quoted SQL identifier, to build `${db.s}.users`. */
  readonly s: string;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Releases what this object opened (not a pool handed in by the caller). Idempotent. */
  close(): Promise<void>;
}

/** A schema name sselfie accepts: a plain lowercase SQL identifier. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
