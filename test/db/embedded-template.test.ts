/**
 * The pre-built embedded database the package ships (dist/embedded-db.tar.gz, made by `npm run
 * build`): it holds every migration of this code, a new home unpacked from it has the same schema
 * as one migrated from nothing (embedded and on a server), private modes whatever the umask, and a
 * schema already current costs one statement to check or to migrate.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { lstatSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { embeddedDataDir, openDatabase } from "../../src/db/connect.js";
import { defaultManifestPath, templateFor, type TemplateManifest } from "../../src/db/embedded-template.js";
import { checksum, migrate, schemaStatus } from "../../src/db/migrate.js";
import { MIGRATIONS, type Migration } from "../../src/db/migrations/index.js";
import type { Database } from "../../src/db/types.js";
import { counting } from "../support/counting-database.js";
import { forEachBackend, TEST_DATABASE_URL, testSchemaName } from "../support/databases.js";

const MANIFEST = defaultManifestPath();
const homes: string[] = [];
afterAll(async () => {
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "sselfie-template-"));
  homes.push(home);
  return join(home, "home");
}

/** Everything a migration makes, with the schema's own name written as :SCHEMA. */
async function schemaFingerprint(db: Database): Promise<Record<string, unknown[]>> {
  const ns = (sql: string) => db.query<Record<string, unknown>>(sql, [db.schema]).then((r) => r.rows);
  const name = (v: unknown) => (typeof v === "string" ? v.replaceAll(`"${db.schema}".`, ":SCHEMA.").replaceAll(`${db.schema}.`, ":SCHEMA.") : v);
  const scrub = (rows: Record<string, unknown>[]) => rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, name(v)])));
  return {
    columns: scrub(
      await ns(`SELECT table_name, column_name, ordinal_position, data_type, is_nullable, column_default
                FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`),
    ),
    constraints: scrub(
      await ns(`SELECT c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def, c.convalidated
                FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                -- NOT NULL: PostgreSQL 18 lists it here too; columns.is_nullable holds it on every version.
                WHERE n.nspname = $1 AND c.contype <> 'n' ORDER BY 1, 2`),
    ),
    indexes: scrub(await ns(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1, 2`)),
    triggers: scrub(
      await ns(`SELECT t.tgname, pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1`),
    ),
    functions: scrub(
      await ns(`SELECT p.proname, pg_get_function_arguments(p.oid) AS args, p.prosrc FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1, 2`),
    ),
    rows: [
      await db.query(`SELECT version, name, checksum FROM ${db.s}.migrations ORDER BY version`).then((r) => r.rows),
      await db.query(`SELECT name, token_env, capacity, used, implicit FROM ${db.s}.owners ORDER BY name`).then((r) => r.rows),
      await db.query(`SELECT count(*)::int AS n FROM ${db.s}.operators`).then((r) => r.rows),
    ],
  };
}

describe("the pre-built embedded database", () => {
  it("was built from exactly this code's migrations (run `npm run build` after changing one)", async () => {
    const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as TemplateManifest;
    expect(manifest.schema).toBe("sselfie");
    expect(manifest.migrations).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name, checksum: checksum(m.sql) })));
    expect(await templateFor("sselfie")).toEqual({ tarball: join(MANIFEST, "..", "embedded-db.tar.gz"), otherSchema: null });
  });

  it("makes a new home with every migration applied and the same schema as a database migrated from nothing", async () => {
    const made: string[] = [];
    const fromTemplate = await openDatabase({ home: await newHome(), onCreated: (from) => made.push(from) });
    const fromNothing = await openDatabase({ home: await newHome(), templateManifest: false, onCreated: (from) => made.push(from) });
    try {
      expect(made).toEqual(["template", "initdb"]);
      for (const db of [fromTemplate, fromNothing]) expect((await db.query("SHOW shared_buffers")).rows).toEqual([{ shared_buffers: "16MB" }]);
      const status = await schemaStatus(fromTemplate);
      expect(status).toMatchObject({ pending: [], tooNew: false, schemaVersion: Math.max(...MIGRATIONS.map((m) => m.version)) });
      expect(await migrate(fromTemplate)).toMatchObject({ applied: [] });
      expect(await migrate(fromNothing)).toMatchObject({ applied: MIGRATIONS.map((m) => m.version) });
      const expected = await schemaFingerprint(fromNothing);
      expect(await schemaFingerprint(fromTemplate)).toEqual(expected);
      if (TEST_DATABASE_URL) {
        const server = await openDatabase({ databaseUrl: TEST_DATABASE_URL, home: "/nonexistent", schema: testSchemaName() });
        try {
          await migrate(server);
          const onServer = await schemaFingerprint(server);
          expect(onServer.rows).toEqual(expected.rows);
          expect(onServer).toEqual(expected);
        } finally {
          await server.exec(`DROP SCHEMA IF EXISTS ${server.s} CASCADE`);
          await server.close();
        }
      }
    } finally {
      await fromTemplate.close();
      await fromNothing.close();
    }
  });

  it("leaves folders 0700 and files 0600 under a permissive umask, when made and after a later use", async () => {
    const previous = process.umask(0o000);
    try {
      const home = await newHome();
      const loose = () => {
        const found: string[] = [];
        const walk = (path: string) => {
          const info = lstatSync(path);
          if ((info.mode & 0o077) !== 0) found.push(`${path} ${(info.mode & 0o777).toString(8)}`);
          if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
        };
        walk(home);
        return found;
      };
      const made: string[] = [];
      const db = await openDatabase({ home, onCreated: (from) => made.push(from) });
      expect(made).toEqual(["template"]);
      expect(loose()).toEqual([]);
      await db.exec(`CREATE TABLE ${db.s}.scratch (id int PRIMARY KEY, body text); INSERT INTO ${db.s}.scratch SELECT g, repeat('x', 300) FROM generate_series(1, 2000) g`);
      await db.close();
      const again = await openDatabase({ home });
      await again.query(`SELECT count(*) FROM ${again.s}.scratch`);
      await again.close();
      expect(loose()).toEqual([]);
      expect(readdirSync(home).sort()).toEqual(["db"]);
      expect(readdirSync(embeddedDataDir(home))).toContain("PG_VERSION");
    } finally {
      process.umask(previous);
    }
  });

  it("makes a home for another schema too: the template's schema dropped before the directory is in place, the new one migrated", async () => {
    const made: string[] = [];
    const home = await newHome();
    const db = await openDatabase({ home, schema: "portraits", onCreated: (from) => made.push(from) });
    try {
      expect(made).toEqual(["template"]);
      const { rows } = await db.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1`,
      );
      expect(rows).toEqual([]);
      expect(await migrate(db)).toMatchObject({ applied: MIGRATIONS.map((m) => m.version) });
      expect((await db.query(`SELECT count(*)::int AS n FROM ${db.s}.migrations`)).rows).toEqual([{ n: MIGRATIONS.length }]);
    } finally {
      await db.close();
    }
    // No draft left beside it.
    expect(readdirSync(home).sort()).toEqual(["db"]);
  });

  it("names its own schema to drop for another schema, and is not used when a migration it holds differs from the code's or is unknown to it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sselfie-manifest-"));
    homes.push(dir);
    const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as TemplateManifest;
    const write = async (m: TemplateManifest) => {
      const path = join(dir, `m-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(path, JSON.stringify(m));
      return path;
    };
    await copyFile(join(MANIFEST, "..", manifest.tarball), join(dir, manifest.tarball));
    expect(await templateFor("sselfie", await write(manifest))).toEqual({ tarball: join(dir, manifest.tarball), otherSchema: null });
    expect(await templateFor("other", await write(manifest))).toEqual({ tarball: join(dir, manifest.tarball), otherSchema: "sselfie" });
    const changed = { ...manifest, migrations: manifest.migrations.map((m, i) => (i === 0 ? { ...m, checksum: "0".repeat(64) } : m)) };
    expect(await templateFor("sselfie", await write(changed))).toBeUndefined();
    const future = { ...manifest, migrations: [...manifest.migrations, { version: 9999, name: "9999_future", checksum: "x" }] };
    expect(await templateFor("sselfie", await write(future))).toBeUndefined();
    // Code that knows a migration more than the tarball still uses it (init applies the rest).
    const newer: Migration[] = [...MIGRATIONS, { version: 9998, name: "9998_next", sql: "SELECT 1" }];
    expect(await templateFor("sselfie", await write(manifest), newer)).toEqual({ tarball: join(dir, manifest.tarball), otherSchema: null });
    expect(await templateFor("sselfie", join(dir, "missing.json"))).toBeUndefined();
  });
});

forEachBackend((backend) => {
  describe("a schema already current", () => {
    it("costs one statement to migrate and one to check, and nothing is applied", async () => {
      const { db, statements } = counting(await backend.freshDatabase());
      expect(await migrate(db)).toEqual({ schemaVersion: Math.max(...MIGRATIONS.map((m) => m.version)), applied: [] });
      expect(statements).toHaveLength(1);
      statements.length = 0;
      expect(await schemaStatus(db)).toMatchObject({ pending: [], tooNew: false });
      expect(statements).toHaveLength(1);
    });

    it("checks in one statement that a schema never migrated has every migration pending", async () => {
      const { db, statements } = counting(await backend.freshDatabase({ migrate: false }));
      expect(await schemaStatus(db)).toMatchObject({ schemaVersion: 0, pending: MIGRATIONS.map((m) => m.version) });
      expect(statements).toHaveLength(1);
    });
  });
});
