/**
 * Replicate's webhooks, for a backend that receives them: verify, deduplicate, then apply the very
 * transition `status` applies (trainings) or hand the prediction to the generation use-case.
 * A training delivery is recorded in webhook_deliveries in the same transaction that applies it,
 * so a retried delivery is either applied once or not at all.
 */
import type { SselfieContext } from "../context.js";
import { findTrainingForReplicate, type TrainingRow } from "../db/trainings.js";
import { getWebhookDelivery, recordWebhookDelivery } from "../db/webhook-deliveries.js";
import type { Prediction, Training } from "../replicate/index.js";
import { planTrainingUpdate, writeTrainingUpdate } from "../training/apply-training.js";
import {
  checkTimestamp,
  hasValidSignature,
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookVerificationError,
  type SignedDelivery,
} from "./verify-signature.js";
import { webhookSecretFor, type UnverifiedDelivery } from "./owner-secret.js";

export type HeaderSource = Headers | Record<string, string | readonly string[] | undefined>;

export interface WebhookRequest {
  headers: HeaderSource;
  /** The body exactly as received: the signature covers these bytes. */
  rawBody: string | Uint8Array;
  /** Defaults to the current time. */
  now?: Date | number;
}

export type ApplyPrediction = (ctx: SselfieContext, prediction: Prediction) => Promise<unknown>;

export interface WebhookOptions {
  /** `whsec_...`; default: the account's secret from Replicate, fetched once and cached. */
  secret?: string;
  toleranceSeconds?: number;
  /** Recorded as the operator of the events a delivery causes. */
  actor?: string | null;
  /**
   * Applies a prediction delivery (default: the generation use-case's applyPredictionUpdate);
   * returns `false` or `null` when the prediction is not sselfie's.
   */
  applyPrediction?: ApplyPrediction;
}

export interface WebhookResult {
  /** False when the delivery is about nothing sselfie recorded. */
  handled: boolean;
  /** True when this webhook-id was applied before; nothing was done again. */
  duplicate: boolean;
  kind: "training" | "prediction" | "unknown";
  /** Replicate's id of the training or prediction. */
  id: string | null;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | readonly string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(" ") : (value as string | undefined);
}

/** Throws WebhookVerificationError unless the delivery is signed with the secret and fresh. */
export async function verifyReplicateWebhook(
  ctx: SselfieContext,
  request: WebhookRequest,
  opts: Pick<WebhookOptions, "secret" | "toleranceSeconds"> = {},
): Promise<SignedDelivery> {
  const webhookId = header(request.headers, "webhook-id");
  const timestamp = header(request.headers, "webhook-timestamp");
  const signature = header(request.headers, "webhook-signature");
  if (!webhookId || !timestamp || !signature) {
    throw new WebhookVerificationError(
      "WEBHOOK_MALFORMED",
      "A Replicate webhook needs the webhook-id, webhook-timestamp and webhook-signature headers.",
    );
  }
  const delivery: SignedDelivery = { webhookId, timestamp, signature, rawBody: request.rawBody };
  let valid: boolean;
  if (opts.secret !== undefined) {
    valid = hasValidSignature(delivery, opts.secret);
  } else {
    let parsed: UnverifiedDelivery | undefined;
    const unverified = () => (parsed ??= unverifiedDelivery(request.rawBody));
    const first = await webhookSecretFor(ctx, unverified, { refresh: false });
    valid = hasValidSignature(delivery, first.key);
    if (!valid && !first.fresh) {
      const again = await webhookSecretFor(ctx, unverified, { refresh: true });
      if (again.fresh) valid = hasValidSignature(delivery, again.key);
    }
  }
  if (!valid) throw new WebhookVerificationError("WEBHOOK_SIGNATURE_INVALID", "The webhook signature does not match; the delivery is refused.");
  const now = request.now === undefined ? Date.now() : typeof request.now === "number" ? request.now : request.now.getTime();
  checkTimestamp(timestamp, now, opts.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS);
  return delivery;
}

export async function handleReplicateWebhook(
  ctx: SselfieContext,
  request: WebhookRequest,
  opts: WebhookOptions = {},
): Promise<WebhookResult> {
  const delivery = await verifyReplicateWebhook(ctx, request, opts);
  const payload = parseBody(request.rawBody);
  const objectId = payload.id;
  const { db } = ctx;

  const seen = await getWebhookDelivery(db, db.s, delivery.webhookId);
  if (seen) return { handled: true, duplicate: true, kind: asKind(seen.kind), id: seen.object_id };

  const row = await trainingRowFor(ctx, payload);
  if (row) {
    const training = (await parseObject("training", payload)) as Training;
    const plan = await planTrainingUpdate(ctx, row, training);
    const fresh = await db.transaction(async (tx) => {
      if (!(await recordWebhookDelivery(tx, db.s, { webhookId: delivery.webhookId, kind: "training", objectId }))) return false;
      await writeTrainingUpdate(tx, db.s, row, plan, { actor: opts.actor ?? null, source: "webhook" });
      return true;
    });
    return { handled: true, duplicate: !fresh, kind: "training", id: objectId };
  }
  if (isTrainingPayload(payload)) return { handled: false, duplicate: false, kind: "training", id: objectId };

  const apply = opts.applyPrediction ?? (await import("../generation/apply-prediction.js")).applyPredictionUpdate;
  const prediction = (await parseObject("prediction", payload)) as Prediction;
  const outcome = await apply(ctx, prediction);
  if (outcome === false || outcome === null || (typeof outcome === "object" && (outcome as { handled?: unknown }).handled === false)) {
    return { handled: false, duplicate: false, kind: "prediction", id: objectId };
  }
  // Applying a prediction is idempotent, so two copies racing here both apply harmlessly; the
  // record makes every later retry a no-op.
  const fresh = await recordWebhookDelivery(db, db.s, { webhookId: delivery.webhookId, kind: "prediction", objectId });
  return { handled: true, duplicate: !fresh, kind: "prediction", id: objectId };
}

interface Payload {
  id: string;
  input?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The body as far as it parses, for choosing the owner's secret; trusted only once verified. */
function unverifiedDelivery(rawBody: string | Uint8Array): UnverifiedDelivery {
  try {
    const body: unknown = JSON.parse(typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8"));
    const id = body && typeof body === "object" ? (body as { id?: unknown }).id : undefined;
    return { objectId: typeof id === "string" ? id : null, body };
  } catch {
    return { objectId: null, body: null };
  }
}

function parseBody(rawBody: string | Uint8Array): Payload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof rawBody === "string" ? rawBody : Buffer.from(rawBody).toString("utf8"));
  } catch {
    throw new WebhookVerificationError("WEBHOOK_MALFORMED", "The webhook body is not JSON.");
  }
  if (!parsed || typeof parsed !== "object" || typeof (parsed as { id?: unknown }).id !== "string") {
    throw new WebhookVerificationError("WEBHOOK_MALFORMED", "The webhook body is not a Replicate training or prediction.");
  }
  return parsed as Payload;
}

/** The response schemas (and zod) load here, on a delivery, not with every command that imports this module. */
async function parseObject(kind: "training" | "prediction", payload: Payload): Promise<unknown> {
  const { PredictionSchema, TrainingSchema } = await import("../replicate/schemas.js");
  const result = (kind === "training" ? TrainingSchema : PredictionSchema).safeParse(payload);
  if (result.success) return result.data;
  throw new WebhookVerificationError("WEBHOOK_MALFORMED", `The webhook body is not a valid ${kind}: ${result.error.issues[0]?.message ?? "invalid"}.`, {
    id: payload.id,
  });
}

function isTrainingPayload(payload: Payload): boolean {
  return typeof payload.input?.input_images === "string";
}

/** Our row for this training: by its id, or a pending row whose recorded upload it was created from. */
async function trainingRowFor(ctx: SselfieContext, payload: Payload): Promise<TrainingRow | null> {
  const { db } = ctx;
  const url = isTrainingPayload(payload) ? (payload.input!.input_images as string) : null;
  const row = await findTrainingForReplicate(db, db.s, payload.id, url);
  if (!row || row.replicate_training_id === payload.id) return row;
  return row.input.trigger_word === payload.input!.trigger_word ? row : null;
}

function asKind(kind: string): WebhookResult["kind"] {
  return kind === "training" || kind === "prediction" ? kind : "unknown";
}
