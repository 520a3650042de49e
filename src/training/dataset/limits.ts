/**
 * What a training image set may be. The numbers come from the trainer and from Replicate
 * (CONTRACT.md, REPLICATE.md); the caps beyond them exist so a hostile or mistaken input
 * (a zip bomb, a folder of videos) costs little before it is refused.
 */
export interface DatasetLimits {
  /** The trainer's documented minimum. */
  readonly minImages: number;
  /** CONTRACT.md: the trainer's smallest resolution bucket is 512. */
  readonly minShortSide: number;
  /** Beyond this the image is not a photo but a decompression bomb for the trainer. */
  readonly maxPixels: number;
  /** Per image, checked on the declared size and again on the bytes actually read. */
  readonly maxImageBytes: number;
  /** Captions are a sentence or two; the trainer's text encoder reads 512 tokens at most. */
  readonly maxCaptionBytes: number;
  /** Replicate refuses a file over 100 MB (POST /files answers 413); "MB" read as 10^6 to be safe. */
  readonly maxZipBytes: number;
  /** Files, folders and ignored entries alike, so a million-entry zip is refused from its directory. */
  readonly maxEntries: number;
  /** Bytes read (inflated, for a zip) across the whole set before sselfie stops looking. */
  readonly maxBytesRead: number;
  /** An entry inflating more than this many times its compressed size is treated as a bomb... */
  readonly maxCompressionRatio: number;
  /** ...once it has inflated past this, so tiny, highly compressible captions are not refused. */
  readonly compressionRatioFloor: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = Object.freeze({
  minImages: 10,
  minShortSide: 512,
  maxPixels: 100_000_000,
  maxImageBytes: 50_000_000,
  maxCaptionBytes: 16 * 1024,
  maxZipBytes: 100_000_000,
  maxEntries: 1000,
  maxBytesRead: 400_000_000,
  maxCompressionRatio: 100,
  compressionRatioFloor: 1024 * 1024,
});

export function resolveLimits(overrides: Partial<DatasetLimits> | undefined): DatasetLimits {
  return Object.freeze({ ...DEFAULT_DATASET_LIMITS, ...overrides });
}
