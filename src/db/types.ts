/**
 * The one small interface every query module is written against. Two implementations:
 * a `pg` pool (a server) and embedded PGlite (the default). SQL is the same on both.
 */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: "pg" | "pglite";
  /** The schema's name, unquoted (e.g. `sselfie`). */
  readonly schema: string;
  /** The schema's name as a quoted SQL identifier, to build `${db.s}.users`. */
  readonly s: string;
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Releases what this object opened (not a pool handed in by the caller). */
  close(): Promise<void>;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
