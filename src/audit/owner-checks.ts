/**
 * `owner.capacity`: no owner holds more users than its capacity. The database holds `used` to
 * capacity (migration 0006), but `used` is a counter: this counts the users themselves, per owner
 * through the index on user_models.owner, and lists the users placed past each full owner's
 * capacity (latest placed first to go). The implicit owner without a row has a capacity of 1,000.
 */
import { DEFAULT_OWNER_CAPACITY } from "../db/owners.js";
import type { Queryable } from "../db/types.js";
import type { FindingFields } from "./sql-check.js";

export interface OwnerCapacityResult {
  count: number;
  listed: Array<{ rule: string } & FindingFields>;
}

export async function auditOwnerCapacity(db: Queryable, s: string, implicitOwner: string | null, maxPerRule: number): Promise<OwnerCapacityResult> {
  const { rows } = await db.query<{ name: string; capacity: number; held: number; user_id: string; replicate_model_id: string; n: number }>(
    `WITH owners AS (
       SELECT name, capacity FROM ${s}.owners
       UNION ALL
       SELECT $1::text, $2::int WHERE $1::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${s}.owners WHERE name = $1::text)
     ), held AS (
       SELECT o.name, o.capacity, (SELECT count(*) FROM ${s}.user_models m WHERE m.owner = o.name)::int AS held FROM owners o
     ), past AS (
       SELECT h.name, h.capacity, h.held, r.user_id, r.replicate_model_id
       FROM held h
       CROSS JOIN LATERAL (SELECT m.user_id, m.replicate_model_id FROM ${s}.user_models m WHERE m.owner = h.name
                           ORDER BY m.created_at, m.user_id OFFSET h.capacity) r
       WHERE h.held > h.capacity
     )
     SELECT past.*, (SELECT count(*) FROM past)::int AS n FROM past ORDER BY name, user_id LIMIT $3`,
    [implicitOwner, DEFAULT_OWNER_CAPACITY, maxPerRule],
  );
  return {
    count: rows[0]?.n ?? 0,
    listed: rows.map((r) => ({
      rule: "owner.capacity",
      userId: r.user_id,
      modelId: r.replicate_model_id,
      message: `Owner ${r.name} holds ${r.held} users, more than its capacity of ${r.capacity}; user ${r.user_id} was placed past it.`,
    })),
  };
}
