/**
 * Operators and their tokens: bootstrap the first admin, create, list, revoke, authenticate.
 */
import { appendEvent } from "../db/operator-events.js";
import {
  countOperators,
  countOtherActiveAdmins,
  findOperatorByName,
  findOperatorByTokenHash,
  insertOperator,
  listOperatorRows,
  revokeOperatorRow,
  touchOperator,
  type AuthOperatorRow,
  type OperatorRow,
} from "../db/operators.js";
import type { Database } from "../db/types.js";
import { AuthenticationError, AuthorizationError, InvalidInputError, StateError } from "../errors.js";
import {
  generateToken,
  hashesEqual,
  hashToken,
  hasScope,
  invalidScopes,
  isWellFormedToken,
  parseScopes,
  SCOPES,
  tokenHint,
  type Scope,
} from "./tokens.js";
import { quoteValue } from "../quote-value.js";

export interface Operator {
  name: string;
  scopes: Scope[];
  createdAt: string;
  /** When its token last authenticated, to the minute (a use within a minute of the last is not recorded again). */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreatedOperator {
  name: string;
  scopes: Scope[];
  /** Shown once; only its hash is stored. */
  token: string;
}

/** The operator a command runs as, once its token was verified. */
export interface Principal {
  name: string;
  scopes: Scope[];
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const FIRST_ADMIN = "admin";

function toOperator(row: OperatorRow): Operator {
  return {
    name: row.name,
    scopes: row.scopes as Scope[],
    createdAt: new Date(row.created_at).toISOString(),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
    revokedAt: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

export function validateOperatorName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      `Invalid operator name ${quoteValue(name)}: use 1-63 lowercase letters, digits, ".", "_" or "-".`,
    );
  }
  return name;
}

export function validateScopes(value: string | readonly string[]): Scope[] {
  const scopes = parseScopes(value);
  const bad = invalidScopes(scopes);
  if (scopes.length === 0 || bad.length) {
    throw new InvalidInputError(
      `Invalid scopes ${quoteValue(bad.length ? bad.join(",") : value)}: choose from ${SCOPES.join(", ")} (comma-separated).`,
    );
  }
  return scopes;
}

/**
 * Creates the first `admin` operator when there is none. Runs under a transaction-level advisory
 * lock so that many concurrent `init`s create exactly one.
 */
export async function bootstrapFirstAdmin(db: Database): Promise<CreatedOperator | null> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`sselfie:${db.schema}:operators`]);
    if ((await countOperators(tx, db.s)) > 0) return null;
    const token = generateToken();
    await insertOperator(tx, db.s, {
      name: FIRST_ADMIN,
      tokenHash: hashToken(token),
      tokenPrefix: tokenHint(token),
      scopes: ["admin"],
    });
    await appendEvent(tx, db.s, { operator: null, action: "operators.bootstrap", details: { name: FIRST_ADMIN } });
    return { name: FIRST_ADMIN, scopes: ["admin"], token };
  });
}

export async function createOperator(
  db: Database,
  actor: string | null,
  input: { name: string; scopes: string | readonly string[] },
): Promise<CreatedOperator> {
  const name = validateOperatorName(input.name);
  const scopes = validateScopes(input.scopes);
  const token = generateToken();
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(`SELECT 1 FROM ${db.s}.operators WHERE name = $1`, [name]);
    if (rows.length) {
      throw new StateError("OPERATOR_EXISTS", `An operator named "${name}" already exists; choose another name.`, { name });
    }
    await insertOperator(tx, db.s, { name, tokenHash: hashToken(token), tokenPrefix: tokenHint(token), scopes });
    await appendEvent(tx, db.s, { operator: actor, action: "operators.create", details: { name, scopes } });
    return { name, scopes, token };
  });
}

export async function listOperators(db: Database): Promise<Operator[]> {
  return (await listOperatorRows(db, db.s)).map(toOperator);
}

/**
 * Revokes an operator's token. The last active admin is never revoked: nobody could then manage
 * operators, and `init` creates an admin only in an empty table. Serialised with the bootstrap's
 * advisory lock, so two admins revoking each other at once cannot leave none.
 */
export async function revokeOperator(db: Database, actor: string | null, name: string): Promise<Operator> {
  validateOperatorName(name);
  const revoked = await db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`sselfie:${db.schema}:operators`]);
    const target = await findOperatorByName(tx, db.s, name);
    if (target && !target.revoked_at && target.scopes.includes("admin") && (await countOtherActiveAdmins(tx, db.s, name)) === 0) {
      return "last admin" as const;
    }
    const row = await revokeOperatorRow(tx, db.s, name);
    if (!row) {
      throw new StateError("OPERATOR_NOT_FOUND", `No active operator named "${name}" (see \`sselfie operators list\`).`, {
        name,
      });
    }
    await appendEvent(tx, db.s, { operator: actor, action: "operators.revoke", details: { name } });
    return toOperator(row);
  });
  if (revoked !== "last admin") return revoked;
  const err = new StateError(
    "LAST_ADMIN",
    `"${name}" is the last active admin: revoking it would leave nobody able to manage operators. ` +
      `Create another admin first (sselfie operators create --name <name> --scopes admin), then revoke "${name}".`,
    { name },
  );
  await appendEvent(db, db.s, { operator: actor, action: "operators.revoke", outcome: "refused", details: { name, code: err.code } });
  throw err;
}

/**
 * Verifies a token and the scope a command needs. A refusal leaves nothing behind but one
 * `auth` event with outcome `refused`; success updates the operator's last-used time.
 */
export async function authenticate(
  db: Database,
  token: string | undefined,
  needed: Scope | null,
  context: { action: string; userId?: string },
  /** How the token's operator is read (the SDK reads it with the schema check); default: by itself. */
  findOperator: (tokenHash: string) => Promise<AuthOperatorRow | null> = (tokenHash) => findOperatorByTokenHash(db, db.s, tokenHash),
): Promise<Principal> {
  const refuse = async (operator: string | null, reason: string, err: Error): Promise<never> => {
    await appendEvent(db, db.s, {
      operator,
      action: context.action,
      userId: context.userId ?? null,
      outcome: "refused",
      details: { reason, needed },
    });
    throw err;
  };
  if (!token) {
    return refuse(
      null,
      "no token",
      new AuthenticationError("No operator token: run `sselfie login` (or set SSELFIE_TOKEN)."),
    );
  }
  const unknown = new AuthenticationError("The operator token is not valid. Check it, or ask an admin for a new one.");
  if (!isWellFormedToken(token)) return refuse(null, "malformed token", unknown);
  const hash = hashToken(token);
  const row = await findOperator(hash);
  if (!row || !hashesEqual(row.token_hash, hash)) return refuse(null, "unknown token", unknown);
  if (row.revoked_at) {
    return refuse(
      row.name,
      "revoked token",
      new AuthenticationError(`The token of operator "${row.name}" was revoked. Ask an admin for a new one.`),
    );
  }
  if (needed && !hasScope(row.scopes, needed)) {
    return refuse(
      row.name,
      "missing scope",
      new AuthorizationError(
        `Operator "${row.name}" has scopes [${row.scopes.join(", ")}] but this needs "${needed}". Ask an admin for a token with it.`,
        { needed, granted: row.scopes },
      ),
    );
  }
  // Last use is kept to the minute: a token its read found used within the minute is not written.
  if (!row.used_within_a_minute) await touchOperator(db, db.s, row.id);
  return { name: row.name, scopes: row.scopes as Scope[] };
}
