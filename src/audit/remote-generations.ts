/**
 * `--remote` for `generation.unfinished`: each listed unfinished generation whose prediction id is
 * on record is read at Replicate (with its user's owner's token), and the finding says what
 * Replicate reports, so that an operator knows before running `status` whether images are waiting
 * (and until when), the prediction is still running, failed, or is gone. Reads only. A generation
 * whose create was never answered has no id to read: `status` searches the account's predictions.
 */
import type { SselfieContext } from "../context.js";
import type { Prediction } from "../replicate/index.js";
import { UNFINISHED_RULE } from "./unfinished-generations.js";
import type { Violation } from "./types.js";

/** Replicate keeps a prediction's input and outputs this long after it completes (REPLICATE.md). */
const OUTPUT_KEPT_MS = 3_600_000;
const CONCURRENCY = 4;

export async function describeUnfinishedAtReplicate(ctx: SselfieContext, violations: Violation[], now = Date.now()): Promise<void> {
  const todo = violations.filter((v) => v.rule === UNFINISHED_RULE && v.predictionId);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const v = todo[next++]!;
      const { status, said } = await readPrediction(ctx, v.userId, v.predictionId!, now);
      v.remoteStatus = status;
      v.message = `${v.message} At Replicate: ${said}.`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
}

async function readPrediction(ctx: SselfieContext, userId: string, id: string, now: number): Promise<{ status: string; said: string }> {
  let prediction: Prediction;
  try {
    const gateway = await ctx.gatewayForUser(userId);
    prediction = await gateway.getPrediction(id);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "ERROR";
    if (code === "REPLICATE_NOT_FOUND") return { status: "missing", said: `prediction ${id} does not exist (any more)` };
    return { status: "unknown", said: `prediction ${id} could not be read (${code})` };
  }
  const status = prediction.status;
  const completed = prediction.completed_at ? Date.parse(prediction.completed_at) : NaN;
  if (status === "succeeded") {
    if (prediction.data_removed || (!Number.isNaN(completed) && now >= completed + OUTPUT_KEPT_MS)) {
      return { status, said: `succeeded, but its images are no longer kept (Replicate removes them an hour after the end): only its record can be finished` };
    }
    const until = Number.isNaN(completed) ? "" : ` until ${new Date(completed + OUTPUT_KEPT_MS).toISOString().slice(0, 16).replace("T", " ")} UTC`;
    return { status, said: `succeeded; its images are kept${until}` };
  }
  if (status === "failed") return { status, said: `failed${prediction.error ? ` (${String(prediction.error).slice(0, 200)})` : ""}` };
  if (status === "canceled" || status === "aborted") return { status, said: status };
  return { status, said: `still ${status}` };
}
