import { InvalidInputError, validateUsd, validateUserId, type BudgetsOverview, type SetBudgetParams, type UserBudget } from "../../index.js";
import type { CliCommand } from "../command.js";
import { dollars } from "../dollars.js";
import type { Output } from "../output.js";


export const budgetSetCommand: CliCommand<SetBudgetParams> = {
  scope: "admin",
  action: "budget.set",
  parse: (o) => {
    if (o.usd === undefined) throw new InvalidInputError("Give the cap with --usd <n> (USD, 0 or more).", {});
    const usd = validateUsd(o.usd);
    if (o.default === true && o.user !== undefined) throw new InvalidInputError("Give either --user <id> or --default, not both.", {});
    if (o.default === true) return { default: true, usd };
    if (o.user === undefined) throw new InvalidInputError("Give --user <id> (that user's cap) or --default (every user without their own).", {});
    return { userId: validateUserId(o.user), usd };
  },
  userId: (o) => o.userId,
  async run({ sselfie, principal, out }, o) {
    const set = await sselfie.budgets.set(o, { actor: principal?.name ?? null });
    return {
      payload: set,
      text: () =>
        `${out.green("✓")} ${set.default ? "Default budget (every user without their own)" : `User ${set.userId}'s budget`} is now ${dollars(set.usd)}, all time.`,
    };
  },
};

export function describeUserBudget(b: UserBudget): string {
  if (b.cap === null) return `User ${b.userId}: no budget (unlimited). Spent ${dollars(b.spent)}, reserved ${dollars(b.reserved)}.`;
  return [
    `User ${b.userId}: cap ${dollars(b.cap)} (${b.source === "user" ? "their own" : "the default"})`,
    `  spent     ${dollars(b.spent)}`,
    `  reserved  ${dollars(b.reserved)} (work in progress)`,
    `  available ${dollars(b.available ?? 0)}`,
  ].join("\n");
}

export function describeBudgets(b: BudgetsOverview, out: Output): string {
  const lines = [`Default: ${b.default === null ? "none (users without their own budget are unlimited)" : dollars(b.default)}`];
  if (b.users.length > 0) {
    lines.push(out.bold(`${"USER".padEnd(30)} ${"CAP".padStart(14)}`));
    for (const u of b.users) lines.push(`${u.userId.padEnd(30)} ${dollars(u.usd).padStart(14)}`);
  }
  return lines.join("\n");
}

export const budgetShowCommand: CliCommand<{ userId?: string }> = {
  scope: "read",
  action: "budget.show",
  parse: (o) => (o.user === undefined ? {} : { userId: validateUserId(o.user) }),
  userId: (o) => o.userId,
  async run({ sselfie, principal, out }, o) {
    const options = { actor: principal?.name ?? null };
    if (o.userId !== undefined) {
      const b = await sselfie.budgets.get({ userId: o.userId }, options);
      return { payload: b, text: () => describeUserBudget(b) };
    }
    const all = await sselfie.budgets.get({}, options);
    return { payload: all, text: () => describeBudgets(all, out) };
  },
};
