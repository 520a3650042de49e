import { describe, expect, it } from "vitest";
import { createRateWindow } from "../../src/audit/rate-window.js";

/** A fake clock: sleeping moves time forward, nothing waits for real. */
function clock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

describe("createRateWindow", () => {
  it("never lets more than `limit` calls into any window, counting from each response", async () => {
    const c = clock();
    const window = createRateWindow(10, { windowMs: 1_000, ...c });
    const sent: number[] = [];
    const answered: number[] = [];
    for (let i = 0; i < 35; i++) {
      const release = await window.acquire();
      sent.push(c.now());
      await c.sleep(5); // the call takes 5 ms
      answered.push(c.now());
      release();
    }
    // For every call, fewer than 10 earlier responses lie within the window before it was sent.
    sent.forEach((t, i) => {
      const inWindow = answered.slice(0, i).filter((a) => a > t - 1_000).length;
      expect(inWindow).toBeLessThan(10);
    });
    // and it does not wait needlessly: 35 calls at 10 a second take a little over 3 windows.
    expect(c.now()).toBeLessThan(3 * 1_000 + 35 * 5 + 50);
    expect(c.now()).toBeGreaterThanOrEqual(3 * 1_000);
  });

  it("holds calls while every slot is in flight, and serves waiters in order", async () => {
    const c = clock();
    const window = createRateWindow(2, { windowMs: 100, ...c });
    const r1 = await window.acquire();
    const r2 = await window.acquire();
    const order: number[] = [];
    const third = window.acquire().then((r) => (order.push(3), r));
    const fourth = window.acquire().then((r) => (order.push(4), r));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    r1();
    r2();
    (await third)();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(c.now()).toBeGreaterThanOrEqual(100);
  });

  it("pauses after a 429 that got through", async () => {
    const c = clock();
    const window = createRateWindow(100, { ...c });
    (await window.acquire())();
    window.pause(30_000);
    (await window.acquire())();
    expect(c.now()).toBe(30_000);
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => createRateWindow(0)).toThrow(RangeError);
    expect(() => createRateWindow(1.5)).toThrow(RangeError);
  });
});
