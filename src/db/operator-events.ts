import type { Queryable } from "./types.js";

export type EventOutcome = "ok" | "refused" | "failed";

export interface OperatorEvent {
  operator: string | null;
  action: string;
  userId?: string | null;
  outcome?: EventOutcome;
  details?: Record<string, unknown>;
}

export interface OperatorEventRow {
  id: string;
  operator: string | null;
  action: string;
  user_id: string | null;
  outcome: EventOutcome;
  details: Record<string, unknown>;
  created_at: Date;
}

/** operator_events is append-only (a trigger refuses UPDATE and DELETE). */
export async function appendEvent(db: Queryable, s: string, event: OperatorEvent): Promise<void> {
  await db.query(
    `INSERT INTO ${s}.operator_events (operator, action, user_id, outcome, details) VALUES ($1, $2, $3, $4, $5)`,
    [event.operator, event.action, event.userId ?? null, event.outcome ?? "ok", JSON.stringify(event.details ?? {})],
  );
}

export async function listEvents(db: Queryable, s: string, filter: { userId?: string } = {}): Promise<OperatorEventRow[]> {
  const { rows } = filter.userId
    ? await db.query<OperatorEventRow>(`SELECT * FROM ${s}.operator_events WHERE user_id = $1 ORDER BY id`, [filter.userId])
    : await db.query<OperatorEventRow>(`SELECT * FROM ${s}.operator_events ORDER BY id`);
  return rows;
}
