/**
 * Placing a user on an owner: once, on their first training, in the transaction that creates
 * their model row (src/db/owners.ts does it in one statement the database guards). Here: who may
 * receive new users, the refusal when nobody has room, and the one move allowed when Replicate
 * says an owner is full after all.
 */
import type { SselfieContext } from "../context.js";
import { ensureImplicitOwner, hasAddedOwners, markOwnerFull, movePlacedUser, type PlacementCandidates } from "../db/owners.js";
import { setPendingDestination } from "../db/trainings.js";
import { StateError } from "../errors.js";
import { destinationModelId } from "../locked.js";

export const POOL_FULL = "POOL_FULL";

/**
 * Added owners, once any was added; until then the implicit owner alone (its row made on first use,
 * so that its capacity of 1,000 is held by the database like any other owner's).
 */
export async function placementCandidates(ctx: SselfieContext): Promise<PlacementCandidates> {
  const { db } = ctx;
  if (await hasAddedOwners(db, db.s)) return { added: true };
  const implicitOwner = await ctx.implicitOwner();
  await ensureImplicitOwner(db, db.s, implicitOwner);
  return { added: false, implicitOwner };
}

export function poolFull(userId: string, candidates: PlacementCandidates): StateError {
  const who = candidates.added
    ? "every active owner holds as many users as its capacity, or Replicate reported it full"
    : `the implicit owner ${candidates.implicitOwner} holds as many users as its capacity, or Replicate reported it full`;
  return new StateError(
    POOL_FULL,
    `No Replicate owner has room for new user ${userId}: ${who}. Nothing was uploaded or started. ` +
      "Add an owner (an account or organisation with its own API token): " +
      "`sselfie owners add <name> --token-env <VAR> [--capacity <n>]`; see `sselfie owners list`.",
    { userId },
  );
}

/**
 * Replicate refused to create the model of a user just placed on `from` because that account is at
 * its limit: the owner is marked full (it gets no new users), and the user, who has no model
 * anywhere yet, moves to the next owner with room together with their pending training.
 * Throws POOL_FULL when there is none (the mark stays).
 */
export async function moveToNextOwner(
  ctx: SselfieContext,
  m: { userId: string; from: string; trainingRowId: number; candidates: PlacementCandidates },
): Promise<string> {
  const { db } = ctx;
  await markOwnerFull(db, db.s, m.from);
  const next = await db.transaction(async (tx) => {
    const owner = await movePlacedUser(tx, db.s, { userId: m.userId, from: m.from, candidates: m.candidates });
    if (owner === null) return null;
    if (!(await setPendingDestination(tx, db.s, m.trainingRowId, destinationModelId(owner, m.userId)))) {
      throw new StateError(
        "TRAINING_ABANDONED",
        `The start of user ${m.userId}'s training was settled by another process while this one was moving the user to another owner. ` +
          `Check \`sselfie status --user ${m.userId}\` and train again if needed.`,
        { userId: m.userId },
      );
    }
    return owner;
  });
  if (next === null) throw poolFull(m.userId, m.candidates);
  return next;
}
