/** `sselfie.models`: the one model a user may generate from. */
import { resolveUserModel, type UserModelRef } from "../generation/index.js";
import { validateUserId } from "../locked.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { UserModelRef };

export class Models {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * The user's own `{owner}/{userId}-selfie-lora:{version}`, or StateError MODEL_NOT_FOUND,
   * MODEL_NOT_READY or INTEGRITY_VIOLATION (the last is recorded in operator_events).
   */
  async resolve(userId: string, options: RequestOptions = {}): Promise<UserModelRef> {
    validateUserId(userId);
    await this.#core.ready();
    return resolveUserModel(this.#core.context, userId, { actor: options.actor ?? null });
  }
}
