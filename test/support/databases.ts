/**
 * Runs one suite against every database backend:
 *
 *   forEachBackend((backend) => {
 *     it("stores a user", async () => {
 *       const db = await backend.freshDatabase();              // migrated, in a schema of its own
 *       await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('42')`);
 *       ...
 *     });
 *   });
 *
 * - "pglite" always runs: one PGlite per test file (a copy of the migrated template, see
 *   pglite-template.ts, opened on first use), each test in its own schema.
 * - "postgres" runs when TEST_DATABASE_URL is set (otherwise its tests show as skipped): one pool
 *   per test file, each test in its own schema, dropped when the test passes and kept for a look
 *   when it fails (and dropped again by the next run of that test).
 *
 * Schemas are named `t_<hash>` from the test file, the full test name and a per-test counter, so
 * files run in parallel against one server without meeting. `freshDatabase({ migrate: false })`
 * gives an empty schema (for migration tests). `close()` on a fresh database is a no-op: the
 * backend closes its PGlite or pool after the file.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { Pool } from "pg";
import { afterAll, describe, expect, onTestFinished } from "vitest";
import { embeddedDataDir } from "../../src/db/connect.js";
import { migrate } from "../../src/db/migrate.js";
import { createPgDatabase } from "../../src/db/pg.js";
import { createPgliteDatabase, openPgliteDirectory } from "../../src/db/pglite.js";
import { quoteIdent, type Database } from "../../src/db/types.js";
import { copyPgliteTemplate } from "./pglite-template.js";

export const TEST_DATABASE_URL: string | undefined = process.env.TEST_DATABASE_URL || undefined;

export interface TestBackend {
  readonly kind: "pglite" | "pg";
  /** Only for "pg": the server, for tests that need connections of their own (e.g. `openDatabase`). */
  readonly databaseUrl: string | undefined;
  /** A database in a new schema of its own; call it inside a test. */
  freshDatabase(opts?: { migrate?: boolean }): Promise<Database>;
}

export function forEachBackend(define: (backend: TestBackend) => void): void {
  describe("pglite", () => define(pgliteBackend()));
  describe.skipIf(!TEST_DATABASE_URL)("postgres", () => define(serverBackend(TEST_DATABASE_URL ?? "")));
}

/** A schema name for the running test: stable across runs, distinct across files and tests. */
export function testSchemaName(): string {
  const { testPath, currentTestName } = expect.getState();
  const key = `${testPath ?? ""}\0${currentTestName ?? ""}`;
  const n = (calls.get(key) ?? 0) + 1;
  calls.set(key, n);
  return `t_${createHash("sha256").update(`${key}\0${n}`).digest("hex").slice(0, 16)}`;
}
const calls = new Map<string, number>();

function pgliteBackend(): TestBackend {
  let opened: Promise<{ pglite: PGlite; home: string }> | undefined;
  afterAll(async () => {
    if (!opened) return;
    const { pglite, home } = await opened;
    await pglite.close();
    await rm(home, { recursive: true, force: true });
  });
  return {
    kind: "pglite",
    databaseUrl: undefined,
    async freshDatabase(opts = {}) {
      opened ??= (async () => {
        const home = await mkdtemp(join(tmpdir(), "sselfie-pglite-"));
        await copyPgliteTemplate(home);
        return { pglite: await openPgliteDirectory(embeddedDataDir(home)), home };
      })();
      const { pglite } = await opened;
      const db = createPgliteDatabase(pglite, testSchemaName());
      await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
      if (opts.migrate !== false) await migrate(db);
      return db;
    },
  };
}

function serverBackend(url: string): TestBackend {
  let pool: Promise<Pool> | undefined;
  afterAll(async () => {
    if (pool) await (await pool).end();
  });
  return {
    kind: "pg",
    databaseUrl: url,
    async freshDatabase(opts = {}) {
      pool ??= import("pg").then(({ default: pg }) => new pg.Pool({ connectionString: url, max: 4 }));
      const schema = testSchemaName();
      const db = createPgDatabase(await pool, schema, { ownsPool: false });
      await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      onTestFinished(async ({ task }) => {
        if (task.result?.state === "pass") await db.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      });
      if (opts.migrate !== false) await migrate(db);
      return db;
    },
  };
}
