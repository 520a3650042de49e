/** The refusal when a reservation does not fit: what was spent, what is reserved, the cap. */
import { getSpendingState } from "../db/spending.js";
import type { Queryable } from "../db/types.js";
import { BudgetExceededError } from "../errors.js";

export async function budgetExceeded(
  db: Queryable,
  s: string,
  userId: string,
  kind: "training" | "generation",
  estimate: string,
): Promise<BudgetExceededError> {
  const state = await getSpendingState(db, s, userId);
  const cap = state.cap ?? "unlimited";
  return new BudgetExceededError(
    `User ${userId}'s budget is used up: spent ${usd(state.spent)}, reserved ${usd(state.reserved)} for work in progress, ` +
      `cap ${state.cap === null ? "none" : usd(state.cap)} (${state.capSource === "default" ? "the default budget" : "their own budget"}); ` +
      `this ${kind} is estimated at ${usd(estimate)}. Nothing was sent to Replicate. ` +
      `Raise the cap with \`sselfie budget set --user ${userId} --usd <n>\`, or wait for work in progress to settle.`,
    { userId, kind, spent: state.spent, reserved: state.reserved, estimate, cap },
  );
}

function usd(amount: string): string {
  return `$${amount}`;
}
