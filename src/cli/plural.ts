/** "1 user", "2 users", "1,000 users": a count with its noun in the right number, for CLI text. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? singular : plural}`;
}
