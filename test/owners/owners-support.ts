/** The owners tests' world: an emulator with four accounts; alice is the implicit owner. */
import { afterEach, beforeAll, beforeEach } from "vitest";
import type { Database } from "../../src/db/types.js";
import { startEmulator, type Emulator, type EmulatorAccount } from "../support/emulator/index.js";
import { imageFolder } from "../training/training-helpers.js";

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

/**
 * One emulator with the four accounts per test (trainings stay running unless a test finishes
 * them) and one folder of 10 training images per file; read `bed.emu` and `bed.images` in tests.
 */
export function ownersTestBed(): { emu: Emulator; images: string } {
  const bed = {} as { emu: Emulator; images: string };
  beforeAll(() => {
    bed.images = imageFolder(10).dir;
  });
  beforeEach(async () => {
    bed.emu = await startEmulator({ accounts: ACCOUNTS, training: { startingMs: 10_000, processingMs: 100_000 } });
  });
  afterEach(() => bed.emu.close());
  return bed;
}
