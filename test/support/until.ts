/** Polls `fn` until it returns something truthy (resolved with it), or fails after `ms`. */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, ms = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
