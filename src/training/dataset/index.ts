/** The training image set: checked in full before any money is spent, then packaged for upload. */
export { inspectImageSet, type InspectOptions } from "./inspect-image-set.js";
export { packageImageSet, type PackageOptions } from "./package-image-set.js";
export { createImageScanner, detectImage, isImageInfo, type ImageScanner } from "./detect-image.js";
export { DEFAULT_DATASET_LIMITS, type DatasetLimits } from "./limits.js";
export { INVALID_IMAGES } from "./invalid-images.js";
export type {
  DatasetCaption,
  DatasetImage,
  DetectResult,
  FileLocation,
  ImageFormat,
  ImageInfo,
  ImageSet,
  ImageSetProblem,
  ManifestEntry,
  PackagedImageSet,
} from "./types.js";
