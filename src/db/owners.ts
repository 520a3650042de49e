/**
 * The `owners` table (migration 0003): the Replicate accounts that own users' models. `used` is
 * kept by a trigger on user_models and held to `capacity` by a CHECK; nothing here writes it
 * except when an owner row is created for users that already exist.
 */
import { MODEL_SUFFIX } from "../locked.js";
import type { Queryable } from "./types.js";

export type OwnerStatus = "active" | "draining";

export interface OwnerRow {
  name: string;
  token_env: string;
  capacity: number;
  used: number;
  status: OwnerStatus;
  implicit: boolean;
  full_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The environment variable an implicit owner's token is read from. */
export const IMPLICIT_TOKEN_ENV = "REPLICATE_API_TOKEN";
export const DEFAULT_OWNER_CAPACITY = 1000;

export async function getOwner(db: Queryable, s: string, name: string): Promise<OwnerRow | null> {
  const { rows } = await db.query<OwnerRow>(`SELECT * FROM ${s}.owners WHERE name = $1`, [name]);
  return rows[0] ?? null;
}

export async function listOwnerRows(db: Queryable, s: string): Promise<OwnerRow[]> {
  const { rows } = await db.query<OwnerRow>(`SELECT * FROM ${s}.owners ORDER BY implicit, name`);
  return rows;
}

/** Users whose model lives under `name` (through the index on user_models.owner). */
export async function countOwnerUsers(db: Queryable, s: string, name: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.user_models WHERE owner = $1`, [name]);
  return rows[0]?.n ?? 0;
}

/** Whether any owner was added (`owners add`): then only added owners receive new users. */
export async function hasAddedOwners(db: Queryable, s: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${s}.owners WHERE NOT implicit) AS found`);
  return rows[0]?.found === true;
}

/**
 * Creates an owner row (counting the users it already holds, whose rows were written before it
 * existed), or turns an implicit owner into an added one. Returns null when an added owner of that
 * name exists. A capacity below the users held fails the table's CHECK.
 */
export async function insertOwner(
  db: Queryable,
  s: string,
  o: { name: string; tokenEnv: string; capacity: number; implicit: boolean },
): Promise<OwnerRow | null> {
  const { rows } = await db.query<OwnerRow>(
    `INSERT INTO ${s}.owners (name, token_env, capacity, implicit, used)
     VALUES ($1, $2, $3, $4, (SELECT count(*) FROM ${s}.user_models WHERE owner = $1))
     ON CONFLICT (name) DO UPDATE SET token_env = EXCLUDED.token_env, capacity = EXCLUDED.capacity,
       implicit = false, updated_at = now()
       WHERE ${s}.owners.implicit AND NOT EXCLUDED.implicit
     RETURNING *`,
    [o.name, o.tokenEnv, o.capacity, o.implicit],
  );
  return rows[0] ?? null;
}

/** The implicit owner's row, created when missing (never changed when present). */
export async function ensureImplicitOwner(db: Queryable, s: string, name: string): Promise<void> {
  if (await getOwner(db, s, name)) return;
  await insertOwner(db, s, { name, tokenEnv: IMPLICIT_TOKEN_ENV, capacity: DEFAULT_OWNER_CAPACITY, implicit: true });
}

export async function setOwnerStatus(db: Queryable, s: string, name: string, status: OwnerStatus): Promise<OwnerRow | null> {
  const { rows } = await db.query<OwnerRow>(
    `UPDATE ${s}.owners SET status = $2, updated_at = now() WHERE name = $1 RETURNING *`,
    [name, status],
  );
  return rows[0] ?? null;
}

/** Replicate refused a model for this owner because the account is at its limit. */
export async function markOwnerFull(db: Queryable, s: string, name: string): Promise<void> {
  await db.query(`UPDATE ${s}.owners SET full_at = coalesce(full_at, now()), updated_at = now() WHERE name = $1`, [name]);
}

/**
 * Which owners may receive a new user: every added owner, or, while none was added, only the
 * implicit owner of this name.
 */
export type PlacementCandidates = { added: true } | { added: false; implicitOwner: string };

/** The candidates' condition over `$4` (null: added owners; else the implicit owner's name). */
const CANDIDATES_SQL = "(CASE WHEN $4::text IS NULL THEN NOT implicit ELSE name = $4 END)";
const candidatesParam = (c: PlacementCandidates): string | null => (c.added ? null : c.implicitOwner);

/**
 * Places a new user: one statement inserts their model row under the active owner with the most
 * free places (ties: name order). The owner row is locked while it is chosen and its `used < capacity`
 * is checked again on the latest row when another placement got there first, the trigger counts
 * the user, and the CHECK refuses any count past capacity. Returns the owner, or null when no
 * owner has room or the user's row already exists (the caller looks which).
 */
export async function placeNewUser(
  db: Queryable,
  s: string,
  u: { userId: string; triggerWord: string; candidates: PlacementCandidates },
): Promise<string | null> {
  const { text, values } = placementStatement(s, u);
  const { rows } = await db.query<{ owner: string }>(text, values);
  return rows[0]?.owner ?? null;
}

/** The placement statement itself (bench/placement.ts explains it). */
export function placementStatement(
  s: string,
  u: { userId: string; triggerWord: string; candidates: PlacementCandidates },
): { text: string; values: unknown[] } {
  return {
    text: `INSERT INTO ${s}.user_models (user_id, replicate_model_id, trigger_word, training_status)
     SELECT $1, o.name || '/' || $1 || $3, $2, 'pending'
     FROM (SELECT name FROM ${s}.owners
           WHERE status = 'active' AND full_at IS NULL AND used < capacity AND ${CANDIDATES_SQL}
           ORDER BY capacity - used DESC, name
           LIMIT 1
           FOR UPDATE) o
     ON CONFLICT (user_id) DO NOTHING
     RETURNING owner`,
    values: [u.userId, u.triggerWord, MODEL_SUFFIX, candidatesParam(u.candidates)],
  };
}

/**
 * Moves a user who has no trained model yet to the next owner with room (the database refuses to
 * move a trained user): same choice as placeNewUser, never back to `from`. Returns the new owner or null.
 */
export async function movePlacedUser(
  db: Queryable,
  s: string,
  u: { userId: string; from: string; candidates: PlacementCandidates },
): Promise<string | null> {
  const { rows } = await db.query<{ owner: string }>(
    `UPDATE ${s}.user_models m SET replicate_model_id = o.name || '/' || m.user_id || $3, updated_at = now()
     FROM (SELECT name FROM ${s}.owners
           WHERE status = 'active' AND full_at IS NULL AND used < capacity AND ${CANDIDATES_SQL} AND name <> $2
           ORDER BY capacity - used DESC, name
           LIMIT 1
           FOR UPDATE) o
     WHERE m.user_id = $1 AND m.owner = $2
     RETURNING m.owner`,
    [u.userId, u.from, MODEL_SUFFIX, candidatesParam(u.candidates)],
  );
  return rows[0]?.owner ?? null;
}
