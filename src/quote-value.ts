/**
 * A value given by the caller, quoted for an error message and cut short when long: a
 * 10,000-character user id reads `"aaaa…" (10,000 characters)`, not ten thousand characters.
 */
export const QUOTED_MAX_CHARACTERS = 40;

/** The value as JSON, its first QUOTED_MAX_CHARACTERS characters (code points) only when longer. */
export function quoteValue(value: unknown, max = QUOTED_MAX_CHARACTERS): string {
  if (typeof value !== "string") {
    const json = JSON.stringify(value) ?? String(value);
    return typeof value === "object" && value !== null ? quoteJson(json, max) : json;
  }
  const chars = [...value];
  if (chars.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(`${chars.slice(0, max).join("")}…`)} (${chars.length.toLocaleString("en-US")} characters)`;
}

/** For an error's details: the value itself when short, else its shortened text. */
export function shortValue(value: unknown, max = QUOTED_MAX_CHARACTERS): unknown {
  if (typeof value !== "string") return value;
  const chars = [...value];
  return chars.length <= max ? value : `${chars.slice(0, max).join("")}… (${chars.length.toLocaleString("en-US")} characters)`;
}

function quoteJson(json: string, max: number): string {
  const chars = [...json];
  return chars.length <= max * 2 ? json : `${chars.slice(0, max * 2).join("")}… (${chars.length.toLocaleString("en-US")} characters of JSON)`;
}
