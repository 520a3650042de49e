/** Reading what the costs work recorded: rows' metrics and costs, and the users' spending totals. */
import { expect } from "vitest";
import type { Database } from "../../src/db/types.js";

export interface CostRow {
  id: number;
  user_id: string;
  status: string;
  predict_time: number | null;
  total_time: number | null;
  price_per_second: string | null;
  cost_usd: string | null;
  estimate_usd: string;
}

export async function costRows(db: Database, table: "trainings" | "generations", userId?: string): Promise<CostRow[]> {
  const { rows } = await db.query<CostRow>(
    `SELECT id, user_id, status, predict_time, total_time, trim_scale(price_per_second)::text AS price_per_second, trim_scale(cost_usd)::text AS cost_usd,
            trim_scale(estimate_usd)::text AS estimate_usd
       FROM ${db.s}.${table} WHERE $1::text IS NULL OR user_id = $1 ORDER BY id`,
    [userId ?? null],
  );
  return rows;
}

export async function spending(db: Database, userId: string): Promise<{ spent: string; reserved: string } | null> {
  const { rows } = await db.query<{ spent: string; reserved: string }>(
    `SELECT trim_scale(spent_usd)::text AS spent, trim_scale(reserved_usd)::text AS reserved FROM ${db.s}.user_spending WHERE user_id = $1`,
    [userId],
  );
  return rows[0] ?? null;
}

/** Exact decimal product, as the database computes it. */
export async function times(db: Database, a: number | string, b: string): Promise<string> {
  const { rows } = await db.query<{ p: string }>(`SELECT trim_scale($1::numeric * $2::numeric)::text AS p`, [String(a), b]);
  return rows[0]!.p;
}

/**
 * The row's cost is Replicate's predict_time (as the emulator reported it) x the price, exactly,
 * with the price and total_time recorded beside it.
 */
export async function expectCostOf(db: Database, row: CostRow, job: { metrics: Record<string, unknown> } | undefined, price: string): Promise<void> {
  expect(job).toBeDefined();
  const m = job!.metrics as { predict_time: number; total_time: number };
  expect(m.predict_time).toBeGreaterThan(0);
  expect(row.predict_time).toBe(m.predict_time);
  expect(row.total_time).toBe(m.total_time);
  expect(row.price_per_second).toBe(price);
  expect(row.cost_usd).toBe(await times(db, m.predict_time, price));
  expect(Number(row.cost_usd)).toBeCloseTo(m.predict_time * Number(price), 12);
}

/** user_spending agrees with the rows: spent = their costs, reserved = the estimates of unfinished ones. */
export async function expectSpendingConsistent(db: Database, userId: string): Promise<{ spent: string; reserved: string }> {
  const { rows } = await db.query<{ spent: string; reserved: string }>(
    `SELECT (SELECT COALESCE(sum(cost_usd), 0) FROM (SELECT cost_usd FROM ${db.s}.trainings WHERE user_id = $1
                                                    UNION ALL SELECT cost_usd FROM ${db.s}.generations WHERE user_id = $1) c)::text AS spent,
            (SELECT COALESCE(sum(estimate_usd), 0) FROM (
               SELECT estimate_usd FROM ${db.s}.trainings WHERE user_id = $1 AND status IN ('pending', 'training')
               UNION ALL SELECT estimate_usd FROM ${db.s}.generations WHERE user_id = $1
                          AND status IN ('pending', 'unknown', 'starting', 'processing')) r)::text AS reserved`,
    [userId],
  );
  const s = await spending(db, userId);
  expect(s).not.toBeNull();
  expect(Number(s!.spent)).toBe(Number(rows[0]!.spent));
  expect(Number(s!.reserved)).toBe(Number(rows[0]!.reserved));
  return s!;
}

