/** Replicate retries a webhook with the same `webhook-id`; this table remembers the ones applied. */
import type { Queryable } from "./types.js";

export interface WebhookDeliveryRow {
  webhook_id: string;
  kind: string;
  object_id: string | null;
  received_at: Date;
}

/** Records a delivery; false when that webhook id was recorded before. */
export async function recordWebhookDelivery(
  db: Queryable,
  s: string,
  d: { webhookId: string; kind: string; objectId: string | null },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO ${s}.webhook_deliveries (webhook_id, kind, object_id) VALUES ($1, $2, $3)
     ON CONFLICT (webhook_id) DO NOTHING`,
    [d.webhookId, d.kind, d.objectId],
  );
  return rowCount === 1;
}

export async function getWebhookDelivery(db: Queryable, s: string, webhookId: string): Promise<WebhookDeliveryRow | null> {
  const { rows } = await db.query<WebhookDeliveryRow>(`SELECT * FROM ${s}.webhook_deliveries WHERE webhook_id = $1`, [webhookId]);
  return rows[0] ?? null;
}
