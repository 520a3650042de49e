export { DEFAULT_PRICE_PER_SECOND, validatePricePerSecond } from "./price.js";
export { costsReport, validateCostsParams, validateSince, type CostsParams, type CostsReport, type KindCosts } from "./report.js";
export {
  BUDGET_MAX_USD,
  getUserBudget,
  listBudgets,
  setBudget,
  validateSetBudgetParams,
  validateUsd,
  type BudgetSetResult,
  type BudgetsOverview,
  type SetBudgetParams,
  type UserBudget,
} from "./budgets.js";
export {
  DEFAULT_GENERATION_SECONDS,
  DEFAULT_TRAINING_SECONDS_PER_STEP,
  DEFAULT_TRAINING_STEPS,
  MIN_ESTIMATE_SECONDS,
} from "./estimate.js";
