/** The name a prepared image is written and uploaded under: `NN-<name>.jpg`, lower case. */
import { baseName, stemOf } from "./entry-names.js";

const MAX_STEM = 80;

/** Digits of NN: two, or three for a set of 100 or more. */
export function positionWidth(total: number): number {
  return Math.max(2, String(total).length);
}

/**
 * `position` is 1-based. A source already named for its position (`03-anna.jpg` third in its set,
 * as `prepare` writes it) keeps its name, so a prepared set prepares to the same names.
 */
export function preparedName(source: string, position: number, width: number): string {
  let stem = stemOf(baseName(source))
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "")
    .slice(0, MAX_STEM);
  const numbered = /^(\d+)-(.+)$/.exec(stem);
  if (numbered && Number(numbered[1]) === position) stem = numbered[2]!;
  return `${String(position).padStart(width, "0")}-${stem || "photo"}.jpg`;
}
