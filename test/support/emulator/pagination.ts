/**
 * Cursor pagination as Replicate does it: newest first, `next`/`previous` are absolute URLs with
 * an opaque `?cursor=`. The cursor holds a position, not an offset, so new items never shift pages.
 */
import type { State } from "./state.js";

export const PAGE_SIZE = 100;

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}

export function paginate<T extends object>(
  state: State,
  items: Iterable<T>,
  cursor: string | undefined,
  pageUrl: string,
  pageSize = PAGE_SIZE,
): Page<T> | undefined {
  const seqOf = (item: T) => state.seq.get(item) ?? 0;
  const newestFirst = [...items].sort((a, b) => seqOf(b) - seqOf(a));
  let page: T[];
  if (cursor === undefined) {
    page = newestFirst.slice(0, pageSize);
  } else {
    const position = decodeCursor(cursor);
    if (!position) return undefined;
    if (position.reverse) {
      const newer = newestFirst.filter((item) => seqOf(item) > position.seq);
      page = newer.slice(Math.max(0, newer.length - pageSize));
    } else {
      page = newestFirst.filter((item) => seqOf(item) < position.seq).slice(0, pageSize);
    }
  }
  const first = page[0];
  const last = page[page.length - 1];
  const hasOlder = last !== undefined && newestFirst.some((item) => seqOf(item) < seqOf(last));
  const hasNewer = first !== undefined && newestFirst.some((item) => seqOf(item) > seqOf(first));
  return {
    next: hasOlder ? `${pageUrl}?cursor=${encodeCursor(seqOf(last!), false)}` : null,
    previous: hasNewer ? `${pageUrl}?cursor=${encodeCursor(seqOf(first!), true)}` : null,
    results: page,
  };
}

function encodeCursor(seq: number, reverse: boolean): string {
  return encodeURIComponent(Buffer.from(`${reverse ? "r=1&" : ""}p=${seq}`).toString("base64"));
}

function decodeCursor(cursor: string): { seq: number; reverse: boolean } | undefined {
  const text = Buffer.from(cursor, "base64").toString("utf8");
  const m = /^(r=1&)?p=(\d+)$/.exec(text);
  return m ? { seq: Number(m[2]), reverse: m[1] !== undefined } : undefined;
}
