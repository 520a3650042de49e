import { describe, expect, it } from "vitest";
import { createSemaphore } from "../../src/replicate/semaphore.js";

describe("createSemaphore", () => {
  it("never lets more than the limit in, and serves waiters in order", async () => {
    const sem = createSemaphore(2);
    let inside = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, async (_, i) => {
        const release = await sem.acquire();
        order.push(i);
        inside += 1;
        peak = Math.max(peak, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside -= 1;
        release();
        release(); // a second release must not free a second permit
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(sem.active).toBe(0);
  });
});
