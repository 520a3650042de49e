/** Preparing a user's photos: one pipeline for `prepare` and for `train`. */
export { createDatasetsResource, withPreparedSet } from "./datasets-resource.js";
export { MANIFEST_FILE, CONTACT_SHEET_FILE } from "./output-files.js";
export type { DatasetsResource, PrepareParams, PrepareOptions, PrepareResult, DatasetsResourceOptions } from "./datasets-resource.js";
export { prepareImageSet, type PrepareSetOptions } from "./prepare-image-set.js";
export { DEFAULT_PREPARE_LIMITS, type PrepareLimits } from "./limits.js";
export type * from "./types.js";
