/**
 * `serve`: the webhook receiver that also reconciles on a timer (CONTRACT.md, "Finishing work
 * unattended"). Returns once listening; `close()` (or the caller's `signal`) stops accepting,
 * lets requests in flight and the reconcile pass in progress finish their current item, and
 * resolves when nothing is left running. The caller owns the SDK object and closes it afterwards.
 */
import type { AddressInfo } from "node:net";
import type { SselfieContext } from "../context.js";
import { InvalidInputError } from "../errors.js";
import { DEFAULT_RECHECK_AFTER_MS, reconcile, type ReconcileReport } from "../reconcile/index.js";
import { handleReplicateWebhook, verifyReplicateWebhook } from "../webhooks/index.js";
import { buildWebhookApp, type DeliveryCounts, type LogEntry } from "./webhook-app.js";
import { quoteValue, shortValue } from "../quote-value.js";

export const DEFAULT_SERVE_HOST = "127.0.0.1";
export const DEFAULT_SERVE_PORT = 8080;
export const DEFAULT_RECONCILE_EVERY_MS = 5 * 60_000;
export const WEBHOOK_PATH = "/webhooks/replicate";

export interface ServeParams {
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** A reconcile pass this often (the first one at start); 0 turns it off. Default 5 minutes. */
  reconcileEveryMs?: number;
}

export interface ServeOptions {
  /** Who acts in operator_events for deliveries and reconcile passes. */
  actor?: string | null;
  /** One entry per request and per reconcile pass; sselfie never prints them itself. */
  onLog?: (entry: LogEntry) => void;
  /** Aborting it closes the server as `close()` does. */
  signal?: AbortSignal;
}

export interface WebhookServer {
  /** `http://host:port`, the port resolved. */
  readonly url: string;
  /** What to give Replicate (and SSELFIE_WEBHOOK_URL) when this URL is the public one. */
  readonly webhookUrl: string;
  counts(): DeliveryCounts;
  /** Resolves once the server stopped and the reconcile pass in progress ended. */
  close(): Promise<void>;
  /** Resolves when the server has closed, by `close()` or the signal. */
  readonly closed: Promise<void>;
}

export function validateServeParams(params: ServeParams): Required<ServeParams> {
  const host = params.host ?? DEFAULT_SERVE_HOST;
  const port = params.port ?? DEFAULT_SERVE_PORT;
  const every = params.reconcileEveryMs ?? DEFAULT_RECONCILE_EVERY_MS;
  if (typeof host !== "string" || !/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) {
    throw new InvalidInputError(`Invalid host ${quoteValue(host)}: give a host name or an IP address.`, { host: shortValue(host) });
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`Invalid port ${quoteValue(port)}: give 0 (any free port) to 65535.`, { port });
  }
  if (!Number.isFinite(every) || every < 0 || every > 7 * 24 * 3_600_000) {
    throw new InvalidInputError(`Invalid reconcile interval ${every} ms: give 0 (off) or a positive time up to a week.`, { every });
  }
  return { host, port, reconcileEveryMs: every };
}

export async function serve(ctx: SselfieContext, params: ServeParams = {}, opts: ServeOptions = {}): Promise<WebhookServer> {
  const { host, port, reconcileEveryMs } = validateServeParams(params);
  const actor = opts.actor ?? null;
  const log = (entry: Omit<LogEntry, "time">) => opts.onLog?.({ time: new Date().toISOString(), ...entry });
  const stopping = new AbortController();
  let pass: Promise<void> | null = null;
  let lastReconcile: { at: string; trainings: ReconcileReport["trainings"]; generations: ReconcileReport["generations"]; errors: number } | null = null;

  const { app, counts } = await buildWebhookApp({
    handle: (request) => handleReplicateWebhook(ctx, request, { actor }),
    verify: (request) => verifyReplicateWebhook(ctx, request),
    ping: async () => void (await ctx.db.query("SELECT 1")),
    health: () => ({ reconcile: lastReconcile }),
    log: (entry) => opts.onLog?.(entry),
  });

  const runPass = () => {
    if (pass || stopping.signal.aborted) return;
    const started = Date.now();
    pass = reconcile(ctx, {
      actor,
      signal: stopping.signal,
      // A pass every few seconds (tests, small intervals) must still see what the last one left running.
      recheckAfterMs: Math.min(DEFAULT_RECHECK_AFTER_MS, reconcileEveryMs / 2),
    })
      .then((r) => {
        lastReconcile = { at: new Date().toISOString(), trainings: r.trainings, generations: r.generations, errors: r.errors.length };
        log({
          event: "reconcile",
          ms: Date.now() - started,
          trainings: r.trainings,
          generations: r.generations,
          errors: r.errors.map((e) => ({ kind: e.kind, id: e.id, userId: e.userId, code: e.code })),
        });
      })
      .catch((err: unknown) => log({ event: "reconcile", ms: Date.now() - started, failed: (err as { code?: string }).code ?? "UNEXPECTED" }))
      .finally(() => (pass = null));
  };

  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;

  const timer = reconcileEveryMs > 0 ? setInterval(runPass, reconcileEveryMs) : null;
  if (reconcileEveryMs > 0) runPass();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      if (timer) clearInterval(timer);
      stopping.abort();
      await app.close();
      await pass;
    })());
  const onAbort = () => void close();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) void close();
  const closed = new Promise<void>((resolve) => app.server.once("close", () => resolve())).then(async () => {
    await closing;
    opts.signal?.removeEventListener("abort", onAbort);
  });

  return { url, webhookUrl: `${url}${WEBHOOK_PATH}`, counts: () => structuredClone(counts), close, closed };
}
