/**
 * What a GPU second costs. Replicate's API returns no price: sselfie records `predict_time` and
 * multiplies it by this price (USD per second of the model's hardware), stored beside each cost so
 * that a later price change applies to new records only.
 */
import { ConfigError } from "../errors.js";
import { quoteValue } from "../quote-value.js";

/** Replicate's list price of `gpu-h100`, the hardware of every user model and of the trainer. */
export const DEFAULT_PRICE_PER_SECOND = "0.001525";

/** A decimal string (no exponent) above 0 and at most 1 USD a second. */
const DECIMAL = /^(0|[1-9]\d{0,2})(\.\d{1,12})?$/;

/**
 * Validates a price per second and returns it as an exact decimal string (it goes into `numeric`
 * columns as written: never through a float). Throws ConfigError INVALID_PRICE.
 */
export function validatePricePerSecond(value: unknown, setting = "SSELFIE_PRICE_PER_SECOND"): string {
  const text = typeof value === "number" && Number.isFinite(value) ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!DECIMAL.test(text) || Number(text) <= 0 || Number(text) > 1) {
    throw new ConfigError(
      `${setting} must be a price in USD per second above 0 and at most 1, written as a decimal (e.g. ${DEFAULT_PRICE_PER_SECOND} for gpu-h100); got ${quoteValue(value)}.`,
      { setting },
      "INVALID_PRICE",
    );
  }
  return text;
}
