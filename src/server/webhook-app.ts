/**
 * The HTTP side of `serve`: a small fastify app with `POST /webhooks/replicate` (the raw body is
 * kept as bytes for the signature, never parsed by fastify) and `GET /healthz`. What a delivery
 * means is the webhooks use-case's business; this file maps outcomes to status codes and counts
 * them, and writes one log entry per request without any header (no signature, no token).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { SselfieError } from "../errors.js";
import { WebhookVerificationError, type WebhookRequest, type WebhookResult } from "../webhooks/index.js";

/**
 * Replicate's largest deliveries are a finished training's (its `logs` hold one tqdm line per redraw:
 * about 120 bytes a step, so under 1 MB for the trainer's 6,000-step maximum); a prediction's carry
 * its input and a few URLs. 16 MiB is well above either and still bounds what a stranger can send.
 */
export const WEBHOOK_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

export interface DeliveryCounts {
  /** Verified and applied for the first time. */
  applied: number;
  /** Verified, but this webhook-id was applied before: acknowledged, nothing done again. */
  duplicate: number;
  /** Verified, but about nothing sselfie recorded: acknowledged, nothing done. */
  ignored: number;
  /** Refused with 401 (signature), 401 (outside the replay window) or 400 (not a delivery): nothing changed. */
  refused: { signature: number; stale: number; malformed: number };
  /** Could not be applied now (database or Replicate down): 503, Replicate delivers it again. */
  failed: number;
}

export interface LogEntry {
  time: string;
  [key: string]: unknown;
}

export interface WebhookAppDeps {
  handle(request: WebhookRequest): Promise<WebhookResult>;
  /** Checks signature and window only (throws WebhookVerificationError); for retries this process already applied. */
  verify(request: WebhookRequest): Promise<unknown>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Extra fields for /healthz (e.g. the last reconcile). */
  health(): Record<string, unknown>;
  log(entry: LogEntry): void;
  bodyLimit?: number;
}

const SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;
/**
 * Webhook ids this process applied (or found applied) lately, oldest first. Replicate retries a
 * delivery to the same URL; a retry found here is verified and acknowledged without a database
 * round trip. The database (webhook_deliveries) stays the authority for every other case.
 */
const RECENT_IDS = 10_000;

function recentIds() {
  const ids = new Map<string, Pick<WebhookResult, "kind" | "id">>();
  return {
    get: (id: string) => ids.get(id),
    add(id: string, result: Pick<WebhookResult, "kind" | "id">) {
      ids.set(id, result);
      if (ids.size > RECENT_IDS) ids.delete(ids.keys().next().value!);
    },
  };
}


export async function buildWebhookApp(deps: WebhookAppDeps): Promise<{ app: FastifyInstance; counts: DeliveryCounts }> {
  const { default: fastify } = await import("fastify");
  let closing = false;
  const recent = recentIds();
  // Per-request facts for the log line, set by the handlers (no augmentation of fastify's types).
  const logFields = new WeakMap<FastifyRequest, Record<string, unknown>>();
  const counts: DeliveryCounts = { applied: 0, duplicate: 0, ignored: 0, refused: { signature: 0, stale: 0, malformed: 0 }, failed: 0 };
  const app = fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? WEBHOOK_BODY_LIMIT_BYTES,
    // While closing: new requests get 503 (Replicate retries), idle keep-alive sockets are closed,
    // requests in flight finish.
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  // The signature covers the exact bytes: every body is kept raw, whatever its content type.
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Once closing, every answer ends its connection: a keep-alive socket would hold close() open.
  app.addHook("onSend", async (_req, reply) => {
    if (closing) reply.header("connection", "close");
  });

  app.addHook("onResponse", async (req: FastifyRequest, reply: FastifyReply) => {
    deps.log({
      time: new Date().toISOString(),
      method: req.method,
      // The path only: a query string could carry anything.
      path: req.url.split("?")[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...logFields.get(req),
    });
  });

  app.post("/webhooks/replicate", async (req, reply) => {
    const webhookId = req.headers["webhook-id"];
    const fields: Record<string, unknown> = typeof webhookId === "string" ? { webhookId: webhookId.slice(0, 100) } : {};
    logFields.set(req, fields);
    if (SIGNATURE_HEADERS.some((h) => typeof req.headers[h] !== "string")) {
      counts.refused.signature++;
      fields.outcome = "refused";
      return reply.code(401).send({ error: { code: "WEBHOOK_SIGNATURE_INVALID", message: "An unsigned request: Replicate's webhook headers are missing." } });
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request = { headers: req.headers, rawBody };
    try {
      const known = recent.get(webhookId as string);
      let result: WebhookResult;
      if (known) {
        await deps.verify(request);
        result = { handled: true, duplicate: true, ...known };
      } else {
        result = await deps.handle(request);
        if (result.handled) recent.add(webhookId as string, { kind: result.kind, id: result.id });
      }
      const outcome = result.duplicate ? "duplicate" : result.handled ? "applied" : "ignored";
      counts[outcome]++;
      Object.assign(fields, { outcome, kind: result.kind, objectId: result.id });
      return reply.code(200).send({ ok: true, outcome });
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        const kind = err.code === "WEBHOOK_TIMESTAMP_STALE" ? "stale" : err.code === "WEBHOOK_SIGNATURE_INVALID" ? "signature" : "malformed";
        counts.refused[kind]++;
        Object.assign(fields, { outcome: "refused", code: err.code });
        return reply.code(kind === "malformed" ? 400 : 401).send({ error: { code: err.code, message: err.message } });
      }
      counts.failed++;
      const code = err instanceof SselfieError ? err.code : "UNEXPECTED";
      Object.assign(fields, { outcome: "failed", code });
      return reply.code(503).send({ error: { code, message: "The delivery could not be applied now; deliver it again." } });
    }
  });

  app.get("/healthz", async (_req, reply) => {
    try {
      await deps.ping();
      return reply.code(200).send({ ok: true, database: "up", deliveries: counts, ...deps.health() });
    } catch {
      return reply.code(503).send({ ok: false, database: "down", deliveries: counts, ...deps.health() });
    }
  });

  return { app, counts };
}
