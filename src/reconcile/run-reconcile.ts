/**
 * `reconcile`: one pass over everything unfinished (CONTRACT.md, "Finishing work unattended").
 * Rows are claimed a few at a time (reconcile-claims.ts), so several processes at once share the
 * work without waiting on each other, and a row is checked once per pass: the pass takes only rows
 * nobody checked since it began. Replicate's rate limits are the gateway's business (it waits as a
 * 429 says); `concurrency` bounds how many items are worked at once. An item that fails is listed
 * and the pass goes on.
 */
import type { SselfieContext } from "../context.js";
import type { GenerationRow } from "../db/generations.js";
import { claimGenerations, claimTrainings, releaseClaim, type GenerationAges } from "../db/reconcile-claims.js";
import type { TrainingRow } from "../db/trainings.js";
import { SselfieError } from "../errors.js";
import type { DownloadOptions } from "../generation/download.js";
import { SETTLE_AFTER_MS } from "../generation/recover.js";
import { SEARCH_WINDOW_MS } from "../generation/find-prediction.js";
import { reconcileGeneration } from "./reconcile-generation.js";
import { reconcileTraining } from "./reconcile-training.js";

export const DEFAULT_LEASE_MS = 10 * 60_000;
export const DEFAULT_RECHECK_AFTER_MS = 30_000;
export const DEFAULT_RECONCILE_CONCURRENCY = 4;
/** A generation's own process downloads its images first; a reconciler steps in after this. */
export const DOWNLOAD_AFTER_MS = 2 * 60_000;

export interface ReconcileItemError {
  kind: "training" | "generation";
  /** sselfie's row id. */
  id: number;
  userId: string;
  code: string;
  message: string;
}

export interface ReconcileReport {
  trainings: { checked: number; changed: number };
  generations: { checked: number; changed: number };
  errors: ReconcileItemError[];
}

export type ReconcileProgress = ReconcileReport & { kind: "training" | "generation"; id: number };

export interface ReconcileCallOptions {
  /** Who acts, in operator_events. */
  actor?: string | null;
  /** Stops taking new items; the ones in progress finish and the rest are released at once. */
  signal?: AbortSignal;
  onProgress?: (progress: ReconcileProgress) => void;
  /** Items worked at once. Default 4. */
  concurrency?: number;
  /** Rows claimed per statement. Default: `concurrency`. */
  claimBatch?: number;
  /** An item checked (by any process) less than this long ago is left for the next pass. Default 30 s. */
  recheckAfterMs?: number;
  /** How long a claim holds if its process dies. Default 10 min. */
  leaseMs?: number;
  /** Untouched for this long, a `pending` training start is released when Replicate has nothing of it. */
  pendingGraceMs?: number;
  /** Overrides of the ages that make a generation a reconciler's (tests). */
  generationAges?: Partial<GenerationAges>;
  download?: DownloadOptions;
}

type Item = { kind: "training"; row: TrainingRow } | { kind: "generation"; row: GenerationRow };

export async function reconcile(ctx: SselfieContext, opts: ReconcileCallOptions = {}): Promise<ReconcileReport> {
  const { db } = ctx;
  const actor = opts.actor ?? null;
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_RECONCILE_CONCURRENCY);
  const claimBatch = Math.max(1, opts.claimBatch ?? concurrency);
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const recheckAfterMs = opts.recheckAfterMs ?? DEFAULT_RECHECK_AFTER_MS;
  const ages: GenerationAges = {
    settleAfterMs: SETTLE_AFTER_MS,
    downloadAfterMs: DOWNLOAD_AFTER_MS,
    downloadUntilMs: SEARCH_WINDOW_MS,
    ...opts.generationAges,
  };
  const report: ReconcileReport = { trainings: { checked: 0, changed: 0 }, generations: { checked: 0, changed: 0 }, errors: [] };
  // The database's clock, so that processes on several machines agree on what "since" means.
  const { rows } = await db.query<{ now: Date }>(`SELECT now() AS now`);
  const since = rows[0]!.now;

  const buffer: Item[] = [];
  let phase: "training" | "generation" | "done" = "training";
  let claiming: Promise<void> | null = null;
  const refill = async () => {
    while (buffer.length === 0 && phase !== "done") {
      if (phase === "training") {
        const claimed = await claimTrainings(db, db.s, claimBatch, { leaseMs, since });
        if (claimed.length === 0) phase = "generation";
        buffer.push(...claimed.map((row) => ({ kind: "training" as const, row })));
      } else {
        const claimed = await claimGenerations(db, db.s, claimBatch, { leaseMs, since, ...ages });
        if (claimed.length === 0) phase = "done";
        buffer.push(...claimed.map((row) => ({ kind: "generation" as const, row })));
      }
    }
  };
  const next = async (): Promise<Item | undefined> => {
    while (buffer.length === 0 && phase !== "done") {
      claiming ??= refill().finally(() => (claiming = null));
      await claiming;
    }
    return buffer.shift();
  };

  const work = async (item: Item) => {
    const counts = item.kind === "training" ? report.trainings : report.generations;
    const table = item.kind === "training" ? "trainings" : "generations";
    try {
      if (item.kind === "training") {
        const changed = await reconcileTraining(ctx, actor, item.row, opts.pendingGraceMs === undefined ? {} : { pendingGraceMs: opts.pendingGraceMs });
        if (changed) counts.changed++;
      } else {
        const outcome = await reconcileGeneration(ctx, actor, item.row, opts.download ? { download: opts.download } : {});
        if (outcome.changed) counts.changed++;
        if (outcome.problem) report.errors.push({ kind: item.kind, id: item.row.id, userId: item.row.user_id, ...outcome.problem });
      }
    } catch (err) {
      report.errors.push({
        kind: item.kind,
        id: item.row.id,
        userId: item.row.user_id,
        code: err instanceof SselfieError ? err.code : "UNEXPECTED",
        message: err instanceof Error ? err.message : String(err),
      });
    } finally {
      counts.checked++;
      await releaseClaim(db, db.s, table, item.row.id, recheckAfterMs);
    }
    opts.onProgress?.({ ...report, errors: [...report.errors], kind: item.kind, id: item.row.id });
  };

  const worker = async () => {
    for (;;) {
      if (opts.signal?.aborted) return;
      const item = await next();
      if (!item) return;
      if (opts.signal?.aborted) {
        buffer.unshift(item);
        return;
      }
      await work(item);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    // Claimed but not worked (stopped early): free for the next process at once.
    for (const item of buffer.splice(0)) {
      await releaseClaim(db, db.s, item.kind === "training" ? "trainings" : "generations", item.row.id, null).catch(() => undefined);
    }
  }
  return report;
}
