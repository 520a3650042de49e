/** Replicate's `metrics` (empty while a job runs; `predict_time`, `total_time` once it ended) and the price in force. */
import type { SselfieContext } from "../context.js";
import { DEFAULT_PRICE_PER_SECOND } from "./price.js";

const seconds = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : null);

export function metricsOf(metrics: Record<string, unknown>): { predictTime: number | null; totalTime: number | null } {
  return { predictTime: seconds(metrics.predict_time), totalTime: seconds(metrics.total_time) };
}

/** The price per second this process records costs with. */
export function priceOf(ctx: Pick<SselfieContext, "pricePerSecond">): string {
  return ctx.pricePerSecond ?? DEFAULT_PRICE_PER_SECOND;
}
