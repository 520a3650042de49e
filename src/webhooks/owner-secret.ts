/**
 * The one place that decides which secret signs a delivery: the secret of the account that owns
 * the delivery's object. Today there is one account (the gateway's), so every delivery is checked
 * against its secret, fetched once (`GET /webhooks/default/secret`) and cached per context. With a
 * pool of owners, this looks up the owner of `delivery`'s object (its training row or generation
 * row's model) and returns that owner's secret; nothing else needs to change.
 */
import type { SselfieContext } from "../context.js";

/** What is known of a delivery before it is verified: its parsed body, which nothing may trust yet. */
export interface UnverifiedDelivery {
  objectId: string | null;
  body: unknown;
}

/** A cached secret older than this may be fetched again when a signature does not match (rotation). */
const SECRET_RECHECK_MS = 60_000;
const secrets = new WeakMap<SselfieContext, { key: Promise<string>; at: number }>();

/**
 * The secret of the owner of the delivery's object. `refresh` asks again when the cached one is
 * over a minute old (a secret rotated at Replicate); `fresh` says whether it was just fetched.
 */
export function webhookSecretFor(
  ctx: SselfieContext,
  /** Parses the body only if called: today's single secret needs nothing of it. */
  _delivery: () => UnverifiedDelivery,
  opts: { refresh: boolean },
): { key: Promise<string>; fresh: boolean } {
  const cached = secrets.get(ctx);
  if (cached && !(opts.refresh && Date.now() - cached.at > SECRET_RECHECK_MS)) return { key: cached.key, fresh: false };
  const key = ctx.replicate().then((g) => g.getWebhookSecret());
  const entry = { key, at: Date.now() };
  secrets.set(ctx, entry);
  key.catch(() => {
    if (secrets.get(ctx) === entry) secrets.delete(ctx);
  });
  return { key, fresh: true };
}
