/**
 * Cursor pagination as Replicate does it: `next`/`previous` are absolute URLs with an opaque
 * `?cursor=`. The cursor holds the position (the sort key of the page's edge), not an offset, so new
 * items never shift pages. Lists are newest first, except files, which the recording lists by id.
 */
import type { State } from "./state.js";

export const PAGE_SIZE = 100;

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}

/** An item's place in the list: ascending `key` order. */
export type SortKey<T> = (item: T) => string | number;

export function paginate<T extends object>(
  state: State,
  items: Iterable<T>,
  cursor: string | undefined,
  pageUrl: string,
  pageSize = PAGE_SIZE,
  sortKey: SortKey<T> = (item) => -(state.seq.get(item) ?? 0),
): Page<T> | undefined {
  const before = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  const ordered = [...items].sort((a, b) => before(sortKey(a), sortKey(b)));
  let page: T[];
  if (cursor === undefined) {
    page = ordered.slice(0, pageSize);
  } else {
    const position = decodeCursor(cursor);
    if (!position) return undefined;
    if (position.reverse) {
      const earlier = ordered.filter((item) => before(sortKey(item), position.key) < 0);
      page = earlier.slice(Math.max(0, earlier.length - pageSize));
    } else {
      page = ordered.filter((item) => before(sortKey(item), position.key) > 0).slice(0, pageSize);
    }
  }
  const first = page[0];
  const last = page[page.length - 1];
  const hasLater = last !== undefined && ordered.some((item) => before(sortKey(item), sortKey(last)) > 0);
  const hasEarlier = first !== undefined && ordered.some((item) => before(sortKey(item), sortKey(first)) < 0);
  return {
    next: hasLater ? `${pageUrl}?cursor=${encodeCursor(sortKey(last!), false)}` : null,
    previous: hasEarlier ? `${pageUrl}?cursor=${encodeCursor(sortKey(first!), true)}` : null,
    results: page,
  };
}

function encodeCursor(key: string | number, reverse: boolean): string {
  return encodeURIComponent(Buffer.from(JSON.stringify({ p: key, ...(reverse ? { r: 1 } : {}) })).toString("base64"));
}

function decodeCursor(cursor: string): { key: string | number; reverse: boolean } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64").toString("utf8"));
    if (!value || typeof value !== "object") return undefined;
    const { p, r } = value as { p?: unknown; r?: unknown };
    if (typeof p !== "string" && typeof p !== "number") return undefined;
    return { key: p, reverse: r === 1 };
  } catch {
    return undefined;
  }
}
