/** `sselfie.users`: what concerns an end user as a whole (erasure). */
import { eraseUser, type EraseProgress, type EraseUserParams, type EraseUserResult } from "../erasure/index.js";
import { validateUserId } from "../locked.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { EraseProgress, EraseUserParams, EraseUserResult };

export interface EraseOptions extends RequestOptions<EraseProgress> {
  /** How long to wait for Replicate's asynchronous version deletions (default 10 minutes). */
  waitMs?: number;
  /** Between two listings of the versions still at Replicate (default 2 000 ms). */
  pollIntervalMs?: number;
}

export class Users {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Erases everything sselfie and Replicate hold about the user: refuses their new work at once
   * (USER_ERASING), cancels a running training, deletes the model's versions and the model, the
   * training uploads, the local output files sselfie recorded (by path and hash), then the rows in
   * one transaction, leaving an `erasures` tombstone and an event. Resumable: run it again after
   * any interruption. `status: "in_progress"` when Replicate still lists versions after `waitMs`.
   * Throws InvalidInputError for a bad user id.
   */
  async erase(params: EraseUserParams, options: EraseOptions = {}): Promise<EraseUserResult> {
    validateUserId(params.userId);
    options.signal?.throwIfAborted();
    await this.#core.ready();
    return eraseUser(this.#core.context, options.actor ?? null, params, {
      signal: options.signal,
      onProgress: options.onProgress,
      waitMs: options.waitMs,
      pollIntervalMs: options.pollIntervalMs,
    });
  }
}
