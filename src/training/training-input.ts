/**
 * What sselfie sends the trainer. The destination, trainer and trigger word are locked
 * (src/locked.ts); the only choice a caller has is `steps`, bounded and recorded with the input.
 * Everything else is left to the trainer's defaults (autocaption on, rank 16, lr 4e-4, ...).
 */
import { InvalidInputError } from "../errors.js";
import { quoteValue, shortValue } from "../quote-value.js";

/** Below 100 steps a LoRA learns nothing useful; 6000 is the trainer's own maximum. */
export const STEPS_MIN = 100;
export const STEPS_MAX = 6000;

export function validateSteps(steps: unknown): number {
  const n = typeof steps === "string" && /^\d+$/.test(steps.trim()) ? Number(steps.trim()) : steps;
  if (typeof n !== "number" || !Number.isInteger(n) || n < STEPS_MIN || n > STEPS_MAX) {
    throw new InvalidInputError(
      `Invalid steps ${quoteValue(steps)}: use a whole number from ${STEPS_MIN} to ${STEPS_MAX} (the trainer's default is 1000).`,
      { steps: shortValue(steps) },
    );
  }
  return n;
}

/** The input recorded when the slot is claimed, before the upload exists. */
export function plannedTrainingInput(triggerWord: string, steps: number | undefined): Record<string, unknown> {
  return { trigger_word: triggerWord, ...(steps === undefined ? {} : { steps }) };
}

/** The exact input of the create call. */
export function trainingInput(inputImagesUrl: string, triggerWord: string, steps: number | undefined): Record<string, unknown> {
  return { input_images: inputImagesUrl, ...plannedTrainingInput(triggerWord, steps) };
}
