/**
 * What a photo set may be (CONTRACT.md "Preparing a user's photos"). The numbers come from the
 * trainer and from Replicate; the caps beyond them exist so that a hostile or mistaken input (a
 * zip bomb, a folder of videos) costs little before it is refused.
 */
export interface PrepareLimits {
  /** The trainer's documented minimum. */
  readonly minImages: number;
  /** The trainer's smallest resolution bucket is 512. */
  readonly minShortSide: number;
  /** The trainer's largest bucket is 1024; 1440 leaves room for its crops. */
  readonly maxLongSide: number;
  /** Beyond this the image is a decompression bomb, not a photo (sharp's `limitInputPixels`). */
  readonly maxPixels: number;
  /** Per file, checked on the declared size and again on the bytes actually read. */
  readonly maxImageBytes: number;
  /** Replicate refuses a file over 100 MB (POST /files answers 413); "MB" read as 10^6 to be safe. */
  readonly maxZipBytes: number;
  /** Files in the set (images and refused files alike; skipped clutter not counted). */
  readonly maxFiles: number;
  /** Entries listed at all (clutter included), so a million-entry zip is refused from its directory. */
  readonly maxEntries: number;
  /** Bytes read (inflated, for a zip) across the whole set before sselfie stops looking. */
  readonly maxBytesRead: number;
  /** An entry inflating more than this many times its compressed size is treated as a bomb... */
  readonly maxCompressionRatio: number;
  /** ...once it has inflated past this, so that small, highly compressible files are not refused. */
  readonly compressionRatioFloor: number;
  readonly jpegQuality: number;
  /** Images decoded at once: libvips already uses every core for one image. */
  readonly concurrency: number;
}

export const DEFAULT_PREPARE_LIMITS: PrepareLimits = Object.freeze({
  minImages: 10,
  minShortSide: 512,
  maxLongSide: 1440,
  maxPixels: 100_000_000,
  maxImageBytes: 50_000_000,
  maxZipBytes: 100_000_000,
  maxFiles: 200,
  maxEntries: 1000,
  // Phone photos are 2-10 MB each: 200 of them must be readable, a bomb must not be.
  maxBytesRead: 2_000_000_000,
  maxCompressionRatio: 100,
  compressionRatioFloor: 1024 * 1024,
  jpegQuality: 95,
  concurrency: 2,
});

export function resolvePrepareLimits(overrides: Partial<PrepareLimits> | undefined): PrepareLimits {
  return Object.freeze({ ...DEFAULT_PREPARE_LIMITS, ...overrides });
}
