import { describe, expect, it } from "vitest";
import { DatabaseError } from "../../src/errors.js";
import { openDatabase } from "../../src/db/connect.js";
import { migrate, schemaStatus } from "../../src/db/migrate.js";
import { MIGRATIONS, type Migration } from "../../src/db/migrations/index.js";
import type { Database } from "../../src/db/types.js";
import { forEachBackend } from "../support/databases.js";

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));
const VERSIONS = MIGRATIONS.map((m) => m.version);

async function appliedRows(db: Database) {
  return (await db.query<{ version: number; name: string; checksum: string }>(
    `SELECT version, name, checksum FROM ${db.s}.migrations ORDER BY version`,
  )).rows;
}

async function schemaExists(db: Database): Promise<boolean> {
  return (await db.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [db.schema])).rowCount === 1;
}

async function rejection(promise: Promise<unknown>): Promise<DatabaseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatabaseError);
  return err as DatabaseError;
}

forEachBackend((backend) => {
  describe("migrate", () => {
    it("refuses a schema that holds another application's tables, and creates nothing there", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      await db.exec(`CREATE SCHEMA ${db.s}; CREATE TABLE ${db.s}.orders (id int); CREATE TABLE ${db.s}.users (id int)`);
      const err = await rejection(migrate(db));
      expect(err.code).toBe("DATABASE_SCHEMA_FOREIGN");
      expect(err.message).toContain("orders, users");
      const tables = await db.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [db.schema]);
      expect(tables.rows.map((r) => r.t)).toEqual(["orders", "users"]);
      // An empty schema made for sselfie beforehand is fine.
      const empty = await backend.freshDatabase({ migrate: false });
      await empty.exec(`CREATE SCHEMA ${empty.s}`);
      expect((await migrate(empty)).schemaVersion).toBe(LATEST);
    });

    it("brings a fresh schema to the latest version and records each migration", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      expect(await schemaStatus(db)).toEqual({ schemaVersion: 0, latestVersion: LATEST, pending: VERSIONS, tooNew: false });

      expect(await migrate(db)).toEqual({ schemaVersion: LATEST, applied: VERSIONS });

      const rows = await appliedRows(db);
      expect(rows.map((r) => [r.version, r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
      expect(rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(await schemaStatus(db)).toEqual({ schemaVersion: LATEST, latestVersion: LATEST, pending: [], tooNew: false });
      const tables = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", [db.schema]);
      expect(tables.rows.map((r) => r.tablename)).toEqual([
        "budgets",
        "erasures",
        "generations",
        "migrations",
        "model_version_schemas",
        "operator_events",
        "operators",
        "owners",
        "trainings",
        "user_models",
        "user_spending",
        "users",
        "webhook_deliveries",
      ]);
    });

    it("is idempotent", async () => {
      const db = await backend.freshDatabase();
      expect(await migrate(db)).toEqual({ schemaVersion: LATEST, applied: [] });
      expect(await migrate(db)).toEqual({ schemaVersion: LATEST, applied: [] });
      expect(await appliedRows(db)).toHaveLength(MIGRATIONS.length);
    });

    it("refuses a database whose applied migration has a different checksum", async () => {
      const db = await backend.freshDatabase();
      await db.query(`UPDATE ${db.s}.migrations SET checksum = $1 WHERE version = 1`, ["0".repeat(64)]);
      const err = await rejection(migrate(db));
      expect(err.code).toBe("MIGRATION_CHECKSUM_MISMATCH");
      expect(err.message).toContain("0001_initial");
    });

    it("refuses a database migrated by a newer sselfie", async () => {
      const db = await backend.freshDatabase();
      await db.query(`INSERT INTO ${db.s}.migrations (version, name, checksum) VALUES (9999, '9999_future', 'x')`);
      const err = await rejection(migrate(db));
      expect(err.code).toBe("SCHEMA_TOO_NEW");
      expect(err.message).toMatch(/upgrade sselfie/);
      expect(await schemaStatus(db)).toMatchObject({ schemaVersion: 9999, tooNew: true });
    });

    it("rolls a failed migration back entirely and keeps the ones before it", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      const broken: Migration = {
        version: LATEST + 1,
        name: `${String(LATEST + 1).padStart(4, "0")}_broken`,
        sql: "CREATE TABLE :SCHEMA.half_done (id int);\nINSERT INTO :SCHEMA.no_such_table VALUES (1);",
      };
      const err = await rejection(migrate(db, [...MIGRATIONS, broken]));
      expect(err.code).toBe("MIGRATION_FAILED");
      expect(err.message).toContain(`${String(LATEST + 1).padStart(4, "0")}_broken`);
      expect(err.cause).toBeInstanceOf(Error);

      expect((await appliedRows(db)).map((r) => r.version)).toEqual(VERSIONS);
      const halfDone = await db.query("SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'half_done'", [db.schema]);
      expect(halfDone.rowCount).toBe(0);
    });

    it("leaves no schema behind when the first migration fails", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      const broken: Migration = { version: 1, name: "0001_broken", sql: "CREATE TABLE :SCHEMA.t (id int); SELECT 1/0;" };
      const err = await rejection(migrate(db, [broken]));
      expect(err.code).toBe("MIGRATION_FAILED");
      expect(await schemaExists(db)).toBe(false);
    });

    it("applies each migration once when several calls race on one database", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
      // Each call takes the lock per migration, so calls can interleave (one applies 1-3 and 5,
      // another 4): each version is applied once, and the table holds them in order.
      expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(VERSIONS);
      expect((await appliedRows(db)).map((r) => r.version)).toEqual(VERSIONS);
      expect(await appliedRows(db)).toHaveLength(MIGRATIONS.length);
    });

    it.runIf(backend.kind === "pg")("is safe with 20 processes migrating one fresh schema at once", async () => {
      const db = await backend.freshDatabase({ migrate: false });
      const connections = await Promise.all(
        Array.from({ length: 20 }, () => openDatabase({ databaseUrl: backend.databaseUrl, home: "/nonexistent", schema: db.schema })),
      );
      try {
        const results = await Promise.allSettled(connections.map((c) => migrate(c)));
        expect(results.filter((r) => r.status === "rejected")).toEqual([]);
        // Each version applied by exactly one process; which process applies which is up to the lock.
        const applied = results.flatMap((r) => (r.status === "fulfilled" ? r.value.applied : []));
        expect([...applied].sort((a, b) => a - b)).toEqual(VERSIONS);
        for (const r of results) expect(r.status === "fulfilled" && r.value.schemaVersion).toBe(LATEST);
      } finally {
        await Promise.all(connections.map((c) => c.close()));
      }
      const rows = await db.query<{ version: number; n: number }>(`SELECT version, count(*) AS n FROM ${db.s}.migrations GROUP BY version ORDER BY version`);
      expect(rows.rows).toEqual(VERSIONS.map((version) => ({ version, n: 1 })));
    });
  });
});
