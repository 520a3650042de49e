/** `sselfie.trainings`: start, read, refresh, wait for and cancel a user's training. */
import { validateUserId } from "../locked.js";
import {
  cancelTraining,
  getTrainingStatus,
  refreshTraining,
  startTraining,
  waitForTraining,
  type StartTrainingParams,
  type StartTrainingResult,
  type TrainingStatusResult,
} from "../training/index.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { StartTrainingParams, StartTrainingResult, TrainingStatusResult };

export interface WaitOptions extends RequestOptions<TrainingStatusResult> {
  /** Time between two looks at Replicate (default 2 000 ms). */
  pollIntervalMs?: number;
}

export class Trainings {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Prepares the user's photos (exactly as `datasets.prepare`), ensures their private destination model, uploads the
   * zip of the prepared images and starts the locked trainer with the user's trigger word. Throws InvalidInputError
   * (bad user id or images, before any I/O) or StateError TRAINING_IN_PROGRESS.
   */
  async start(params: StartTrainingParams, options: RequestOptions = {}): Promise<StartTrainingResult> {
    validateUserId(params.userId);
    options.signal?.throwIfAborted();
    await this.#core.ready();
    // An abort before the create undoes the claim; during it, what it made is looked for once (InterruptedError).
    return startTraining(this.#core.context, options.actor ?? null, params, options.signal ? { signal: options.signal } : {});
  }

  /** The stored status of the user's latest training, without asking Replicate. */
  async get(userId: string, _options: RequestOptions = {}): Promise<TrainingStatusResult> {
    validateUserId(userId);
    await this.#core.ready();
    return getTrainingStatus(this.#core.context, userId);
  }

  /** Asks Replicate for the user's latest training, stores the outcome and returns it. */
  async refresh(userId: string, options: RequestOptions = {}): Promise<TrainingStatusResult> {
    validateUserId(userId);
    await this.#core.ready();
    return refreshTraining(this.#core.context, options.actor ?? null, userId);
  }

  /**
   * Refreshes until the training ends: resolves once it completed; throws OutcomeError
   * TRAINING_FAILED / TRAINING_CANCELED otherwise, StateError NO_ACTIVE_TRAINING when there is
   * none. `signal` stops the waiting (the training keeps running at Replicate).
   */
  async wait(userId: string, options: WaitOptions = {}): Promise<TrainingStatusResult> {
    validateUserId(userId);
    options.signal?.throwIfAborted();
    await this.#core.ready();
    return waitForTraining(this.#core.context, options.actor ?? null, userId, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    });
  }

  /** Cancels the user's running training; the previous version (if any) stays active. */
  async cancel(userId: string, options: RequestOptions = {}): Promise<TrainingStatusResult> {
    validateUserId(userId);
    await this.#core.ready();
    return cancelTraining(this.#core.context, options.actor ?? null, userId);
  }
}
