/**
 * The emulator's clock: real time plus an offset that tests move forward with `advance(ms)`.
 * Every timeline, TTL and rate-limit window reads this clock, never Date.now() directly.
 */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

export function createClock(): Clock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms) needs a non-negative number, got ${ms}`);
      offset += ms;
    },
  };
}

/** Replicate writes microsecond timestamps: "2023-08-16T19:33:27.215203Z". */
export function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "000Z");
}

/** Files carry millisecond timestamps: "2024-08-22T12:26:51.079Z". */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}
