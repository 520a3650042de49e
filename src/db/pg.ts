/** The `Database` over a `pg` pool. `pg` is imported on first use, even when this module is bundled eagerly. */
import type { Pool, PoolClient, QueryResultRow } from "pg";
import { quoteIdent, type Database, type QueryResult, type Transaction } from "./types.js";

const INT8_OID = 20;

type TypeParsers = { getTypeParser(oid: number, format?: "text" | "binary"): unknown };
let types: TypeParsers | undefined;

// Per query rather than pg.types.setTypeParser: a pool handed in by a backend must keep its own global parsers.
async function loadTypes(): Promise<TypeParsers> {
  const pg = (await import("pg")).default;
  return {
    getTypeParser(oid, format) {
      if (oid === INT8_OID) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format);
    },
  };
}

type Client = Pool | PoolClient;

async function run<R>(client: Client, sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
  types ??= await loadTypes();
  const result = await client.query<QueryResultRow>({ text: sql, values: params ? [...params] : [], types });
  return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
}

async function exec(client: Client, sql: string): Promise<void> {
  // Without values, pg uses the simple query protocol, which accepts several statements.
  await client.query(sql);
}

export function createPgDatabase(pool: Pool, schema: string, opts: { ownsPool: boolean }): Database {
  let closed = false;
  return {
    kind: "pg",
    schema,
    s: quoteIdent(schema),
    query: (sql, params) => run(pool, sql, params),
    exec: (sql) => exec(pool, sql),
    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: unknown;
      try {
        await client.query("BEGIN");
        const tx: Transaction = {
          query: (sql, params) => run(client, sql, params),
          exec: (sql) => exec(client, sql),
        };
        const value = await fn(tx);
        await client.query("COMMIT");
        return value;
      } catch (err) {
        try {
          await client.query("ROLLBACK");
        } catch (rollbackErr) {
          // A connection that cannot roll back must not go back to the pool.
          broken = rollbackErr;
        }
        throw err;
      } finally {
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      if (opts.ownsPool) await pool.end();
    },
  };
}
