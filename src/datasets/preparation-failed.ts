import { InvalidInputError } from "../errors.js";
import type { PrepareReport } from "./types.js";

export const INVALID_IMAGES = "INVALID_IMAGES";

/**
 * One error for a set that did not pass preparation, listing every problem of every file and of
 * the set (exit 2); `details.report` is the whole report, as `prepare --json` prints it.
 */
export function preparationFailed(source: string, report: PrepareReport): InvalidInputError {
  const problems = [
    ...report.images.flatMap((image) => image.problems.map((p) => ({ file: image.source, code: p.code, message: p.message }))),
    ...report.problems.map((p) => ({ file: source, code: p.code, message: p.message })),
  ];
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  // A set's own problems already name the source ("./x does not exist").
  const lines = [
    ...report.images.flatMap((image) => image.problems.map((p) => `  ${image.source}: ${p.message}`)),
    ...report.problems.map((p) => `  ${p.message}`),
  ];
  // A contact sheet helps only when there are photos to show.
  const hint = report.images.length > 0 ? ` (run \`sselfie prepare --images ${source}\` to see them on a contact sheet)` : "";
  return new InvalidInputError(
    `${count} with the photos in ${source}${hint}:\n${lines.join("\n")}`,
    { source, problems, report },
    INVALID_IMAGES,
  );
}
