/**
 * Replicate signs webhooks the Standard Webhooks way: base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 * with the key base64-encoded after `whsec_`. Unlike the official client this checks the
 * timestamp (a captured delivery cannot be replayed later) and compares in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { InvalidInputError, type ErrorDetails } from "../errors.js";

/** Deliveries older or newer than this are refused (Standard Webhooks' recommendation). */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type WebhookErrorCode = "WEBHOOK_MALFORMED" | "WEBHOOK_SIGNATURE_INVALID" | "WEBHOOK_TIMESTAMP_STALE";

/** A delivery that is not provably Replicate's, or not fresh: answer 400 and change nothing. */
export class WebhookVerificationError extends InvalidInputError {
  constructor(code: WebhookErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details, code);
  }
}

export interface SignedDelivery {
  webhookId: string;
  /** The `webhook-timestamp` header: Unix seconds. */
  timestamp: string;
  /** The `webhook-signature` header: space-separated `v1,<base64>` entries. */
  signature: string;
  rawBody: Uint8Array | string;
}

export function webhookKey(secret: string): Buffer {
  const encoded = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const key = Buffer.from(encoded, "base64");
  if (key.length === 0) throw new WebhookVerificationError("WEBHOOK_MALFORMED", "The webhook secret is empty or not base64.");
  return key;
}

export function signWebhook(secret: string, webhookId: string, timestamp: string, rawBody: Uint8Array | string): string {
  const hmac = createHmac("sha256", webhookKey(secret));
  hmac.update(`${webhookId}.${timestamp}.`);
  hmac.update(typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody);
  return hmac.digest("base64");
}

/** True when one `v1` entry of the header is the signature of this delivery under `secret`. */
export function hasValidSignature(delivery: SignedDelivery, secret: string): boolean {
  const expected = Buffer.from(signWebhook(secret, delivery.webhookId, delivery.timestamp, delivery.rawBody), "base64");
  let ok = false;
  for (const entry of delivery.signature.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const given = Buffer.from(entry.slice(comma + 1), "base64");
    // Lengths are public (always 32 bytes); the bytes are compared in constant time.
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

/** Throws WebhookVerificationError unless the timestamp is a whole number within the window around now. */
export function checkTimestamp(timestamp: string, nowMs: number, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS): void {
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new WebhookVerificationError("WEBHOOK_MALFORMED", "The webhook-timestamp header is not a Unix time in seconds.");
  }
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > toleranceSeconds) {
    throw new WebhookVerificationError(
      "WEBHOOK_TIMESTAMP_STALE",
      `The webhook was signed ${Math.round(skew)} s away from now, outside the ${toleranceSeconds} s window; it is refused as a possible replay.`,
      { skewSeconds: Math.round(skew) },
    );
  }
}
