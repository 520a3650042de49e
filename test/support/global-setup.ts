/**
 * Runs once before all test files: builds the migrated PGlite template (cached across runs, so
 * this is a stat after the first run) and, when TEST_DATABASE_URL is set, checks the server
 * answers, so a wrong URL fails once and clearly instead of in every file.
 */
import { ensurePgliteTemplate } from "./pglite-template.js";

export default async function setup(): Promise<void> {
  await ensurePgliteTemplate();
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query("SELECT 1");
    } catch (err) {
      throw new Error(`TEST_DATABASE_URL is set but the server does not answer: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
