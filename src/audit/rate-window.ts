/**
 * Keeps calls to Replicate inside a per-minute limit the way Replicate counts it: a sliding
 * one-minute window. A slot counts from the moment it is taken until a minute after its response
 * came back; using the response time (not the send time) keeps us inside the window whatever the
 * latency. Waiters are served in arrival order.
 */
export interface RateWindow {
  /** Resolves when a call may be sent; call the returned function once its response is in. */
  acquire(): Promise<() => void>;
  /** Sends nothing for `ms` (after Replicate said 429 despite the window). */
  pause(ms: number): void;
}

export interface RateWindowOptions {
  windowMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function createRateWindow(limit: number, opts: RateWindowOptions = {}): RateWindow {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`A rate limit must be a positive integer, got ${limit}`);
  const windowMs = opts.windowMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  /** Response times of finished calls still inside the window, oldest first. */
  const finished: number[] = [];
  let head = 0;
  let inFlight = 0;
  let pausedUntil = 0;
  let wake: (() => void) | null = null;
  let queue: Promise<void> = Promise.resolve();

  const recent = (): number => {
    const cutoff = now() - windowMs;
    while (head < finished.length && finished[head]! <= cutoff) head++;
    if (head > 1024 && head * 2 > finished.length) {
      finished.splice(0, head);
      head = 0;
    }
    return finished.length - head;
  };

  const take = async (): Promise<void> => {
    for (;;) {
      const paused = pausedUntil - now();
      if (paused > 0) {
        await sleep(paused);
        continue;
      }
      const done = recent();
      if (inFlight + done < limit) break;
      if (done > 0) await sleep(Math.max(1, finished[head]! + windowMs - now() + 1));
      // Every slot is in flight: the next response frees one (a minute later at the earliest).
      else await new Promise<void>((resolve) => (wake = resolve));
    }
    inFlight++;
  };

  return {
    acquire() {
      const granted = queue.then(take);
      queue = granted.catch(() => undefined);
      return granted.then(() => {
        let released = false;
        return () => {
          if (released) return;
          released = true;
          inFlight--;
          finished.push(now());
          const w = wake;
          wake = null;
          w?.();
        };
      });
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
  };
}
