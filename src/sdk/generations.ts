/** `sselfie.generations`: generate from a user's own model, and recover a generation left unknown. */
import { DownloadIncompleteError } from "../errors.js";
import {
  finishGenerations,
  generate,
  recoverGeneration,
  type FinishedGeneration,
  validateGenerateOptions,
  type GenerationProgress,
  type GenerationResult,
} from "../generation/index.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { FinishedGeneration, GenerationProgress, GenerationResult };

export interface CreateGenerationParams {
  userId: string;
  /** Trimmed and checked; the user's trigger word is added when missing. */
  prompt: string;
  /** 0..999999; random when absent. */
  seed?: number;
  /** Folder for the 3 PNGs (created when missing). */
  outDir: string;
}

export interface RecoverGenerationParams {
  generationId: number;
  /** Replicate's prediction id; default: the recorded one, else the account's predictions are searched. */
  predictionId?: string;
  outDir: string;
}

export interface GenerationOptions extends RequestOptions<GenerationProgress> {
  /** Time between two looks at a running prediction (default 1 000 ms). */
  pollIntervalMs?: number;
  /** Stop following the prediction after this long (default 10 minutes); it keeps running at Replicate. */
  timeoutMs?: number;
}

function followOptions(options: GenerationOptions) {
  return {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  };
}

/** All images saved, or DownloadIncompleteError carrying the partial result. */
function complete(result: GenerationResult): GenerationResult {
  if (result.failedDownloads.length > 0) throw new DownloadIncompleteError(result);
  return result;
}

export class Generations {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Generates 3 images with the locked input from the user's own completed model and downloads
   * them into `outDir`. Refuses (StateError MODEL_NOT_FOUND / MODEL_NOT_READY /
   * LOCKED_INPUT_UNSUPPORTED) before anything is paid for; throws DownloadIncompleteError when
   * some images could not be saved (its `result` lists what was).
   */
  async create(params: CreateGenerationParams, options: GenerationOptions = {}): Promise<GenerationResult> {
    validateGenerateOptions(params);
    options.signal?.throwIfAborted();
    await this.#core.ready();
    return complete(await generate(this.#core.context, options.actor ?? null, { ...params, ...followOptions(options) }));
  }

  /**
   * Finishes a generation whose create call got no answer (status `unknown`) or whose images were
   * not all saved: finds its prediction at Replicate, follows it and downloads the images.
   */
  async recover(params: RecoverGenerationParams, options: GenerationOptions = {}): Promise<GenerationResult> {
    options.signal?.throwIfAborted();
    await this.#core.ready();
    return complete(await recoverGeneration(this.#core.context, options.actor ?? null, { ...params, ...followOptions(options) }));
  }

  /**
   * Finishes the user's generations that a killed or interrupted process left unfinished (its
   * process is gone): records their outcome and saves their images in the folder recorded with
   * each. Never waits for a prediction still running at Replicate (reported `running`).
   */
  async finish(params: { userId: string }, options: Omit<GenerationOptions, "onProgress" | "pollIntervalMs" | "timeoutMs"> = {}): Promise<FinishedGeneration[]> {
    options.signal?.throwIfAborted();
    await this.#core.ready();
    return finishGenerations(this.#core.context, options.actor ?? null, { userId: params.userId, ...(options.signal ? { signal: options.signal } : {}) });
  }
}
