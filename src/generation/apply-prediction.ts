/**
 * Applies a Replicate prediction object (from a webhook, or a later look) to the generation it
 * belongs to. A generation whose create call ended without an answer (status `unknown`) is found
 * by its exact version reference and input (the input holds a random seed), so the first webhook
 * of that prediction attaches it to its record.
 */
import type { SselfieContext } from "../context.js";
import {
  applyPredictionToGeneration,
  findUnattachedGenerations,
  getGenerationByPredictionId,
  type GenerationRow,
  type PredictionUpdate,
} from "../db/generations.js";
import { appendEvent } from "../db/operator-events.js";
import { InvalidInputError } from "../errors.js";
import { hashInput } from "../locked.js";
import { metricsOf, priceOf } from "../costs/metrics.js";
import type { Prediction } from "../replicate/schemas.js";
import { isTerminalStatus } from "../replicate/statuses.js";

/**
 * What a prediction says, in the generations table's terms. Every path (generate, webhooks,
 * recover, reconcile) goes through here; the price goes with it, and the statement that writes a
 * final status records the cost and settles the budget reservation.
 */
export function predictionUpdate(p: Prediction, pricePerSecond: string): PredictionUpdate {
  const { predictTime, totalTime } = metricsOf(p.metrics);
  const completed = p.completed_at ? new Date(p.completed_at) : null;
  return {
    predictionId: p.id,
    status: p.status,
    error: p.error,
    predictTime,
    totalTime,
    pricePerSecond,
    completedAt: isTerminalStatus(p.status) && completed && !Number.isNaN(completed.getTime()) ? completed : null,
    outputUrls: p.status === "succeeded" && p.output ? p.output : null,
  };
}

/** `model:version` as a prediction names it (`version` may be bare hex or already a full reference). */
export function predictionVersionRef(p: Prediction): string | null {
  if (!p.version) return null;
  if (p.version.includes(":")) return p.version;
  return p.model ? `${p.model}:${p.version}` : null;
}

async function findRow(ctx: SselfieContext, p: Prediction): Promise<{ row: GenerationRow; attached: boolean } | null> {
  const row = await getGenerationByPredictionId(ctx.db, ctx.db.s, p.id);
  if (row) return { row, attached: false };
  const versionRef = predictionVersionRef(p);
  if (!versionRef || p.data_removed || Object.keys(p.input).length === 0) return null;
  const candidates = await findUnattachedGenerations(ctx.db, ctx.db.s, { versionRef, inputHash: hashInput(p.input) });
  // Two identical unanswered requests cannot be told apart: leave them for an operator.
  return candidates.length === 1 ? { row: candidates[0]!, attached: true } : null;
}

/**
 * Updates the recorded generation from `prediction` (a Replicate prediction object). Returns
 * false when no generation of sselfie's is known for it. Statuses only move forward, so replays
 * and late deliveries are harmless.
 */
export async function applyPredictionUpdate(ctx: SselfieContext, prediction: unknown): Promise<boolean> {
  // zod and the response schemas load with the first object to check, not with every command.
  const { PredictionSchema } = await import("../replicate/schemas.js");
  const parsed = PredictionSchema.safeParse(prediction);
  if (!parsed.success) {
    throw new InvalidInputError("Not a Replicate prediction object.", {
      issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
    });
  }
  const p = parsed.data;
  const found = await findRow(ctx, p);
  if (!found) return false;
  const { row, attached } = found;
  const ref = predictionVersionRef(p);
  if (ref !== null && ref !== row.version_ref) {
    // Replicate reports another model for our prediction: record it, change nothing.
    await appendEvent(ctx.db, ctx.db.s, {
      operator: null,
      action: "generation.update",
      userId: row.user_id,
      outcome: "failed",
      details: { code: "INTEGRITY_VIOLATION", generationId: row.id, predictionId: p.id, recorded: row.version_ref, reported: ref },
    });
    return true;
  }
  const updated = await applyPredictionToGeneration(ctx.db, ctx.db.s, row.id, predictionUpdate(p, priceOf(ctx)));
  if (attached && updated) {
    await appendEvent(ctx.db, ctx.db.s, {
      operator: null,
      action: "generation.attach",
      userId: row.user_id,
      outcome: "ok",
      details: { generationId: row.id, predictionId: p.id, status: updated.status },
    });
  }
  return true;
}
