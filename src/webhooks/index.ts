/** Replicate webhooks for backends that receive them. */
export {
  handleReplicateWebhook,
  verifyReplicateWebhook,
  type ApplyPrediction,
  type HeaderSource,
  type WebhookOptions,
  type WebhookRequest,
  type WebhookResult,
} from "./handle-replicate-webhook.js";
export {
  WEBHOOK_TOLERANCE_SECONDS,
  WebhookVerificationError,
  signWebhook,
  hasValidSignature,
  checkTimestamp,
  type WebhookErrorCode,
} from "./verify-signature.js";
