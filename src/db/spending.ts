/**
 * `user_spending` and `budgets` (migration 0007). Every change of a user's spent or reserved total
 * is part of the very statement that changes the training or generation row it comes from (a CTE),
 * so the totals cannot drift from the rows, whatever process dies when:
 *   - reserve: one UPDATE whose WHERE holds the cap (spent + reserved + estimate <= cap), in the
 *     statement (or transaction) that inserts the row with its `estimate_usd`;
 *   - settle: when the row reaches a final state, reserved -= estimate_usd, spent += cost_usd;
 *   - release: when the row ends without anything created (or is deleted), reserved -= estimate_usd.
 */
import type { Queryable } from "./types.js";

/** The user's cap: their own budget, else the default ('*'), else NULL (unlimited). */
export const capSql = (s: string, userParam: string) =>
  `COALESCE((SELECT usd FROM ${s}.budgets WHERE user_id = ${userParam}), (SELECT usd FROM ${s}.budgets WHERE user_id = '*'))`;

/**
 * CTE `reserved`: adds `estimateParam` to the user's reserved total when it fits under the cap, and
 * returns the user's row then; empty when it does not fit. The row lock makes concurrent
 * reservations queue, and each re-checks the WHERE against the total the previous one committed.
 */
export function reserveCte(s: string, userParam: string, estimateParam: string): string {
  return `reserved AS (
      UPDATE ${s}.user_spending us SET reserved_usd = us.reserved_usd + ${estimateParam}::numeric
       WHERE us.user_id = ${userParam}
         AND (${capSql(s, userParam)} IS NULL
              OR us.spent_usd + us.reserved_usd + ${estimateParam}::numeric <= ${capSql(s, userParam)})
      RETURNING us.user_id)`;
}

/**
 * CTE `settled`: for the row of CTE `source` (columns user_id, cost_usd, estimate_usd; at most one
 * row) that ended in this statement, moves its estimate out of reserved and its cost into spent.
 * (EXCLUDED.reserved_usd carries the estimate to subtract; a user without a spending row had
 * nothing reserved, so inserting it there is inserting 0.)
 */
export function settleCte(source: string, s: string): string {
  return `settled AS (
      INSERT INTO ${s}.user_spending AS us (user_id, spent_usd, reserved_usd)
      SELECT user_id, COALESCE(cost_usd, 0), estimate_usd FROM ${source}
      ON CONFLICT (user_id) DO UPDATE
        SET spent_usd = us.spent_usd + EXCLUDED.spent_usd,
            reserved_usd = GREATEST(us.reserved_usd - EXCLUDED.reserved_usd, 0))`;
}

/** Makes sure the user has a spending row (the reservation UPDATE needs one to lock). */
export async function ensureSpendingRow(db: Queryable, s: string, userId: string): Promise<void> {
  await db.query(`INSERT INTO ${s}.user_spending (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, [userId]);
}

/** Reserves `estimateUsd` for the user in one statement; false when it does not fit under the cap. */
export async function reserveSpending(db: Queryable, s: string, userId: string, estimateUsd: string): Promise<boolean> {
  const { rows } = await db.query(`WITH ${reserveCte(s, "$1", "$2")} SELECT user_id FROM reserved`, [userId, estimateUsd]);
  return rows.length === 1;
}

export interface SpendingState {
  spent: string;
  reserved: string;
  /** NULL: no budget (unlimited). */
  cap: string | null;
  /** Where the cap comes from. */
  capSource: "user" | "default" | null;
}

/** Exact decimal strings, as the database holds them. */
export async function getSpendingState(db: Queryable, s: string, userId: string): Promise<SpendingState> {
  const { rows } = await db.query<{ spent: string | null; reserved: string | null; own: string | null; fallback: string | null }>(
    `SELECT (SELECT spent_usd::text FROM ${s}.user_spending WHERE user_id = $1) AS spent,
            (SELECT reserved_usd::text FROM ${s}.user_spending WHERE user_id = $1) AS reserved,
            (SELECT usd::text FROM ${s}.budgets WHERE user_id = $1) AS own,
            (SELECT usd::text FROM ${s}.budgets WHERE user_id = '*') AS fallback`,
    [userId],
  );
  const r = rows[0]!;
  return {
    spent: r.spent ?? "0",
    reserved: r.reserved ?? "0",
    cap: r.own ?? r.fallback,
    capSource: r.own !== null ? "user" : r.fallback !== null ? "default" : null,
  };
}

/** Sets (replaces) a cap: a user's own, or the default with `subject` '*'. */
export async function upsertBudget(db: Queryable, s: string, subject: string, usd: string, operator: string | null): Promise<void> {
  await db.query(
    `INSERT INTO ${s}.budgets (user_id, usd, operator) VALUES ($1, $2::numeric, $3)
     ON CONFLICT (user_id) DO UPDATE SET usd = EXCLUDED.usd, operator = EXCLUDED.operator, updated_at = now()`,
    [subject, usd, operator],
  );
}

export async function getBudgetRow(db: Queryable, s: string, subject: string): Promise<{ usd: string; updated_at: Date } | null> {
  const { rows } = await db.query<{ usd: string; updated_at: Date }>(`SELECT usd::text AS usd, updated_at FROM ${s}.budgets WHERE user_id = $1`, [subject]);
  return rows[0] ?? null;
}
