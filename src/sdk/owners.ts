/** `sselfie.owners`: the pool of Replicate accounts that own users' models (CONTRACT.md, "Owners"). */
import { addOwner, drainOwner, listOwners, validateAddOwner, validateOwnerName, type AddOwnerParams, type Owner } from "../owners/owners.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { AddOwnerParams, Owner };

export interface DrainOwnerParams {
  name: string;
}

export class Owners {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Adds a Replicate account or organisation new users can be placed on. `tokenEnv` is the NAME of
   * the environment variable (or key of `replicateTokens`) holding its token, never the token.
   * Once an owner is added, new users go to added owners only. StateError OWNER_EXISTS when added
   * before; OWNER_OVER_CAPACITY when it already holds more users than `capacity`.
   */
  async add(params: AddOwnerParams, options: RequestOptions = {}): Promise<Owner> {
    const valid = validateAddOwner(params);
    await this.#core.ready();
    return addOwner(this.#core.context, valid, { actor: options.actor ?? null });
  }

  /**
   * Every owner with its users, capacity, free places and status; with no owner added, the
   * implicit one (REPLICATE_OWNER or the account of REPLICATE_API_TOKEN) with `implicit: true`.
   */
  async list(_params: Record<string, never> = {}, _options: RequestOptions = {}): Promise<Owner[]> {
    await this.#core.ready();
    return listOwners(this.#core.context);
  }

  /** The owner keeps its users and gets no new ones. StateError OWNER_NOT_FOUND for an unknown name. */
  async drain(params: DrainOwnerParams, options: RequestOptions = {}): Promise<Owner> {
    const name = validateOwnerName(params.name);
    await this.#core.ready();
    return drainOwner(this.#core.context, { name }, { actor: options.actor ?? null });
  }
}
