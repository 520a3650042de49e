/**
 * Which token acts for whom. A user's calls go to the gateway of the owner recorded on their
 * model row; an owner's token is read through the lookup the SDK was given (config.ts gives the
 * CLI one over the environment) under the variable name its row records. The implicit owner (and
 * an owner with no row, written before owners existed) uses REPLICATE_API_TOKEN. Tokens stay in
 * memory only: never stored, never in a message.
 */
import type { SselfieContext } from "../context.js";
import { getOwner, IMPLICIT_TOKEN_ENV } from "../db/owners.js";
import { getUserModel } from "../db/user-models.js";
import type { Database } from "../db/types.js";
import { ConfigError, StateError } from "../errors.js";
import type { GatewayPool, ReplicateGateway, ReplicateGatewayOptions } from "../replicate/index.js";

/** Reads an owner's token by the name of the variable holding it; undefined when unset. */
export type TokenLookup = (tokenEnv: string) => string | undefined;

export interface OwnerGatewayOptions {
  /** REPLICATE_API_TOKEN as given to the SDK: the implicit owner's token. */
  replicateApiToken?: string | undefined;
  /** REPLICATE_OWNER: the implicit owner's name (else the account of REPLICATE_API_TOKEN). */
  replicateOwner?: string | undefined;
  /** Tokens of added owners, by the variable name each owner's row records. */
  tokens?: TokenLookup | Readonly<Record<string, string | undefined>> | undefined;
  /** Everything a gateway needs but its token; a pool is built from it on first use. */
  gateway?: Omit<ReplicateGatewayOptions, "apiToken">;
  /** A pool to use instead (tests share one with their own gateway settings). */
  pool?: GatewayPool;
}

export type OwnerGateways = Pick<SselfieContext, "gatewayForOwner" | "gatewayForUser" | "implicitOwner">;

export function tokenLookup(tokens: OwnerGatewayOptions["tokens"]): TokenLookup {
  if (typeof tokens === "function") return tokens;
  const map = tokens ?? {};
  return (name) => (Object.prototype.hasOwnProperty.call(map, name) ? map[name] : undefined);
}

export function createOwnerGateways(db: Database, options: OwnerGatewayOptions): OwnerGateways {
  const lookup = tokenLookup(options.tokens);
  let pool: Promise<GatewayPool> | undefined;
  const getPool = (): Promise<GatewayPool> =>
    (pool ??= options.pool
      ? Promise.resolve(options.pool)
      : import("../replicate/index.js").then(({ createGatewayPool }) => createGatewayPool(options.gateway ?? {})));

  const implicitToken = (): string => {
    const token = nonEmpty(options.replicateApiToken) ?? nonEmpty(lookup(IMPLICIT_TOKEN_ENV));
    if (!token) {
      throw new ConfigError(
        "REPLICATE_API_TOKEN is not set: sselfie needs a Replicate API token for this command.",
        {},
        "MISSING_REPLICATE_TOKEN",
      );
    }
    return token;
  };

  let implicit: Promise<string> | undefined;
  const implicitOwner = (): Promise<string> => {
    implicit ??= options.replicateOwner
      ? Promise.resolve(options.replicateOwner)
      : (async () => (await (await getPool()).forToken(implicitToken()).getAccount()).username)();
    implicit.catch(() => (implicit = undefined));
    return implicit;
  };

  const byOwner = new Map<string, Promise<ReplicateGateway>>();
  const gatewayForOwner = (owner: string): Promise<ReplicateGateway> => {
    let found = byOwner.get(owner);
    if (!found) {
      found = (async () => {
        const row = await getOwner(db, db.s, owner);
        if (row && !row.implicit) return (await getPool()).forToken(addedOwnerToken(owner, row.token_env, lookup));
        // REPLICATE_API_TOKEN acts for the implicit owner only: a user recorded under an owner that
        // is neither added nor the implicit one has no token that may act for them.
        const implicitName = await implicitOwner();
        if (owner !== implicitName) throw notConfigured(owner, implicitName);
        return (await getPool()).forToken(implicitToken());
      })();
      byOwner.set(owner, found);
      found.catch(() => byOwner.delete(owner));
    }
    return found;
  };

  return {
    implicitOwner,
    gatewayForOwner,
    async gatewayForUser(userId) {
      const row = await getUserModel(db, db.s, userId);
      if (!row) {
        throw new StateError("USER_NOT_PLACED", `User ${userId} has no model row, so no Replicate owner: train the user first.`, { userId });
      }
      return gatewayForOwner(row.owner);
    },
  };
}

export const OWNER_NOT_CONFIGURED = "OWNER_NOT_CONFIGURED";

function notConfigured(owner: string, implicitName: string): StateError {
  return new StateError(
    OWNER_NOT_CONFIGURED,
    `The Replicate owner "${owner}" is not configured: it was never added, and the implicit owner is "${implicitName}" ` +
      `(REPLICATE_OWNER, or the account of REPLICATE_API_TOKEN). Add it with \`sselfie owners add ${owner} --token-env <VAR>\`, ` +
      `or set REPLICATE_OWNER=${owner} with that account's REPLICATE_API_TOKEN.`,
    { owner, implicitOwner: implicitName },
  );
}

function addedOwnerToken(owner: string, tokenEnv: string, lookup: TokenLookup): string {
  const token = nonEmpty(lookup(tokenEnv));
  if (!token) {
    throw new ConfigError(
      `The Replicate token of owner "${owner}" is read from ${tokenEnv}, which is not set: set it in the environment of every process that serves this owner's users.`,
      { owner, tokenEnv },
      "MISSING_REPLICATE_TOKEN",
    );
  }
  return token;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}
