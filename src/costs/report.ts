/**
 * `sselfie costs`: totals per kind and per user from SQL aggregates over the covering indexes of
 * migration 0007 (each table grouped by user once, then rolled up with GROUPING SETS), never a query per user.
 *
 * Numbers: sums are exact (`numeric`) in the database and rounded once, on output, to 6 decimals
 * (micro-USD) and returned as JSON numbers. Not cents: one generation costs about $0.02, and a
 * user's or a day's small amounts would round to nothing; not strings: the document is read by
 * jq and dashboards that compare and add numbers, and 6 decimals of any realistic total fit a
 * double exactly. Rounded parts may differ from the rounded total in the last decimal.
 */
import type { Queryable } from "../db/types.js";
import { InvalidInputError } from "../errors.js";
import { validateUserId } from "../locked.js";
import { quoteValue, shortValue } from "../quote-value.js";

export interface CostsParams {
  /** Only this user's trainings and generations. */
  userId?: string;
  /** Only work that ended at or after this instant (a date is its midnight UTC). */
  since?: string | Date;
}

export interface KindCosts {
  /** Trainings or generations that ended with a recorded price. */
  count: number;
  /** Sum of Replicate's predict_time (GPU seconds), 3 decimals. */
  seconds: number;
  usd: number;
}

export interface CostsReport {
  currency: "USD";
  total: number;
  trainings: KindCosts;
  generations: KindCosts;
  /** Every user with recorded work in the range, most expensive first. */
  users: { userId: string; usd: number }[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** `--since`: YYYY-MM-DD (midnight UTC) or an ISO 8601 instant with its offset. */
export function validateSince(value: unknown): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  const text = typeof value === "string" ? value.trim() : "";
  const date = DATE.test(text) ? new Date(`${text}T00:00:00Z`) : DATE_TIME.test(text) ? new Date(text) : null;
  if (!date || Number.isNaN(date.getTime()) || (DATE.test(text) && date.toISOString().slice(0, 10) !== text)) {
    throw new InvalidInputError(
      `Invalid --since ${quoteValue(value)}: use a date (2026-11-01, midnight UTC) or an ISO 8601 instant with its offset (2026-11-01T09:00:00Z).`,
      { since: shortValue(value) },
    );
  }
  return date;
}

export function validateCostsParams(params: CostsParams): { userId?: string; since?: Date } {
  return {
    ...(params.userId === undefined ? {} : { userId: validateUserId(params.userId) }),
    ...(params.since === undefined ? {} : { since: validateSince(params.since) }),
  };
}

interface AggregateRow {
  kind: string | null;
  user_id: string | null;
  count: number;
  seconds: string;
  usd: string;
}

export async function costsReport(db: Queryable, s: string, params: { userId?: string; since?: Date }): Promise<CostsReport> {
  const values: unknown[] = [];
  const filters = [`price_per_second IS NOT NULL`];
  if (params.userId !== undefined) {
    values.push(params.userId);
    filters.push(`user_id = $${values.length}`);
  }
  if (params.since !== undefined) {
    values.push(params.since);
    filters.push(`finished_at >= $${values.length}::timestamptz`);
  }
  const where = filters.join(" AND ");
  const { rows } = await db.query<AggregateRow>(
    // Each table is grouped by user on its own (a hash aggregate over an index-only scan, in
    // memory: one group per user); the totals per kind, per user and overall are then rolled up
    // from those groups, never from the rows again. (Grouping the UNION of both tables by kind
    // and user made PostgreSQL sort a million rows on disk: 3x slower.)
    `WITH per_user AS (
       SELECT 'trainings' AS kind, user_id, count(*) AS n, sum(predict_time) AS seconds, sum(cost_usd) AS usd
         FROM ${s}.trainings WHERE ${where} GROUP BY user_id
       UNION ALL
       SELECT 'generations' AS kind, user_id, count(*) AS n, sum(predict_time) AS seconds, sum(cost_usd) AS usd
         FROM ${s}.generations WHERE ${where} GROUP BY user_id)
     SELECT kind, user_id, sum(n)::int AS count,
            round(COALESCE(sum(seconds), 0)::numeric, 3)::text AS seconds,
            round(COALESCE(sum(usd), 0), 6)::text AS usd
       FROM per_user
      GROUP BY GROUPING SETS ((kind), (user_id), ())`,
    values,
  );
  const empty = (): KindCosts => ({ count: 0, seconds: 0, usd: 0 });
  const report: CostsReport = { currency: "USD", total: 0, trainings: empty(), generations: empty(), users: [] };
  for (const r of rows) {
    if (r.kind === "trainings" || r.kind === "generations") {
      report[r.kind] = { count: r.count, seconds: Number(r.seconds), usd: Number(r.usd) };
    } else if (r.user_id !== null) {
      report.users.push({ userId: r.user_id, usd: Number(r.usd) });
    } else {
      report.total = Number(r.usd);
    }
  }
  report.users.sort((a, b) => b.usd - a.usd || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
  return report;
}
