/**
 * Finishes what a killed or interrupted `generate` left behind: a prediction that was paid for but
 * whose images were never saved, or a create whose answer never came. A generation is taken only
 * when the process that was making it is gone (src/process-holder.ts), or, when that cannot be told
 * (another machine), once it has been silent for UNATTENDED_AFTER_MS; it is then taken over by this
 * process (one finisher at a time) and finished as `reconcile` finishes one: its prediction found or
 * read, and its images saved in the folder recorded with it.
 * `status` and `generate` run this for their user, so no paid generation stays out of sight.
 */
import type { SselfieContext } from "../context.js";
import { getGeneration, listUnfinishedGenerations, takeOverGeneration, type GenerationRow } from "../db/generations.js";
import { isSselfieError } from "../errors.js";
import { currentHolder, describeHolder, holderLiveness } from "../process-holder.js";
import { validateUserId } from "../locked.js";
import { reconcileGeneration } from "../reconcile/reconcile-generation.js";
import type { GenerateOptions } from "./generate.js";

/** The contract's "its process is gone, or it is older than 10 minutes". */
export const UNATTENDED_AFTER_MS = 10 * 60_000;

export interface FinishedGeneration {
  generationId: number;
  predictionId: string | null;
  /**
   * `finished`: every image saved; `running`: still running at Replicate; `unknown`: its create went
   * unanswered and no prediction is listed yet; `failed`: it cannot be finished (see message).
   */
  outcome: "finished" | "running" | "unknown" | "failed";
  files: string[];
  message: string;
}

/**
 * Whether `row` still needs someone: no final answer yet, or succeeded with a listed image not
 * saved (a succeeded prediction that listed no images had them all withheld: nothing to save).
 */
export function needsFinishing(row: Pick<GenerationRow, "status" | "outputs">): boolean {
  if (row.status === "succeeded") return (row.outputs ?? []).some((o) => !o.file);
  return row.status === "pending" || row.status === "unknown" || row.status === "starting" || row.status === "processing";
}

/** Whether nobody is working on `row` any more (so that another process may finish it). */
export function isLeftBehind(row: Pick<GenerationRow, "holder" | "updated_at">, now = Date.now()): boolean {
  const liveness = holderLiveness(row.holder);
  if (liveness !== "unknown") return liveness === "gone";
  return now - new Date(row.updated_at).getTime() > UNATTENDED_AFTER_MS;
}

export interface FinishOptions extends Pick<GenerateOptions, "signal" | "download"> {
  userId: string;
}

/**
 * Finishes the user's generations that were left behind, as `reconcile` does for one row (never
 * waiting for a prediction still running at Replicate: that one is reported `running` and finished
 * by a later call). Unlike `reconcile`, it does not wait for the settling time: the holder is gone.
 */
export async function finishGenerations(ctx: SselfieContext, actor: string | null, opts: FinishOptions): Promise<FinishedGeneration[]> {
  const userId = validateUserId(opts.userId);
  const rows = (await listUnfinishedGenerations(ctx.db, ctx.db.s, { userId })).filter((r) => needsFinishing(r) && isLeftBehind(r));
  const results: FinishedGeneration[] = [];
  for (const left of rows) {
    if (opts.signal?.aborted) break;
    const row = await takeOverGeneration(ctx.db, ctx.db.s, left.id, left.holder, currentHolder());
    if (!row) continue; // another process took it first
    let problem: { code: string; message: string } | undefined;
    try {
      ({ problem } = await reconcileGeneration(ctx, actor, row, opts.download ? { download: opts.download } : {}));
    } catch (err) {
      if (!isSselfieError(err) || err.code === "INTERRUPTED") throw err;
      problem = { code: err.code, message: err.message };
    }
    const now = (await getGeneration(ctx.db, ctx.db.s, row.id)) ?? row;
    const files = (now.outputs ?? []).flatMap((o) => (o.file ? [o.file] : []));
    const base = { generationId: row.id, predictionId: now.replicate_prediction_id, files };
    const by = `left by ${describeHolder(left.holder)}`;
    if (problem) {
      results.push({
        ...base,
        outcome: problem.code === "PREDICTION_UNKNOWN" ? "unknown" : "failed",
        message: `Generation #${row.id} (${by}): ${problem.message}`,
      });
    } else if (now.status === "starting" || now.status === "processing") {
      results.push({
        ...base,
        outcome: "running",
        message: `Generation #${row.id} (${by}): prediction ${now.replicate_prediction_id} is still ${now.status} at Replicate; run this again once it has ended.`,
      });
    } else if (now.status === "succeeded") {
      results.push({
        ...base,
        outcome: "finished",
        message: `Generation #${row.id} (${by}) finished: ${files.length} image${files.length === 1 ? "" : "s"} saved in ${now.out_dir ?? "its folder"}.`,
      });
    } else {
      results.push({
        ...base,
        outcome: now.status === "failed" || now.status === "canceled" || now.status === "aborted" ? "finished" : "unknown",
        message: `Generation #${row.id} (${by}) ended ${now.status}${now.error ? `: ${now.error}` : ""}.`,
      });
    }
  }
  return results;
}
