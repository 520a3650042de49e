/** `--format text|json|sarif` of the commands that report findings (`audit`, `scan`). */
import { InvalidInputError, quoteValue } from "../index.js";

export type ReportFormat = "text" | "json" | "sarif";
export const REPORT_FORMATS: readonly ReportFormat[] = ["text", "json", "sarif"];

export function parseReportFormat(value: unknown): ReportFormat {
  const format = (value ?? "text") as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) {
    throw new InvalidInputError(`Unknown --format ${quoteValue(value)}: use text, json or sarif.`, { format: value });
  }
  return format;
}
