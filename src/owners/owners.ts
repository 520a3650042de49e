/**
 * The pool of Replicate owners (CONTRACT.md, "Owners"): add, list, drain. An owner is recorded
 * with the NAME of the environment variable holding its token; the token itself never reaches
 * the database, a message or a log.
 */
import type { SselfieContext } from "../context.js";
import { appendEvent } from "../db/operator-events.js";
import {
  countOwnerUsers,
  DEFAULT_OWNER_CAPACITY,
  ensureImplicitOwner,
  getOwner,
  hasAddedOwners,
  IMPLICIT_TOKEN_ENV,
  insertOwner,
  listOwnerRows,
  setOwnerStatus,
  type OwnerRow,
  type OwnerStatus,
} from "../db/owners.js";
import { ConfigError, InvalidInputError, ReplicateError, StateError } from "../errors.js";
import { quoteValue, shortValue } from "../quote-value.js";

/** A Replicate account or organisation name (as REPLICATE_OWNER accepts it). */
const OWNER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const TOKEN_ENV = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_OWNER_CAPACITY = 1_000_000;

export interface Owner {
  name: string;
  /** The environment variable holding the owner's token (never the token). */
  tokenEnv: string;
  capacity: number;
  /** Users placed on this owner. */
  used: number;
  /** Places left for new users: 0 when draining-by-design, full, or at capacity. */
  free: number;
  status: OwnerStatus;
  /** Replicate refused a model for this owner because the account is at its limit. */
  full: boolean;
  /** Present (true) for the owner sselfie used before any was added (REPLICATE_API_TOKEN). */
  implicit?: true;
}

export interface AddOwnerParams {
  name: string;
  tokenEnv: string;
  /** Users this owner may hold; default 1,000 (Replicate's models per account). */
  capacity?: number;
}

export interface OwnerCallOptions {
  /** Who acts, for operator_events. */
  actor?: string | null;
}

export function validateOwnerName(name: unknown): string {
  if (typeof name !== "string" || !OWNER_NAME.test(name)) {
    throw new InvalidInputError(
      `Invalid owner ${quoteValue(name)}: give the Replicate account or organisation name (letters, digits, "_" or "-").`,
      { owner: shortValue(name) },
    );
  }
  return name;
}

export function validateTokenEnv(tokenEnv: unknown): string {
  // The value is never repeated: a token given here by mistake must not be printed back.
  if (typeof tokenEnv !== "string" || !TOKEN_ENV.test(tokenEnv) || /^r8_/.test(tokenEnv)) {
    throw new InvalidInputError(
      "Invalid --token-env: give the NAME of the environment variable holding the owner's API token " +
        "(letters, digits and _, e.g. REPLICATE_TOKEN_ACME), never the token itself.",
    );
  }
  return tokenEnv;
}

export function validateCapacity(capacity: unknown): number {
  if (capacity === undefined) return DEFAULT_OWNER_CAPACITY;
  const n = typeof capacity === "string" && /^\d+$/.test(capacity.trim()) ? Number(capacity) : capacity;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_OWNER_CAPACITY) {
    throw new InvalidInputError(`Invalid capacity ${quoteValue(capacity)}: give a whole number of users from 1 to ${MAX_OWNER_CAPACITY}.`, {
      capacity: shortValue(capacity),
    });
  }
  return n;
}

export function validateAddOwner(params: AddOwnerParams): Required<AddOwnerParams> {
  return { name: validateOwnerName(params.name), tokenEnv: validateTokenEnv(params.tokenEnv), capacity: validateCapacity(params.capacity) };
}

function toOwner(row: OwnerRow, addedOwnersExist: boolean): Owner {
  // Once owners are added, an implicit owner keeps its users and gets no new ones.
  const status: OwnerStatus = row.implicit && addedOwnersExist ? "draining" : row.status;
  const full = row.full_at !== null;
  return {
    name: row.name,
    tokenEnv: row.implicit ? IMPLICIT_TOKEN_ENV : row.token_env,
    capacity: row.capacity,
    used: row.used,
    free: status === "active" && !full ? Math.max(0, row.capacity - row.used) : 0,
    status,
    full,
    ...(row.implicit ? { implicit: true as const } : {}),
  };
}

export async function addOwner(ctx: SselfieContext, params: AddOwnerParams, opts: OwnerCallOptions = {}): Promise<Owner> {
  const o = validateAddOwner(params);
  const { db } = ctx;
  const refuse = async (err: StateError) => {
    await appendEvent(db, db.s, { operator: opts.actor ?? null, action: "owners.add", outcome: "refused", details: { code: err.code, ...err.details } });
    return err;
  };
  let row: OwnerRow | null;
  try {
    row = await db.transaction(async (tx) => {
      const added = await insertOwner(tx, db.s, { ...o, implicit: false });
      if (added) {
        await appendEvent(tx, db.s, {
          operator: opts.actor ?? null,
          action: "owners.add",
          details: { name: o.name, tokenEnv: o.tokenEnv, capacity: o.capacity, used: added.used },
        });
      }
      return added;
    });
  } catch (err) {
    if ((err as { code?: string }).code === "23514") {
      const held = (await getOwner(db, db.s, o.name))?.used;
      throw await refuse(
        new StateError(
          "OWNER_OVER_CAPACITY",
          `Owner ${o.name} already holds ${held ?? "more"} users, more than a capacity of ${o.capacity}: give a capacity of at least ${held ?? "its users"}.`,
          { name: o.name, capacity: o.capacity, used: held ?? null },
        ),
      );
    }
    throw err;
  }
  if (!row) {
    throw await refuse(
      new StateError("OWNER_EXISTS", `Owner ${o.name} was already added: see \`sselfie owners list\`.`, { name: o.name }),
    );
  }
  return toOwner(row, true);
}

/**
 * Every owner, added ones first by name, then implicit ones. With no owner added, the implicit
 * owner is listed even before it holds anyone (its name then needs REPLICATE_OWNER, or
 * REPLICATE_API_TOKEN to ask Replicate).
 */
export async function listOwners(ctx: SselfieContext): Promise<Owner[]> {
  const { db } = ctx;
  const addedExist = await hasAddedOwners(db, db.s);
  let rows = await listOwnerRows(db, db.s);
  if (!addedExist) {
    let implicitName: string | null = null;
    try {
      implicitName = await ctx.implicitOwner();
    } catch (err) {
      // With implicit rows to show, an unknown current name only leaves it out.
      if (rows.length === 0 || !(err instanceof ConfigError || err instanceof ReplicateError)) throw err;
    }
    if (implicitName !== null && !rows.some((r) => r.name === implicitName)) {
      // Not written here: its row is made when it first receives a user.
      const now = new Date();
      rows = [
        ...rows,
        {
          name: implicitName,
          token_env: IMPLICIT_TOKEN_ENV,
          capacity: DEFAULT_OWNER_CAPACITY,
          used: await countOwnerUsers(db, db.s, implicitName),
          status: "active",
          implicit: true,
          full_at: null,
          created_at: now,
          updated_at: now,
        },
      ];
    }
  }
  return rows.map((r) => toOwner(r, addedExist));
}

/** The owner keeps its users and gets no new ones. */
export async function drainOwner(ctx: SselfieContext, params: { name: string }, opts: OwnerCallOptions = {}): Promise<Owner> {
  const name = validateOwnerName(params.name);
  const { db } = ctx;
  if (!(await getOwner(db, db.s, name)) && !(await hasAddedOwners(db, db.s))) {
    // The implicit owner may be drained before it holds anyone.
    const implicitName = await ctx.implicitOwner().catch(() => null);
    if (implicitName === name) await ensureImplicitOwner(db, db.s, name);
  }
  const row = await db.transaction(async (tx) => {
    const drained = await setOwnerStatus(tx, db.s, name, "draining");
    if (drained) await appendEvent(tx, db.s, { operator: opts.actor ?? null, action: "owners.drain", details: { name, used: drained.used } });
    return drained;
  });
  if (!row) {
    const err = new StateError("OWNER_NOT_FOUND", `There is no owner ${name}: see \`sselfie owners list\`.`, { name });
    await appendEvent(db, db.s, { operator: opts.actor ?? null, action: "owners.drain", outcome: "refused", details: { code: err.code, name } });
    throw err;
  }
  return toOwner(row, await hasAddedOwners(db, db.s));
}
