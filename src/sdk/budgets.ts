/** `sselfie.budgets`: caps on what each user's trainings and generations may cost. */
import {
  getUserBudget,
  listBudgets,
  setBudget,
  validateSetBudgetParams,
  type BudgetSetResult,
  type BudgetsOverview,
  type SetBudgetParams,
  type UserBudget,
} from "../costs/index.js";
import { validateUserId } from "../locked.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { BudgetSetResult, BudgetsOverview, SetBudgetParams, UserBudget };

export class Budgets {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Sets (replaces) a user's cap in USD, or with `default: true` the cap of every user without
   * their own. Recorded in operator_events. Throws InvalidInputError for a bad amount or user id.
   */
  async set(params: SetBudgetParams, options: RequestOptions = {}): Promise<BudgetSetResult> {
    validateSetBudgetParams(params);
    await this.#core.ready();
    return setBudget(this.#core.context, options.actor ?? null, params);
  }

  /**
   * With a user id: the cap that applies to them (their own, else the default, else none:
   * unlimited), what they spent and what is reserved. Without: the default and every user's own cap.
   */
  get(params: { userId: string }, options?: RequestOptions): Promise<UserBudget>;
  get(params?: { userId?: undefined }, options?: RequestOptions): Promise<BudgetsOverview>;
  async get(params: { userId?: string } = {}, _options: RequestOptions = {}): Promise<UserBudget | BudgetsOverview> {
    if (params.userId !== undefined) validateUserId(params.userId);
    await this.#core.ready();
    return params.userId === undefined ? listBudgets(this.#core.context) : getUserBudget(this.#core.context, params.userId);
  }
}
