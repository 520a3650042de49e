/** `serve`: Replicate's webhooks received, verified and applied; reconcile on a timer. */
export {
  serve,
  validateServeParams,
  DEFAULT_SERVE_HOST,
  DEFAULT_SERVE_PORT,
  DEFAULT_RECONCILE_EVERY_MS,
  WEBHOOK_PATH,
  type ServeParams,
  type ServeOptions,
  type WebhookServer,
} from "./serve.js";
export { WEBHOOK_BODY_LIMIT_BYTES, type DeliveryCounts, type LogEntry } from "./webhook-app.js";
