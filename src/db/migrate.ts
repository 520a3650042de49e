/**
 * Applies the numbered migrations. Each runs in its own transaction under an advisory lock keyed
 * by the schema name, so any number of processes may migrate one database at once: the first
 * applies, the others wait and then find it done.
 */
import { createHash } from "node:crypto";
import { DatabaseError, isSselfieError } from "../errors.js";
import { MIGRATIONS, type Migration } from "./migrations/index.js";
import type { Database, Transaction } from "./types.js";

export interface MigrateResult {
  /** The highest version applied, after this call. */
  schemaVersion: number;
  /** Versions this call applied, in order (empty when it was already up to date). */
  applied: number[];
}

export interface SchemaStatus {
  /** The highest version applied; 0 for a database never migrated. */
  schemaVersion: number;
  /** The highest version this code knows. */
  latestVersion: number;
  /** Known versions not yet applied. */
  pending: number[];
  /** The database was migrated by a newer sselfie. */
  tooNew: boolean;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * `migrations` is for tests; callers use the shipped list. A schema already current costs one
 * query (no transaction, no lock): applied migrations are never removed, so what is read
 * committed stays true.
 */
export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const applied: number[] = [];
  const current = await appliedMigrations(db);
  if (current && ordered.every((m) => current.some((r) => r.version === m.version))) {
    verify(current, ordered);
    return { schemaVersion: Math.max(0, ...current.map((r) => r.version)), applied };
  }
  let schemaVersion = 0;
  for (const m of ordered) {
    try {
      const done = await db.transaction(async (tx) => {
        const rows = await lockAndPrepare(tx, db);
        verify(rows, ordered);
        schemaVersion = Math.max(0, ...rows.map((r) => r.version));
        if (rows.some((r) => r.version === m.version)) return false;
        await tx.exec(m.sql.replaceAll(":SCHEMA", db.s));
        await tx.query(`INSERT INTO ${db.s}.migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, now())`, [
          m.version,
          m.name,
          checksum(m.sql),
        ]);
        return true;
      });
      if (done) {
        applied.push(m.version);
        schemaVersion = Math.max(schemaVersion, m.version);
      }
    } catch (err) {
      if (isSselfieError(err)) throw err;
      throw new DatabaseError(
        `Migration ${m.name} failed and was rolled back: ${err instanceof Error ? err.message : String(err)}`,
        { schema: db.schema, version: m.version, name: m.name },
        "MIGRATION_FAILED",
        err,
      );
    }
  }
  return { schemaVersion, applied };
}

/** One query. */
export async function schemaStatus(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<SchemaStatus> {
  const rows = (await appliedMigrations(db)) ?? [];
  return schemaStatusOf(rows.map((r) => r.version), migrations);
}

/** The status of a schema whose migrations table lists `applied` (versions, in any order). */
export function schemaStatusOf(applied: readonly number[], migrations: readonly Migration[] = MIGRATIONS): SchemaStatus {
  const latestVersion = Math.max(0, ...migrations.map((m) => m.version));
  const versions = new Set(applied);
  const schemaVersion = Math.max(0, ...versions);
  return {
    schemaVersion,
    latestVersion,
    pending: migrations.map((m) => m.version).filter((v) => !versions.has(v)).sort((a, b) => a - b),
    tooNew: schemaVersion > latestVersion,
  };
}

/** Takes the schema's migration lock (held until the transaction ends), then makes sure the schema and its migrations table exist. */
async function lockAndPrepare(tx: Transaction, db: Database): Promise<AppliedRow[]> {
  await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [advisoryLockKey(db.schema)]);
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists.
  const found = await tx.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [db.schema]);
  if (found.rowCount === 0) await tx.exec(`CREATE SCHEMA ${db.s}`);
  else await refuseForeignSchema(tx, db.schema);
  await tx.exec(
    `CREATE TABLE IF NOT EXISTS ${db.s}.migrations (
       version     int PRIMARY KEY,
       name        text NOT NULL,
       checksum    text NOT NULL,
       applied_at  timestamptz NOT NULL DEFAULT now()
     )`,
  );
  return (await tx.query<AppliedRow>(`SELECT version, name, checksum FROM ${db.s}.migrations ORDER BY version`)).rows;
}

/**
 * A schema that already holds tables, views or sequences but no sselfie migrations table belongs to
 * another application: sselfie's tables would land among its own (and a name they share, such as
 * `users`, would fail halfway). Refused before anything is created there.
 */
async function refuseForeignSchema(tx: Transaction, schema: string): Promise<void> {
  const { rows } = await tx.query<{ others: string[] | null; ours: boolean }>(
    `SELECT array_agg(c.relname::text ORDER BY c.relname) FILTER (WHERE c.relname <> 'migrations') AS others,
            EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class m ON m.oid = a.attrelid
                     WHERE m.relnamespace = n.oid AND m.relname = 'migrations' AND a.attname = 'checksum') AS ours
       FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      WHERE n.nspname = $1
      GROUP BY n.oid`,
    [schema],
  );
  const others = rows[0]?.others ?? [];
  if (others.length === 0 || rows[0]?.ours) return;
  const shown = others.slice(0, 3).join(", ") + (others.length > 3 ? `, … (${others.length} in all)` : "");
  throw new DatabaseError(
    `The schema "${schema}" already holds objects of another application (${shown}) and no sselfie migrations: sselfie keeps ` +
      `its tables in a schema of its own. Choose another SSELFIE_SCHEMA (--schema), or the default "sselfie".`,
    { schema, objects: others.length },
    "DATABASE_SCHEMA_FOREIGN",
  );
}

function verify(rows: AppliedRow[], known: readonly Migration[]): void {
  const latest = Math.max(0, ...known.map((m) => m.version));
  const newest = Math.max(0, ...rows.map((r) => r.version));
  if (newest > latest) {
    throw new DatabaseError(
      `The database schema is at version ${newest}, newer than this sselfie knows (${latest}): upgrade sselfie.`,
      { schemaVersion: newest, latestVersion: latest },
      "SCHEMA_TOO_NEW",
    );
  }
  for (const row of rows) {
    const m = known.find((k) => k.version === row.version);
    if (m && checksum(m.sql) !== row.checksum) {
      throw new DatabaseError(
        `Migration ${m.name} was changed after it was applied to this database (checksum mismatch); ` +
          `a shipped migration must never be edited. Restore its original text or add a new migration.`,
        { version: m.version, name: m.name },
        "MIGRATION_CHECKSUM_MISMATCH",
      );
    }
  }
}

/** The schema's applied migrations in one query; undefined when the schema or its migrations table does not exist. */
async function appliedMigrations(db: Database): Promise<AppliedRow[] | undefined> {
  try {
    return (await db.query<AppliedRow>(`SELECT version, name, checksum FROM ${db.s}.migrations ORDER BY version`)).rows;
  } catch (err) {
    if (isMissingTableError(err)) return undefined;
    throw err;
  }
}

/** PostgreSQL's undefined_table or invalid_schema_name: a schema not migrated (or not there at all). */
export function isMissingTableError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "42P01" || code === "3F000";
}

export function checksum(sql: string): string {
  return createHash("sha256").update(sql).digest("hex");
}

/** A stable signed 64-bit key per schema, so migrations of different schemas never wait on each other. */
export function advisoryLockKey(schema: string): string {
  return createHash("sha256").update(`sselfie:migrate:${schema}`).digest().readBigInt64BE(0).toString();
}
