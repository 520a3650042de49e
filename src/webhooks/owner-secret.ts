/**
 * The one place that decides which secret signs a delivery: the secret of the account that owns
 * the delivery's object (each owner's account signs its own webhooks). The owner is the one
 * sselfie recorded for that object: a training's destination model, a generation's model, or,
 * for a prediction whose create was never answered, the user's model it names. A delivery about
 * nothing sselfie recorded is checked against the implicit owner's secret (and then acknowledged
 * and ignored). Each owner's secret is fetched once with that owner's token and cached per
 * context; an object's owner never changes, so it is remembered too (a retried delivery costs no
 * database round trip).
 */
import type { SselfieContext } from "../context.js";
import { getGenerationByPredictionId } from "../db/generations.js";
import { findTrainingForReplicate } from "../db/trainings.js";
import { findModelOwner } from "../db/user-models.js";
import { modelOwner } from "../locked.js";

/** What is known of a delivery before it is verified: its parsed body, which nothing may trust yet. */
export interface UnverifiedDelivery {
  objectId: string | null;
  body: unknown;
}

/** A cached secret older than this may be fetched again when a signature does not match (rotation). */
const SECRET_RECHECK_MS = 60_000;
/** Owners remembered per context, by object id (the oldest go first past this). */
const REMEMBERED_OBJECTS = 10_000;

interface ContextSecrets {
  /** By owner name; "" for the implicit owner. */
  secrets: Map<string, { key: Promise<string>; at: number }>;
  owners: Map<string, string | null>;
}
const byContext = new WeakMap<SselfieContext, ContextSecrets>();

function stateOf(ctx: SselfieContext): ContextSecrets {
  let state = byContext.get(ctx);
  if (!state) byContext.set(ctx, (state = { secrets: new Map(), owners: new Map() }));
  return state;
}

/** The owner sselfie recorded for the object the (unverified) body names; null when unknown. */
async function recordedOwner(ctx: SselfieContext, delivery: UnverifiedDelivery): Promise<string | null> {
  const { db } = ctx;
  const body = (delivery.body ?? {}) as { input?: { input_images?: unknown }; model?: unknown };
  if (delivery.objectId === null) return null;
  const inputImages = typeof body.input?.input_images === "string" ? body.input.input_images : null;
  if (inputImages !== null) {
    const row = await findTrainingForReplicate(db, db.s, delivery.objectId, inputImages);
    return row ? modelOwner(row.destination) : null;
  }
  const generation = await getGenerationByPredictionId(db, db.s, delivery.objectId);
  if (generation) return modelOwner(generation.version_ref);
  return typeof body.model === "string" ? findModelOwner(db, db.s, body.model) : null;
}

async function ownerOf(ctx: SselfieContext, delivery: UnverifiedDelivery): Promise<string | null> {
  const { owners } = stateOf(ctx);
  const id = delivery.objectId;
  if (id !== null && owners.has(id)) return owners.get(id)!;
  const owner = await recordedOwner(ctx, delivery);
  // Unknown objects are not remembered: a training may be recorded a moment later.
  if (id !== null && owner !== null) {
    owners.set(id, owner);
    if (owners.size > REMEMBERED_OBJECTS) owners.delete(owners.keys().next().value!);
  }
  return owner;
}

/**
 * The secret of the owner of the delivery's object. `refresh` asks again when the cached one is
 * over a minute old (a secret rotated at Replicate); `fresh` says whether it was just fetched.
 */
export async function webhookSecretFor(
  ctx: SselfieContext,
  /** Parses the body only if called. */
  delivery: () => UnverifiedDelivery,
  opts: { refresh: boolean },
): Promise<{ key: string; fresh: boolean }> {
  const owner = await ownerOf(ctx, delivery());
  const { secrets } = stateOf(ctx);
  const name = owner ?? "";
  const cached = secrets.get(name);
  if (cached && !(opts.refresh && Date.now() - cached.at > SECRET_RECHECK_MS)) return { key: await cached.key, fresh: false };
  const key = (owner === null ? ctx.implicitOwner() : Promise.resolve(owner))
    .then((o) => ctx.gatewayForOwner(o))
    .then((g) => g.getWebhookSecret());
  const entry = { key, at: Date.now() };
  secrets.set(name, entry);
  key.catch(() => {
    if (secrets.get(name) === entry) secrets.delete(name);
  });
  return { key: await key, fresh: true };
}
