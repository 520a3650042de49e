/**
 * Replicate's statuses and version reference, without zod: modules on every command's path use
 * these, and zod (with the response schemas in schemas.ts) loads only where a response is parsed.
 */
export const STATUSES = ["starting", "processing", "succeeded", "failed", "canceled", "aborted"] as const;
export const TERMINAL_STATUSES = ["succeeded", "failed", "canceled", "aborted"] as const;

export type TrainingStatus = (typeof STATUSES)[number];
export type PredictionStatus = TrainingStatus;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** `owner/name:<64 hex>`, as a training's `output.version` gives it. */
export const VERSION_REF_PATTERN = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9][A-Za-z0-9._-]*):([0-9a-f]{64})$/;
