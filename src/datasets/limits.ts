/**
 * What a photo set may be (CONTRACT.md "Preparing a user's photos"). The zip and file limits are
 * those of the raw dataset listing (src/training/dataset/limits.ts); these add the preparation's own.
 */
import { DEFAULT_DATASET_LIMITS, type DatasetLimits } from "../training/dataset/limits.js";

export interface PrepareLimits extends DatasetLimits {
  /** Files in the set (images and refused files alike; skipped clutter not counted). */
  readonly maxFiles: number;
  /** The trainer's largest bucket is 1024; 1440 leaves room for its crops. */
  readonly maxLongSide: number;
  readonly jpegQuality: number;
  /** Images decoded at once: libvips already uses every core for one image. */
  readonly concurrency: number;
}

export const DEFAULT_PREPARE_LIMITS: PrepareLimits = Object.freeze({
  ...DEFAULT_DATASET_LIMITS,
  // Phone photos are 2-10 MB each: 200 of them must be readable, a bomb must not be.
  maxBytesRead: 2_000_000_000,
  maxFiles: 200,
  maxLongSide: 1440,
  jpegQuality: 95,
  concurrency: 2,
});

export function resolvePrepareLimits(overrides: Partial<PrepareLimits> | undefined): PrepareLimits {
  return Object.freeze({ ...DEFAULT_PREPARE_LIMITS, ...overrides });
}
