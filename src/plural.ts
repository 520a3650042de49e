/** "1 prediction", "2 predictions", "1,000 predictions": a count with its noun in the right number, for messages. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : plural}`;
}
