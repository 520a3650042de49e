import { InvalidInputError } from "../../errors.js";
import type { ImageSetProblem } from "./types.js";

export const INVALID_IMAGES = "INVALID_IMAGES";

/** One error for every problem found, so the operator fixes them all in one go. */
export function invalidImages(source: string, problems: readonly ImageSetProblem[]): InvalidInputError {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = problems.map((p) => `  ${p.file}: ${p.problem}`);
  return new InvalidInputError(
    `${count} with the training images in ${source}:\n${lines.join("\n")}`,
    { source, problems: problems.map((p) => ({ file: p.file, problem: p.problem })) },
    INVALID_IMAGES,
  );
}
