/**
 * Opens the store: a PostgreSQL server through `pg` when given a URL or a pool, otherwise the
 * embedded PGlite database under `${home}/db`, held by this process alone until `close()`.
 * `pg` and PGlite are imported only when chosen, so CLI start-up stays fast.
 */
import { join } from "node:path";
import type { Pool } from "pg";
import { ConfigError, DatabaseError, isSselfieError } from "../errors.js";
import { ensureDirectory, homeUnusableError, makePrivate, openToOthers, PRIVATE_DIR_MODE } from "../fs-safety.js";
import { acquireDataDirLock } from "./data-dir-lock.js";
import type { CreatedFrom } from "./pglite.js";
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
  /** Told about risks found on the way (an existing home that other users can open). */
  onWarning?: (message: string) => void;
  /**
   * For tests: the manifest of the pre-built database a new embedded one is unpacked from
   * (default: the package's own), or false to always create it by initdb.
   */
  templateManifest?: string | false;
  /** For tests: told when the embedded data directory did not exist and was made, and how. */
  onCreated?: (from: CreatedFrom) => void;
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
  return openEmbedded(opts.home, schema, opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, opts);
}

/**
 * PostgreSQL's own schemas (`pg_*` is reserved to it; `information_schema` holds the catalogue's
 * views), and `public`: sselfie owns every table of its schema (migrations create them, erasure
 * deletes a user's rows from them, the audit reads them all), so it must not share a schema with
 * another application, and `public` is where every other application's tables are by default.
 */
export function isReservedSchemaName(name: string): boolean {
  return name.startsWith("pg_") || name === "information_schema" || name === "public";
}

export function validateSchemaName(name: string): string {
  if (!SCHEMA_NAME_PATTERN.test(name)) {
    throw new ConfigError(
      `Invalid database schema name ${JSON.stringify(name).slice(0, 80)}: use up to 63 lowercase letters, digits and "_", not starting with a digit.`,
      { schema: name.slice(0, 80) },
      "DATABASE_SCHEMA_INVALID",
    );
  }
  if (isReservedSchemaName(name)) {
    throw new ConfigError(
      `The database schema "${name}" belongs to PostgreSQL or to other applications; sselfie keeps its tables in a schema of its own ` +
        `(default "sselfie"). Choose another name for SSELFIE_SCHEMA (--schema).`,
      { schema: name },
      "DATABASE_SCHEMA_RESERVED",
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

async function openEmbedded(
  home: string,
  schema: string,
  lockTimeoutMs: number,
  { onWarning, templateManifest, onCreated }: Pick<OpenDatabaseOptions, "onWarning" | "templateManifest" | "onCreated">,
): Promise<Database> {
  const dataDir = embeddedDataDir(home);
  let lock;
  try {
    await ensureDirectory(home, PRIVATE_DIR_MODE);
    const open = await openToOthers(home);
    if (open) {
      onWarning?.(
        `${home} (sselfie's home, holding the embedded database and the saved token) is open to other users of this machine (${open}): ` +
          `run \`chmod 700 ${home}\`.`,
      );
    }
    lock = await acquireDataDirLock(`${dataDir}.lock`, {
      timeoutMs: lockTimeoutMs,
      description: `The embedded database at ${dataDir}`,
    });
  } catch (err) {
    throw isSselfieError(err)
      ? err
      : homeUnusableError(home, err, "the embedded database", "Set SSELFIE_HOME to a folder you can write, or DATABASE_URL to a PostgreSQL server.");
  }
  try {
    const { openPgliteDirectory, createPgliteDatabase } = await import("./pglite.js");
    let created = false;
    const pglite = await openPgliteDirectory(dataDir, {
      // Loaded only to make a new directory: it reads the migrations, which opening does not need.
      template: async () =>
        templateManifest === false ? undefined : (await import("./embedded-template.js")).templateFor(schema, templateManifest),
      onCreated: (from) => {
        created = true;
        onCreated?.(from);
      },
    });
    // An existing directory is made private again when closed: that covers what this process adds.
    if (created) await makePrivate(dataDir);
    return createPgliteDatabase(pglite, schema, {
      onClose: async () => {
        try {
          await pglite.close();
          await makePrivate(dataDir).catch(() => undefined);
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
