/** The owners tests' world: an emulator with four accounts; alice is the implicit owner. */
import type { Database } from "../../src/db/types.js";
import type { EmulatorAccount } from "../support/emulator/index.js";

export const ACCOUNTS: EmulatorAccount[] = [
  { token: "test-token-alice-0123456789", username: "alice" },
  { token: "test-token-bob-0123456789", username: "bob" },
  { token: "test-token-carol-0123456789", username: "carol" },
  { token: "test-token-dave-0123456789", username: "dave" },
];

/** Added owners' tokens, by the variable names their rows record. */
export const TOKENS: Record<string, string> = {
  REPLICATE_TOKEN_BOB: "test-token-bob-0123456789",
  REPLICATE_TOKEN_CAROL: "test-token-carol-0123456789",
  REPLICATE_TOKEN_DAVE: "test-token-dave-0123456789",
};

export const tokenEnvOf = (owner: string) => `REPLICATE_TOKEN_${owner.toUpperCase()}`;

export async function ownerRows(db: Database): Promise<Array<{ name: string; used: number; capacity: number; status: string; full_at: Date | null }>> {
  return (await db.query<{ name: string; used: number; capacity: number; status: string; full_at: Date | null }>(
    `SELECT name, used, capacity, status, full_at FROM ${db.s}.owners ORDER BY name`,
  )).rows;
}

/** owner per user, from the users' model rows. */
export async function placements(db: Database): Promise<Record<string, string>> {
  const { rows } = await db.query<{ user_id: string; owner: string }>(`SELECT user_id, owner FROM ${db.s}.user_models ORDER BY user_id`);
  return Object.fromEntries(rows.map((r) => [r.user_id, r.owner]));
}
