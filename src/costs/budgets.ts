/**
 * Budgets: a cap in USD per user, and a default for every user without one. A cap bounds the
 * user's total recorded cost, all time, plus what is reserved for work in progress. No budget of
 * their own and no default: unlimited.
 */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import { getBudgetRow, getSpendingState, upsertBudget } from "../db/spending.js";
import { InvalidInputError } from "../errors.js";
import { validateUserId } from "../locked.js";
import { quoteValue, shortValue } from "../quote-value.js";

/** The subject of the default budget in the `budgets` table. */
const DEFAULT_SUBJECT = "*";
export const BUDGET_MAX_USD = 1_000_000_000;

export type SetBudgetParams = { userId: string; default?: false; usd: number | string } | { userId?: undefined; default: true; usd: number | string };

export interface BudgetSetResult {
  /** null for the default budget. */
  userId: string | null;
  default: boolean;
  usd: number;
}

export interface UserBudget {
  userId: string;
  /** The cap that applies (the user's own, else the default); null: unlimited. */
  cap: number | null;
  source: "user" | "default" | null;
  /** Recorded cost, all time. */
  spent: number;
  /** Held for trainings and generations not yet ended. */
  reserved: number;
  /** cap - spent - reserved (never below 0); null: unlimited. */
  available: number | null;
}

export interface BudgetsOverview {
  /** The default cap; null: users without their own budget are unlimited. */
  default: number | null;
  users: { userId: string; usd: number }[];
}

const AMOUNT = /^\d{1,10}(\.\d{1,6})?$/;

/** A cap in USD: 0 or more, at most 6 decimals. Returns the exact decimal string. */
export function validateUsd(value: unknown): string {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!AMOUNT.test(text) || Number(text) > BUDGET_MAX_USD) {
    throw new InvalidInputError(
      `Invalid --usd ${quoteValue(value)}: use an amount in USD from 0 to ${BUDGET_MAX_USD}, with at most 6 decimals (e.g. 25 or 2.50).`,
      { usd: shortValue(value) },
    );
  }
  return text;
}

export function validateSetBudgetParams(params: SetBudgetParams): { subject: string; userId: string | null; usd: string } {
  const usd = validateUsd(params.usd);
  if (params.default === true) {
    if (params.userId !== undefined) throw new InvalidInputError("Give either a user (--user) or --default, not both.", {});
    return { subject: DEFAULT_SUBJECT, userId: null, usd };
  }
  if (params.userId === undefined) throw new InvalidInputError("Give a user (--user <id>) or --default.", {});
  const userId = validateUserId(params.userId);
  return { subject: userId, userId, usd };
}

export async function setBudget(ctx: SselfieContext, actor: string | null, params: SetBudgetParams): Promise<BudgetSetResult> {
  const { subject, userId, usd } = validateSetBudgetParams(params);
  const { db } = ctx;
  const previous = await getBudgetRow(db, db.s, subject);
  await db.transaction(async (tx) => {
    await upsertBudget(tx, db.s, subject, usd, actor);
    await appendEvent(tx, db.s, {
      operator: actor,
      action: "budget.set",
      userId,
      details: { default: userId === null, usd, previous: previous?.usd ?? null },
    });
  });
  return { userId, default: userId === null, usd: Number(usd) };
}

export async function getUserBudget(ctx: SselfieContext, userId: string): Promise<UserBudget> {
  const state = await getSpendingState(ctx.db, ctx.db.s, validateUserId(userId));
  const cap = state.cap === null ? null : Number(state.cap);
  const { rows } = await ctx.db.query<{ available: string | null }>(
    `SELECT CASE WHEN $1::numeric IS NULL THEN NULL ELSE GREATEST($1::numeric - $2::numeric - $3::numeric, 0)::text END AS available`,
    [state.cap, state.spent, state.reserved],
  );
  return {
    userId,
    cap,
    source: state.capSource,
    spent: Number(state.spent),
    reserved: Number(state.reserved),
    available: rows[0]!.available === null ? null : Number(rows[0]!.available),
  };
}

export async function listBudgets(ctx: SselfieContext): Promise<BudgetsOverview> {
  const { rows } = await ctx.db.query<{ user_id: string; usd: string }>(`SELECT user_id, usd::text AS usd FROM ${ctx.db.s}.budgets ORDER BY user_id`);
  const fallback = rows.find((r) => r.user_id === DEFAULT_SUBJECT);
  return {
    default: fallback ? Number(fallback.usd) : null,
    users: rows.filter((r) => r.user_id !== DEFAULT_SUBJECT).map((r) => ({ userId: r.user_id, usd: Number(r.usd) })),
  };
}
