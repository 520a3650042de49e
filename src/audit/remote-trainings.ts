/**
 * The state at Replicate of the trainings the audit needs. A GET per training costs one request
 * each; the account's training list costs one request per 100 trainings, newest first. The list is
 * read while it is cheaper than the GETs it saves (pages read < trainings still missing), then the
 * rest are fetched one by one. A training that cannot be read is reported as an error for its
 * user (who is then unverified), never as compliant.
 */
import { ReplicateError } from "../errors.js";
import type { ReplicateGateway, Training } from "../replicate/index.js";
import type { RateWindow } from "./rate-window.js";
import type { RemoteCaller } from "./remote-calls.js";

/** Fewer needed trainings than this are simply fetched one by one. */
export const LIST_THRESHOLD = 20;
/** Trainings a page of GET /trainings holds (REPLICATE.md). */
export const TRAININGS_PAGE_SIZE = 100;

export type TrainingLookup = { found: Training } | { missing: true } | { error: { code: string; message: string } };

export async function lookUpTrainings(
  gateway: ReplicateGateway,
  caller: RemoteCaller,
  window: RateWindow,
  ids: readonly string[],
): Promise<Map<string, TrainingLookup>> {
  const results = new Map<string, TrainingLookup>();
  const wanted = new Set(ids);
  if (wanted.size >= LIST_THRESHOLD) await readList(gateway, window, wanted, results);
  const rest = [...wanted].filter((id) => !results.has(id));
  await caller.each(rest, async (id) => {
    try {
      results.set(id, { found: await caller.call(() => gateway.getTraining(id)) });
    } catch (err) {
      if (err instanceof ReplicateError && err.code === "REPLICATE_UNAUTHORIZED") throw err;
      const code = (err as { code?: string }).code ?? "REPLICATE_ERROR";
      if (code === "REPLICATE_NOT_FOUND") results.set(id, { missing: true });
      else results.set(id, { error: { code, message: (err as Error).message } });
    }
  });
  return results;
}

async function readList(
  gateway: ReplicateGateway,
  window: RateWindow,
  wanted: Set<string>,
  results: Map<string, TrainingLookup>,
): Promise<void> {
  const iterator = gateway.listTrainings()[Symbol.asyncIterator]();
  let seen = 0;
  let found = 0;
  try {
    for (;;) {
      if (found === wanted.size) return;
      // The client fetches a page when the previous one is used up: that call takes a slot, and
      // is worth it only while it is cheaper than fetching the missing trainings one by one.
      const pageBoundary = seen % TRAININGS_PAGE_SIZE === 0;
      if (pageBoundary && seen / TRAININGS_PAGE_SIZE >= wanted.size - found) return;
      const release = pageBoundary ? await window.acquire() : undefined;
      let step: IteratorResult<Training>;
      try {
        step = await iterator.next();
      } finally {
        release?.();
      }
      if (step.done) {
        // The whole list was read: what it lacks does not exist at Replicate.
        for (const id of wanted) if (!results.has(id)) results.set(id, { missing: true });
        return;
      }
      seen++;
      if (wanted.has(step.value.id) && !results.has(step.value.id)) {
        results.set(step.value.id, { found: step.value });
        found++;
      }
    }
  } catch (err) {
    if (err instanceof ReplicateError && err.code === "REPLICATE_UNAUTHORIZED") throw err;
    // Whatever the list did not give is fetched one by one.
  } finally {
    await iterator.return?.();
  }
}
