/**
 * Opens the store: a PostgreSQL server through `pg` when given a URL or a pool, otherwise the
 * embedded PGlite database under `${home}/db`, held by this process alone until `close()`.
 * `pg` and PGlite are imported only when chosen, so CLI start-up stays fast.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Pool } from "pg";
import { ConfigError, DatabaseError, isSselfieError } from "../errors.js";
import { acquireDataDirLock } from "./data-dir-lock.js";
import { SCHEMA_NAME_PATTERN, type Database } from "./types.js";

export const DEFAULT_SCHEMA = "sselfie";
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface OpenDatabaseOptions {
  /** A PostgreSQL connection URL (`DATABASE_URL`). */
  databaseUrl?: string;
  /** A pool owned by the caller (a backend service): used, never ended. Wins over `databaseUrl`. */
  pool?: Pool;
  /** The data directory (`SSELFIE_HOME`); the embedded database lives in `${home}/db`. */
  home: string;
  /** Default `sselfie`: lowercase letters, digits and `_`, not starting with a digit. */
  schema?: string;
  /** How long to wait for another process to release the embedded database. Default 5000. */
  lockTimeoutMs?: number;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const schema = validateSchemaName(opts.schema ?? DEFAULT_SCHEMA);
  if (opts.pool) return openPool(opts.pool, schema, { ownsPool: false, target: describePool(opts.pool) });
  if (opts.databaseUrl !== undefined) {
    const url = parseDatabaseUrl(opts.databaseUrl);
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: "sselfie",
    });
    // An idle client's error would otherwise crash the process; the next query reports it instead.
    pool.on("error", () => undefined);
    return openPool(pool, schema, { ownsPool: true, target: `${url.hostname || "localhost"}:${url.port || "5432"}` });
  }
  return openEmbedded(opts.home, schema, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
}

export function validateSchemaName(name: string): string {
  if (!SCHEMA_NAME_PATTERN.test(name)) {
    throw new ConfigError(
      `Invalid database schema name ${JSON.stringify(name)}: use up to 63 lowercase letters, digits and "_", not starting with a digit.`,
      { schema: name },
      "DATABASE_SCHEMA_INVALID",
    );
  }
  return name;
}

/** Where the embedded database of a given SSELFIE_HOME lives. */
export function embeddedDataDir(home: string): string {
  return join(home, "db");
}

function parseDatabaseUrl(databaseUrl: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(databaseUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) {
    // Never echo the value: it usually carries a password.
    throw new ConfigError(
      "DATABASE_URL (--database-url) is not a valid PostgreSQL connection URL; " +
        "expected postgres://user:password@host:5432/database (percent-encode special characters in the password).",
      {},
      "DATABASE_URL_INVALID",
    );
  }
  return url;
}

function describePool(pool: Pool): string {
  const options = (pool as unknown as { options?: { host?: string; port?: number; connectionString?: string } }).options ?? {};
  if (options.connectionString) {
    try {
      const url = new URL(options.connectionString);
      return `${url.hostname || "localhost"}:${url.port || "5432"}`;
    } catch {
      // fall back to the discrete options
    }
  }
  return `${options.host ?? "localhost"}:${options.port ?? 5432}`;
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET"]);

async function openPool(pool: Pool, schema: string, opts: { ownsPool: boolean; target: string }): Promise<Database> {
  const { createPgDatabase } = await import("./pg.js");
  const db = createPgDatabase(pool, schema, { ownsPool: opts.ownsPool });
  try {
    await db.query("SELECT 1");
  } catch (err) {
    await db.close().catch(() => undefined);
    throw connectError(err, opts.target);
  }
  return db;
}

function connectError(err: unknown, target: string): DatabaseError {
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if ((typeof code === "string" && UNREACHABLE.has(code)) || /timeout/i.test(message)) {
    return new DatabaseError(
      `Cannot reach the PostgreSQL server at ${target} (${typeof code === "string" ? code : "connection timed out"}). ` +
        `Check DATABASE_URL and that the server is running and accepts connections.`,
      { target },
      "DATABASE_UNREACHABLE",
      err,
    );
  }
  // pg's server messages (authentication failed, unknown database) never contain the password.
  return new DatabaseError(
    `Cannot connect to the PostgreSQL server at ${target}: ${message}`,
    { target, ...(typeof code === "string" ? { pgCode: code } : {}) },
    "DATABASE_CONNECT_FAILED",
    err,
  );
}

async function openEmbedded(home: string, schema: string, lockTimeoutMs: number): Promise<Database> {
  const dataDir = embeddedDataDir(home);
  await mkdir(home, { recursive: true });
  const lock = await acquireDataDirLock(`${dataDir}.lock`, {
    timeoutMs: lockTimeoutMs,
    description: `The embedded database at ${dataDir}`,
  });
  try {
    const { openPgliteDirectory, createPgliteDatabase } = await import("./pglite.js");
    const pglite = await openPgliteDirectory(dataDir);
    return createPgliteDatabase(pglite, schema, {
      onClose: async () => {
        try {
          await pglite.close();
        } finally {
          await lock.release();
        }
      },
    });
  } catch (err) {
    await lock.release();
    throw isSselfieError(err) ? err : new DatabaseError(`Could not open the embedded database at ${dataDir}.`, { dataDir }, "DATABASE_OPEN_FAILED", err);
  }
}
