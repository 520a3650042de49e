/** A counting semaphore: at most `limit` holders at once, waiters served in arrival order. */
export interface Semaphore {
  acquire(): Promise<() => void>;
  readonly active: number;
  readonly waiting: number;
}

export function createSemaphore(limit: number): Semaphore {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Semaphore limit must be a positive integer, got ${limit}`);
  let active = 0;
  const queue: Array<() => void> = [];

  const release = (): void => {
    const next = queue.shift();
    // Hand the permit straight to the next waiter so a newcomer cannot overtake it.
    if (next) next();
    else active -= 1;
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    acquire() {
      return new Promise<() => void>((resolve) => {
        let released = false;
        const once = (): void => {
          if (released) return;
          released = true;
          release();
        };
        if (active < limit) {
          active += 1;
          resolve(once);
        } else {
          queue.push(() => resolve(once));
        }
      });
    },
  };
}
