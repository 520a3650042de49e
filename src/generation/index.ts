/** Generation from the user's own model with the locked input (CONTRACT.md). */
export { generate, validateGenerateOptions, type GenerateOptions, type GenerationProgress, type GenerationResult } from "./generate.js";
export { resolveUserModel, type UserModelRef } from "./resolve-model.js";
export { applyPredictionUpdate } from "./apply-prediction.js";
export { recoverGeneration, type RecoverOptions } from "./recover.js";
export { finishGenerations, type FinishedGeneration, type FinishOptions } from "./finish.js";
export { preparePrompt, validatePromptText, triggerWordIds, PROMPT_MAX_LENGTH, type PreparedPrompt } from "./prompt.js";
export { checkLockedInput, extractInputSchema, guidanceKeyOf, type InputSchema, type LockedInputCheck } from "./input-schema.js";
export { outputFileName, type DownloadOptions } from "./download.js";
export type { GenerationOutput, GenerationRow, GenerationStatus } from "../db/generations.js";
