import type { Database } from "../../src/db/types.js";

/** Counts the statements a database handle runs (transactions' included), in order. */
export function counting(db: Database): { db: Database; statements: string[] } {
  const statements: string[] = [];
  const wrapped: Database = {
    ...db,
    query: (sql, params) => (statements.push(sql), db.query(sql, params)),
    exec: (sql) => (statements.push(sql), db.exec(sql)),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: (sql, params) => (statements.push(sql), tx.query(sql, params)),
          exec: (sql) => (statements.push(sql), tx.exec(sql)),
        }),
      ),
  };
  return { db: wrapped, statements };
}
