/** `sselfie.operators`: who may run commands, with which scopes. */
import {
  authenticate,
  createOperator,
  listOperators,
  revokeOperator,
  type CreatedOperator,
  type Operator,
  type Principal,
} from "../operators/operators.js";
import { isWellFormedToken, type Scope } from "../operators/tokens.js";
import { findOperatorByTokenHash, findOperatorWithAppliedVersions } from "../db/operators.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { CreatedOperator, Operator, Principal, Scope };

export interface CreateOperatorParams {
  name: string;
  /** `read`, `train`, `generate`, `admin` (a list, or comma-separated). */
  scopes: string | readonly string[];
}

export interface AuthenticateParams {
  /** The operator's token (`sselfie_...`). */
  token: string | undefined;
  /** The scope the action needs; `null` for any valid token. */
  scope: Scope | null;
  /** Recorded with a refusal in operator_events (e.g. `"generate"`). */
  action: string;
  userId?: string;
}

export class Operators {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /** Creates an operator; the token is in the result only (its hash is stored). */
  async create(params: CreateOperatorParams, options: RequestOptions = {}): Promise<CreatedOperator> {
    await this.#core.ready();
    return createOperator(this.#core.db, options.actor ?? null, params);
  }

  async list(_params: Record<string, never> = {}, _options: RequestOptions = {}): Promise<Operator[]> {
    await this.#core.ready();
    return listOperators(this.#core.db);
  }

  /** Revokes an operator's token at once. */
  async revoke(name: string, options: RequestOptions = {}): Promise<Operator> {
    await this.#core.ready();
    return revokeOperator(this.#core.db, options.actor ?? null, name);
  }

  /**
   * Verifies a token and the scope an action needs: the operator, or AuthenticationError /
   * AuthorizationError (each refusal recorded in operator_events).
   */
  async authenticate(params: AuthenticateParams, _options: RequestOptions = {}): Promise<Principal> {
    const core = this.#core;
    // A token that can be looked up is read in the same statement as the schema check; any other
    // is refused after the check alone (so an uninitialised database says so first, as before).
    if (!params.token || !isWellFormedToken(params.token)) await core.ready();
    return authenticate(
      core.db,
      params.token,
      params.scope,
      { action: params.action, ...(params.userId === undefined ? {} : { userId: params.userId }) },
      (tokenHash) =>
        core.readyWith(
          (db) => findOperatorWithAppliedVersions(db, db.s, tokenHash),
          (db) => findOperatorByTokenHash(db, db.s, tokenHash),
        ),
    );
  }
}
