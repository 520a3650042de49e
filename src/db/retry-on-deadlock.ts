/**
 * Runs a transaction again when PostgreSQL aborted it as a deadlock victim (40P01) or a
 * serialization failure (40001), as its documentation advises: the aborted attempt left nothing,
 * so running it again is safe as long as `attempt` only touches the database.
 */
const RETRYABLE = new Set(["40P01", "40001"]);

export async function retryOnDeadlock<T>(attempt: () => Promise<T>, tries = 5): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const code = err && typeof err === "object" ? (err as { code?: unknown }).code : undefined;
      if (n >= tries || typeof code !== "string" || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * n));
    }
  }
}
