/**
 * `train`: check the images (no I/O beyond reading them), claim the user's one active-training
 * slot in the database, then model, upload and create at Replicate. The order makes every crash
 * recoverable: the claim row exists before Replicate is touched, and the exact input (with the
 * upload's URL) is on it before the create call, so reconcile.ts can always find what was made.
 * The claim names this process and is touched every PENDING_HEARTBEAT_MS, so that a claim left by
 * a killed `train` is released (or its training adopted) at once by the next command.
 *
 * An abort (the caller's signal) before the create call undoes the claim; during the create call,
 * the account's trainings are searched once for what it made, which is adopted if found (else the
 * claim stays, naming this process, and the next command settles it as soon as it is gone).
 */
import { retryOnDeadlock } from "../db/retry-on-deadlock.js";
import { rm } from "node:fs/promises";
import { interrupted, raceAbort } from "../abort.js";
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import {
  getActiveTraining,
  insertPendingTraining,
  isActiveTrainingConflict,
  letGoOfPendingTraining,
  recordTrainingInput,
  setTrainingIdentityCheck,
  touchPendingTraining,
  type TrainingRow,
} from "../db/trainings.js";
import { markOwnerFull, placeNewUser, type PlacementCandidates } from "../db/owners.js";
import {
  getFaceReference,
  getUserModel,
  lockUserModel,
  setPendingFaceReference,
  upsertUserModelForTraining,
  type TrainingStatus,
  type UserModelRow,
} from "../db/user-models.js";
import { refuseIfErasing } from "../db/erasures.js";
import { ensureUser } from "../db/users.js";
import { ensureSpendingRow, reserveSpending } from "../db/spending.js";
import { budgetExceeded } from "../costs/budget-exceeded.js";
import { estimateTrainingUsd } from "../costs/estimate.js";
import { priceOf } from "../costs/metrics.js";
import { ReplicateError, StateError } from "../errors.js";
import {
  destinationModelId,
  destinationModelName,
  TRAINER_NAME,
  TRAINER_OWNER,
  TRAINER_REF,
  TRAINER_VERSION,
  triggerWord as triggerWordFor,
  validateUserId,
} from "../locked.js";
import { currentHolder } from "../process-holder.js";
import { withPreparedSet, type DatasetSummary, type PreparedSet } from "../datasets/index.js";
import { packagePreparedSet, type PreparedManifestEntry } from "../datasets/package-prepared-set.js";
import { preparationFailed } from "../datasets/preparation-failed.js";
import { OWNER_NOT_CONFIGURED } from "../owners/owner-gateways.js";
import { moveToNextOwner, placementCandidates, poolFull } from "../owners/placement.js";
import { REPLICATE_ERROR_CODES } from "../replicate/error-mapping.js";
import type { Training } from "../replicate/index.js";
import { isModelLimitRefusal } from "../replicate/model-limit.js";
import { createIdentityChecks } from "../identity/dataset-checks.js";
import { judgeUserIdentity } from "../identity/user-identity.js";
import { applyTraining, INTEGRITY_VIOLATION } from "./apply-training.js";
import { undoPendingClaim } from "./end-claim.js";
import { claimAbandoned, CREATE_SETTLE_MS, findTrainingByInput, PENDING_HEARTBEAT_MS, reconcilePendingTraining } from "./reconcile.js";
import { plannedTrainingInput, trainingInput, validateSteps } from "./training-input.js";

export interface StartTrainingParams {
  userId: string;
  /** A folder of photos or a .zip of them. */
  images: string;
  /** Training steps, 100..6000; omitted: the trainer's default (1000). */
  steps?: number;
  /**
   * The user's model was trained on another face and this set is really the user now (an account
   * that changed hands): train anyway, recorded as an event. Without it such a set is refused
   * (IDENTITY_MISMATCH).
   */
  replaceIdentity?: boolean;
}

export interface StartTrainingOptions {
  /** See reconcile.ts. */
  pendingGraceMs?: number;
  /** Stops the start: before the create call the claim is undone; see above. */
  signal?: AbortSignal;
}

export interface StartTrainingResult {
  userId: string;
  /** Replicate's training id. */
  trainingId: string;
  modelId: string;
  triggerWord: string;
  status: TrainingStatus;
  /** Exactly the uploaded zip's entries. */
  manifest: readonly PreparedManifestEntry[];
  /** What preparation did to the set (`train --json`'s `dataset`). */
  dataset: DatasetSummary;
  inputImagesUrl: string;
  steps: number | null;
  /** Whether this call created the destination model at Replicate. */
  modelCreated: boolean;
  zipSha256: string;
  zipSize: number;
}

/** The checked set's face, and whether the operator replaces the user's identity with it. */
interface SetFace {
  readonly mean: Float32Array;
  readonly replaceIdentity: boolean;
}

/** Replicate reports trainings and predictions to this URL, when the service receives webhooks. */
const WEBHOOK_EVENTS = ["start", "logs", "completed"] as const;

export async function startTraining(
  ctx: SselfieContext,
  actor: string | null,
  params: StartTrainingParams,
  opts: StartTrainingOptions = {},
): Promise<StartTrainingResult> {
  const userId = validateUserId(params.userId);
  const steps = params.steps === undefined ? undefined : validateSteps(params.steps);
  // Prepared before the database or Replicate hear of it: a bad image set is exit 2 in any state,
  // and what is uploaded is exactly what `sselfie prepare` writes. The prepared files are removed
  // when this call ends, however it ends.
  const identity = ctx.identityCheck === false ? undefined : createIdentityChecks();
  const options = { tmpDir: ctx.tmpDir, ...(identity && { checks: identity }), ...(opts.signal && { signal: opts.signal }) };
  return withPreparedSet(params.images, options, (prepared) => {
    if (!prepared.report.ok) throw preparationFailed(params.images, prepared.report);
    if (identity && !identity.setMean) throw new Error("the identity check accepted a set without giving its face");
    const face = identity ? { mean: identity.setMean!, replaceIdentity: params.replaceIdentity === true } : null;
    return startPreparedTraining(ctx, actor, { userId, steps, prepared, face }, opts);
  });
}

async function startPreparedTraining(
  ctx: SselfieContext,
  actor: string | null,
  { userId, steps, prepared, face }: { userId: string; steps: number | undefined; prepared: PreparedSet; face: SetFace | null },
  opts: StartTrainingOptions,
): Promise<StartTrainingResult> {
  const { db } = ctx;
  const s = db.s;
  const modelName = destinationModelName(userId);
  const trigger = triggerWordFor(userId);

  // Before the claim, so that a refusal costs nothing: a known user's owner must have a usable
  // token, and a new user needs an owner with room (POOL_FULL, before any upload or paid call).
  const existing = await getUserModel(db, s, userId);
  if (existing) await requireOwnerToken(ctx, actor, existing);
  const candidates = await placementCandidates(ctx);

  if (opts.signal?.aborted) throw interrupted(opts.signal, `Interrupted before user ${userId}'s training was started; nothing was done.`, { userId });
  const claim = await claimSlot(ctx, actor, { userId, trigger, steps, candidates, dataset: prepared.summary, face }, opts);
  let row = claim.row;
  let owner = claim.owner;
  let modelId = destinationModelId(owner, userId);
  let created: Training | undefined;
  // Once the create call went out, a training may exist whatever we heard: the row must stay.
  let createSent = false;
  let zipPath: string | undefined;
  const heartbeat = setInterval(() => void touchPendingTraining(db, s, claim.row.id).catch(() => undefined), PENDING_HEARTBEAT_MS);
  heartbeat.unref();
  const step = <T>(p: Promise<T>) => raceAbort(p, opts.signal);
  let packaging: Promise<{ zipPath: string }> | undefined;
  try {
    let gateway = await ctx.gatewayForOwner(owner);
    let ensured: Awaited<ReturnType<typeof gateway.ensurePrivateModel>>;
    try {
      ensured = await step(gateway.ensurePrivateModel(owner, modelName));
    } catch (err) {
      // The account holds models sselfie does not know of: the next owner is tried, once.
      if (!claim.placed || !isModelLimitRefusal(err)) throw err;
      const from = owner;
      owner = await moveToNextOwner(ctx, { userId, from, trainingRowId: row.id, candidates });
      modelId = destinationModelId(owner, userId);
      row = { ...row, destination: modelId };
      await appendEvent(db, s, { operator: actor, action: "owner.full", userId, details: { owner: from, movedTo: owner, message: err.message } });
      gateway = await ctx.gatewayForOwner(owner);
      try {
        ensured = await gateway.ensurePrivateModel(owner, modelName);
      } catch (again) {
        if (isModelLimitRefusal(again)) await markOwnerFull(db, s, owner);
        throw again;
      }
    }
    const { model, created: modelCreated } = ensured;
    if (model.visibility !== "private") {
      throw new StateError(
        INTEGRITY_VIOLATION,
        `The destination model ${modelId} exists on Replicate but is ${model.visibility}; sselfie trains only into a private model. ` +
          `Make it private on Replicate (or delete it), then run train again.`,
        { modelId, visibility: model.visibility },
      );
    }
    if (!(await touchPendingTraining(db, s, row.id))) throw abandoned(userId);
    const packagingNow = packagePreparedSet(prepared, ctx.tmpDir);
    packaging = packagingNow;
    const packaged = await step(packagingNow);
    zipPath = packaged.zipPath;
    if (!(await touchPendingTraining(db, s, row.id))) throw abandoned(userId);
    const file = await step(gateway.uploadFile(packaged.zipPath, { filename: `${userId}-selfies.zip`, contentType: "application/zip" }));
    const uploadedSha = file.checksums.sha256;
    if (file.size !== packaged.zipSize || (uploadedSha && uploadedSha !== packaged.zipSha256)) {
      throw new ReplicateError(
        `Replicate stored the image zip with a different size or checksum than sselfie sent (${file.size} bytes, sha256 ${uploadedSha ?? "?"}); nothing was trained.`,
        { code: REPLICATE_ERROR_CODES.BAD_RESPONSE, details: { expectedSize: packaged.zipSize, expectedSha256: packaged.zipSha256 } },
      );
    }
    const input = trainingInput(file.urls.get, trigger, steps);
    // The URL goes on the row before the create call: it is how a lost answer is found again.
    if (!(await recordTrainingInput(db, s, row.id, input, file.urls.get, packaged.manifest))) throw abandoned(userId);
    opts.signal?.throwIfAborted();

    createSent = true;
    try {
      created = await step(gateway.createTraining({
        trainerOwner: TRAINER_OWNER,
        trainerName: TRAINER_NAME,
        trainerVersion: TRAINER_VERSION,
        destination: modelId,
        input,
        ...(ctx.webhookUrl ? { webhook: ctx.webhookUrl, webhookEventsFilter: [...WEBHOOK_EVENTS] } : {}),
      }));
    } catch (err) {
      if (opts.signal?.aborted) {
        // The create may have reached Replicate: look once, adopt what it made, and stop either way.
        const found = await findTrainingByInput(gateway, { inputImagesUrl: file.urls.get, triggerWord: trigger, createdAfter: row.created_at }).catch(
          () => null,
        );
        if (found) await applyTraining(ctx, row, found, { actor, source: "train", event: false });
        throw interrupted(
          opts.signal,
          found
            ? `Interrupted while starting user ${userId}'s training; Replicate had created it (${found.id}), and it runs. ` +
                `Follow it with \`sselfie status --user ${userId} --watch\`, or stop it with \`sselfie cancel --user ${userId}\`.`
            : `Interrupted while Replicate was creating user ${userId}'s training; it is not listed yet. ` +
                `\`sselfie status --user ${userId}\` adopts it if it appears, or releases the user.`,
          { userId, ...(found ? { trainingId: found.id } : {}) },
        );
      }
      if ((err as ReplicateError).code !== REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN) {
        createSent = false;
        throw err;
      }
      created = (await findTrainingByInput(gateway, { inputImagesUrl: file.urls.get, triggerWord: trigger, createdAfter: row.created_at }).catch(
        () => null,
      )) ?? undefined;
      if (!created) throw outcomeUnknown(userId, err as ReplicateError, opts.pendingGraceMs ?? CREATE_SETTLE_MS);
    }

    const applied = await applyTraining(ctx, row, created, { actor, source: "train", event: false });
    row = applied.row;
    if (row.replicate_training_id !== created.id) {
      // Our claim was released while we were creating (see reconcile.ts): what we made must not run.
      await gateway.cancelTraining(created.id).catch(() => undefined);
      throw abandoned(userId, created.id);
    }
    const result: StartTrainingResult = {
      userId,
      trainingId: created.id,
      modelId,
      triggerWord: trigger,
      status: row.status,
      manifest: packaged.manifest,
      dataset: prepared.summary,
      inputImagesUrl: file.urls.get,
      steps: steps ?? null,
      modelCreated,
      zipSha256: packaged.zipSha256,
      zipSize: packaged.zipSize,
    };
    await appendEvent(db, s, {
      operator: actor,
      action: "train",
      userId,
      details: {
        trainingId: created.id,
        status: row.status,
        modelId,
        trainer: TRAINER_REF,
        steps: steps ?? null,
        images: prepared.files.length,
        zipSha256: packaged.zipSha256,
        inputImagesUrl: file.urls.get,
        modelCreated,
      },
    });
    return result;
  } catch (caught) {
    const err =
      opts.signal?.aborted && !createSent
        ? interrupted(opts.signal, `Interrupted while starting user ${userId}'s training; nothing was created at Replicate and the user is as before.`, {
            userId,
          })
        : caught;
    if (!createSent) {
      // Nothing runs at Replicate: the claim is undone, so the user is as before (their last
      // completed version untouched), and the attempt lives on as one event.
      const undone = await undoClaim(ctx, row, claim.previousModel).catch(() => false);
      await appendEvent(db, s, {
        operator: actor,
        action: "train",
        userId,
        outcome: err instanceof StateError ? "refused" : "failed",
        details: { code: (err as { code?: string }).code ?? "ERROR", message: (err as Error).message, claimUndone: undone },
      }).catch(() => undefined);
    } else {
      // Whatever is left pending is no longer this process's: the next command settles it.
      if (!created) await letGoOfPendingTraining(db, s, row.id).catch(() => undefined);
      await appendEvent(db, s, {
        operator: actor,
        action: "train",
        userId,
        outcome: "failed",
        details: {
          code: (err as { code?: string }).code ?? "ERROR",
          message: (err as Error).message,
          trainingRowId: row.id,
          ...(created ? { trainingId: created.id } : { pending: true }),
        },
      }).catch(() => undefined);
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
    if (zipPath) await rm(zipPath, { force: true }).catch(() => undefined);
    // Interrupted while packaging: the zip is removed once it is written.
    else if (packaging) void packaging.then((p) => rm(p.zipPath, { force: true })).catch(() => undefined);
  }
}

interface Claim {
  row: TrainingRow;
  previousModel: UserModelRow | null;
  /** The user's owner: recorded before, or chosen now. */
  owner: string;
  /** Whether this claim placed a new user (their model row did not exist). */
  placed: boolean;
}

/**
 * The database decides who trains: the insert of the pending row fails on the partial unique
 * index when the user has an active training, whoever checked what before. A pending row left by
 * a dead process is reconciled first (that may release it), then the claim is tried once more.
 */
async function claimSlot(
  ctx: SselfieContext,
  actor: string | null,
  c: { userId: string; trigger: string; steps: number | undefined; candidates: PlacementCandidates; dataset: DatasetSummary; face: SetFace | null },
  opts: StartTrainingOptions,
): Promise<Claim> {
  const { db } = ctx;
  const tryClaim = async (): Promise<Claim | null> => {
    try {
      // Many processes claiming one user can deadlock on its rows; the victim's attempt left nothing.
      return await retryOnDeadlock(() => db.transaction(async (tx) => {
        await ensureUser(tx, db.s, c.userId);
        await refuseIfErasing(tx, db.s, c.userId);
        let previousModel = await lockUserModel(tx, db.s, c.userId);
        let placedOn: string | null = null;
        if (!previousModel) {
          placedOn = await placeNewUser(tx, db.s, { userId: c.userId, triggerWord: c.trigger, candidates: c.candidates });
          // Nothing placed: another process placed this user first, or no owner has room.
          if (placedOn === null) previousModel = await lockUserModel(tx, db.s, c.userId);
          if (placedOn === null && !previousModel) throw poolFull(c.userId, c.candidates);
        }
        if (previousModel) {
          // A user keeps their owner for good: only the training fields change.
          await upsertUserModelForTraining(tx, db.s, { userId: c.userId, modelId: previousModel.replicate_model_id, triggerWord: c.trigger });
        }
        const owner = placedOn ?? previousModel!.owner;
        // The partial unique index decides who trains: this insert fails while the user has an active training.
        await ensureSpendingRow(tx, db.s, c.userId);
        const estimateUsd = await estimateTrainingUsd(tx, db.s, c.userId, c.steps, priceOf(ctx));
        const row = await insertPendingTraining(tx, db.s, {
          userId: c.userId,
          trainerVersion: TRAINER_REF,
          destination: destinationModelId(owner, c.userId),
          input: plannedTrainingInput(c.trigger, c.steps),
          manifest: null,
          operator: actor,
          dataset: { ...c.dataset },
          estimateUsd,
          holder: currentHolder(),
        });
        // The user's own reference only, under the row lock: a mismatch rolls the claim back.
        const identity = c.face && judgeUserIdentity(c.userId, c.face.mean, await getFaceReference(tx, db.s, c.userId), c.face);
        await setPendingFaceReference(tx, db.s, c.userId, c.face?.mean ?? null);
        if (identity) await setTrainingIdentityCheck(tx, db.s, row.id, identity.check);
        if (identity?.check === "replaced") {
          await appendEvent(tx, db.s, {
            operator: actor,
            action: "training.replace-identity",
            userId: c.userId,
            details: { trainingRowId: row.id, distance: identity.distance, threshold: identity.threshold },
          });
        }
        // One statement against the cap; refused, the whole claim (the rows above) is rolled back.
        if (!(await reserveSpending(tx, db.s, c.userId, estimateUsd))) {
          throw await budgetExceeded(tx, db.s, c.userId, "training", estimateUsd);
        }
        return { row, previousModel, owner, placed: placedOn !== null };
      }));
    } catch (err) {
      if (isActiveTrainingConflict(err)) return null;
      if (err instanceof StateError) await refuse(ctx, actor, c.userId, err);
      throw err;
    }
  };

  const first = await tryClaim();
  if (first) return first;
  const active = await getActiveTraining(db, db.s, c.userId);
  if (active?.status === "pending" && (await claimAbandoned(db, db.s, active, opts)).abandoned) {
    await reconcilePendingTraining(ctx, actor, active, opts);
    const second = await tryClaim();
    if (second) return second;
  }
  const current = (await getActiveTraining(db, db.s, c.userId)) ?? active;
  const running = current?.replicate_training_id ? ` (${current.replicate_training_id})` : "";
  const err = new StateError(
    "TRAINING_IN_PROGRESS",
    `User ${c.userId} already has a training ${current?.status === "pending" ? "being started" : "running"}${running}. ` +
      `Follow it with \`sselfie status --user ${c.userId} --watch\`, or stop it with \`sselfie cancel --user ${c.userId}\`.`,
    { userId: c.userId, trainingId: current?.replicate_training_id ?? null, status: current?.status ?? null },
  );
  await refuse(ctx, actor, c.userId, err);
  throw err;
}

/** The user's recorded owner must be one this configuration can act for: sselfie never moves a user. */
async function requireOwnerToken(ctx: SselfieContext, actor: string | null, existing: UserModelRow): Promise<void> {
  try {
    await ctx.gatewayForOwner(existing.owner);
  } catch (err) {
    if (!(err instanceof StateError && err.code === OWNER_NOT_CONFIGURED)) throw err;
    const refusal = new StateError(
      INTEGRITY_VIOLATION,
      `User ${existing.user_id}'s model is ${existing.replicate_model_id}, and sselfie never moves a user to another model. ${err.message}`,
      { userId: existing.user_id, recorded: existing.replicate_model_id, ...err.details },
    );
    await refuse(ctx, actor, existing.user_id, refusal);
    throw refusal;
  }
}

async function refuse(ctx: SselfieContext, actor: string | null, userId: string, err: StateError): Promise<void> {
  await appendEvent(ctx.db, ctx.db.s, {
    operator: actor,
    action: "train",
    userId,
    outcome: "refused",
    details: { code: err.code, ...err.details },
  });
}

async function undoClaim(ctx: SselfieContext, row: TrainingRow, previous: UserModelRow | null): Promise<boolean> {
  const { db } = ctx;
  return db.transaction((tx) => undoPendingClaim(tx, db.s, row, previous));
}

function outcomeUnknown(userId: string, cause: ReplicateError, graceMs: number): ReplicateError {
  return new ReplicateError(
    `Replicate did not confirm the training for user ${userId} (${cause.message}). It is recorded as being started: ` +
      `\`sselfie status --user ${userId}\` adopts it if Replicate created it, or releases the user ` +
      `${Math.round(graceMs / 60_000)} min after this attempt if it did not.`,
    { code: REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN, ...(cause.status === undefined ? {} : { status: cause.status }), details: { userId } },
  );
}

function abandoned(userId: string, trainingId?: string): StateError {
  return new StateError(
    "TRAINING_ABANDONED",
    `The start of user ${userId}'s training was settled by another process while this one was slow` +
      (trainingId ? `; the training it created (${trainingId}) was canceled` : "") +
      `. Check \`sselfie status --user ${userId}\` and train again if needed.`,
    { userId, ...(trainingId ? { trainingId } : {}) },
  );
}
