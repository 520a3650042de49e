/**
 * Every expected failure is a SselfieError with a stable upper-case `code`.
 * The class says which kind of failure it is; only the CLI turns a kind into an exit status
 * (src/cli/exit-codes.ts).
 */
import type { GenerationResult } from "./generation/generate.js";

export type ErrorDetails = Record<string, unknown>;

export class SselfieError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: string; message: string; details?: ErrorDetails } {
    return Object.keys(this.details).length
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

/** Bad flags, user id, images, prompt, seed: refused before any I/O. */
export class InvalidInputError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}, code = "INVALID_INPUT") {
    super(code, message, details);
  }
}

/** No token, unknown token, revoked token. */
export class AuthenticationError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("UNAUTHENTICATED", message, details);
  }
}

/** A valid token without the scope the command needs. */
export class AuthorizationError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("FORBIDDEN", message, details);
  }
}

/** The state does not allow it: no model, not ready, training in progress, integrity problem. */
export class StateError extends SselfieError {}

/**
 * The user's budget cannot take the estimated cost of one more training or generation (exit 4).
 * Nothing was created and nothing was paid: the reservation is refused before any call to Replicate.
 * Amounts are exact decimal strings in USD.
 */
export class BudgetExceededError extends StateError {
  constructor(message: string, details: { userId: string; kind: "training" | "generation"; spent: string; reserved: string; estimate: string; cap: string }) {
    super("BUDGET_EXCEEDED", message, details);
  }
}

/** The work ran and its outcome is a failure (audit violations, failed or canceled training). */
export class OutcomeError extends SselfieError {}

/** Replicate refused, failed after retries, or could not be reached. */
export class ReplicateError extends SselfieError {
  readonly status: number | undefined;
  readonly detail: string | undefined;

  constructor(
    message: string,
    opts: { code?: string; status?: number; detail?: string; details?: ErrorDetails; cause?: unknown } = {},
  ) {
    super(opts.code ?? "REPLICATE_ERROR", message, {
      ...(opts.status === undefined ? {} : { status: opts.status }),
      ...(opts.detail === undefined ? {} : { detail: opts.detail }),
      ...opts.details,
    }, opts.cause);
    this.status = opts.status;
    this.detail = opts.detail;
  }
}

/** Configuration or database problem: missing token, unreachable database, migration failure. */
export class ConfigError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}, code = "CONFIG_ERROR") {
    super(code, message, details);
  }
}

export class DatabaseError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}, code = "DATABASE_ERROR", cause?: unknown) {
    super(code, message, details, cause);
  }
}

/**
 * A generation ran and was recorded, but some of its images could not be downloaded after retries
 * (exit 1). `result` is the generation as far as it went: the files that were saved, and in
 * `failedDownloads` the outputs whose URLs the record keeps (recoverGeneration can fetch them
 * again within the hour).
 */
export class DownloadIncompleteError extends OutcomeError {
  readonly result: GenerationResult;

  constructor(result: GenerationResult) {
    const failed = result.failedDownloads;
    super(
      "DOWNLOAD_INCOMPLETE",
      `${failed.length} of ${result.files.length + failed.length} images could not be downloaded ` +
        `(${failed.map((f) => `#${f.index}: ${f.error}`).join("; ")}); generation #${result.generationId} keeps their URLs.`,
      { generationId: result.generationId, predictionId: result.predictionId, failedDownloads: failed },
    );
    this.result = result;
  }
}

/**
 * The caller aborted (its AbortSignal fired: Ctrl-C in the CLI). The message says what was left
 * and how it is finished; nothing paid for is forgotten.
 */
export class InterruptedError extends SselfieError {
  constructor(message: string, details: ErrorDetails = {}) {
    super("INTERRUPTED", message, details);
  }
}

export function isSselfieError(err: unknown): err is SselfieError {
  return err instanceof SselfieError;
}
