/**
 * A `pending` row is a training whose start was claimed but whose Replicate id we never stored:
 * the process is still at work, or it died (after creating the model, after the upload, or after
 * the create call but before storing the answer). Replicate's own records decide which: a
 * training object carries no destination, so it is found by the exact `input_images` URL and
 * trigger word recorded before the create call (every start uploads a new zip, so that URL names
 * one training).
 *
 * A row that is not found is released (marked failed) once the process that claimed it is gone.
 * The row names that process (src/process-holder.ts): on the same machine and in the same
 * container its death is proven at once, and so is the end of a `train` that gave up on an
 * unanswered create (it marks its claim `exitedAt`). A row that never got as far as the upload is
 * then released at once. One whose create call may have been sent is searched for at once, and
 * released if Replicate does not list it CREATE_SETTLE_MS after the last sign of life (a create
 * that reached Replicate as its client died, or that was answered 5xx, is listed within
 * seconds if it was made at all). A holder that cannot be
 * checked (another machine or container) counts as gone once it has not touched the row for
 * HOLDER_SILENT_MS: a live `train` touches it every PENDING_HEARTBEAT_MS whatever it is doing. A
 * row without a holder (written before migration 0003, by a `train` that only touched it at each
 * step) keeps the old PENDING_GRACE_MS: the slowest step after the URL is recorded is one create
 * call, with the gateway's defaults at most 6 attempts of 30 s plus 5 rate-limit waits of at most
 * 120 s, about 13 minutes. Should a released holder still come back, its guarded writes fail and
 * it cancels what it created (start-training.ts).
 */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import { getTrainingRow, isPendingStale, type TrainingRow } from "../db/trainings.js";
import type { Queryable } from "../db/types.js";
import { modelOwner, TRAINER_NAME, TRAINER_OWNER, TRAINER_VERSION } from "../locked.js";
import { describeHolder, holderLiveness } from "../process-holder.js";
import type { ReplicateGateway, Training } from "../replicate/index.js";
import { applyTraining } from "./apply-training.js";
import { failPendingClaim } from "./end-claim.js";

export const PENDING_GRACE_MS = 15 * 60_000;
/** A live `train` touches its pending row this often... */
export const PENDING_HEARTBEAT_MS = 20_000;
/** ...so a holder that cannot be checked is gone once silent this long. */
export const HOLDER_SILENT_MS = 2 * 60_000;
/** How long a create that may have reached Replicate gets to be listed before its claim is released. */
export const CREATE_SETTLE_MS = 2 * 60_000;
/** How far apart our database's clock and Replicate's may be when the list scan decides to stop. */
const CLOCK_SKEW_MS = 60 * 60_000;

export interface ReconcileOptions {
  /**
   * How long an untouched pending row whose holder cannot be checked counts as someone else's start
   * in progress. Default HOLDER_SILENT_MS, or PENDING_GRACE_MS for a row that names no holder.
   */
  pendingGraceMs?: number;
}

/** Whether the process that claimed a pending row is gone: `proven` on this machine, else by its silence. */
export async function claimAbandoned(
  db: Queryable,
  s: string,
  row: TrainingRow,
  opts: ReconcileOptions = {},
): Promise<{ abandoned: boolean; proven: boolean; staleAfterMs: number | null }> {
  const liveness = row.holder?.exitedAt ? "gone" : holderLiveness(row.holder);
  if (liveness === "alive") return { abandoned: false, proven: true, staleAfterMs: null };
  if (liveness === "gone") {
    if (!row.input_images_url) return { abandoned: true, proven: true, staleAfterMs: null };
    const settle = opts.pendingGraceMs ?? CREATE_SETTLE_MS;
    return { abandoned: await isPendingStale(db, s, row.id, settle), proven: true, staleAfterMs: settle };
  }
  const graceMs = opts.pendingGraceMs ?? (row.holder ? HOLDER_SILENT_MS : PENDING_GRACE_MS);
  return { abandoned: await isPendingStale(db, s, row.id, graceMs), proven: false, staleAfterMs: graceMs };
}

/** The account's training that was created from this upload with this trigger word, if any. */
export async function findTrainingByInput(
  gateway: ReplicateGateway,
  match: { inputImagesUrl: string; triggerWord: string; createdAfter: Date },
): Promise<Training | null> {
  const oldest = match.createdAfter.getTime() - CLOCK_SKEW_MS;
  for await (const t of gateway.listTrainings()) {
    const created = t.created_at ? Date.parse(t.created_at) : NaN;
    // Newest first: past this point every training predates our row.
    if (Number.isFinite(created) && created < oldest) return null;
    if (t.input.input_images !== match.inputImagesUrl || t.input.trigger_word !== match.triggerWord) continue;
    if (t.version && t.version !== TRAINER_VERSION) continue;
    if (t.model && t.model !== `${TRAINER_OWNER}/${TRAINER_NAME}`) continue;
    return t;
  }
  return null;
}

/**
 * Settles a pending row if Replicate's records allow it: adopts the training it started, or
 * releases a row that is provably dead. Returns the row as it is afterwards (still pending when
 * another process may be starting it right now).
 */
export async function reconcilePendingTraining(
  ctx: SselfieContext,
  actor: string | null,
  row: TrainingRow,
  opts: ReconcileOptions = {},
): Promise<TrainingRow> {
  const { db } = ctx;
  if (row.status !== "pending" || row.replicate_training_id) return row;
  const triggerWord = typeof row.input.trigger_word === "string" ? row.input.trigger_word : null;
  if (row.input_images_url && triggerWord) {
    const found = await findTrainingByInput(await ctx.gatewayForOwner(modelOwner(row.destination)), {
      inputImagesUrl: row.input_images_url,
      triggerWord,
      createdAfter: new Date(row.created_at),
    });
    if (found) return (await applyTraining(ctx, row, found, { actor, source: "reconcile" })).row;
  }
  const claim = await claimAbandoned(db, db.s, row, opts);
  if (!claim.abandoned) return (await getTrainingRow(db, db.s, row.id)) ?? row;
  const seconds = Math.round((claim.staleAfterMs ?? 0) / 1000);
  const gone = claim.proven
    ? `the process that started it (${describeHolder(row.holder)}) is gone`
    : `the process that started it has been silent for over ${seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`}`;
  const error = row.input_images_url
    ? `The training was never created at Replicate: no training with its upload appears in the account's trainings, ` +
      `and ${gone}. Nothing runs; start it again with \`sselfie train\`.`
    : `sselfie stopped before the images were uploaded (${gone}), so nothing was started at Replicate. ` +
      `Start it again with \`sselfie train\`.`;
  const released = await db.transaction(async (tx) => {
    const failed = await failPendingClaim(tx, db.s, row, {
      error,
      status: "failed",
      ...(claim.staleAfterMs === null ? {} : { staleAfterMs: claim.staleAfterMs }),
    });
    if (!failed) return null;
    await appendEvent(tx, db.s, {
      operator: actor,
      action: "training.refresh",
      userId: failed.user_id,
      outcome: "failed",
      details: { source: "reconcile", trainingRowId: failed.id, from: "pending", to: "failed", released: true, error },
    });
    return failed;
  });
  return released ?? (await getTrainingRow(db, db.s, row.id)) ?? row;
}
