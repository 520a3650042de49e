import type { Queryable } from "./types.js";

export interface UserRow {
  id: string;
  created_at: Date;
}

/** Creates the user row if it is missing; user ids are kept exactly as given (text). */
export async function ensureUser(db: Queryable, s: string, userId: string): Promise<void> {
  await db.query(`INSERT INTO ${s}.users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
}
