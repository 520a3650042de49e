/** The `Database` over embedded PGlite. PGlite is imported on first open, even when this module is bundled eagerly. */
import { access, mkdir, readdir, rename, rm } from "node:fs/promises";
import type { PGlite, Results } from "@electric-sql/pglite";
import { DatabaseError } from "../errors.js";
import type { UsableTemplate } from "./embedded-template.js";
import { unpackDataDir } from "./unpack-data-dir.js";
import { quoteIdent, type Database, type QueryResult, type Transaction } from "./types.js";

type Runner = Pick<PGlite, "query" | "exec">;

async function run<R>(db: Runner, sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
  const result: Results<R> = await db.query<R>(sql, params ? [...params] : []);
  // PGlite reports 0 affected rows for a SELECT; pg reports the rows returned.
  return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
}

export function createPgliteDatabase(pglite: PGlite, schema: string, opts: { onClose?: () => Promise<void> } = {}): Database {
  let closing: Promise<void> | undefined;
  return {
    kind: "pglite",
    schema,
    s: quoteIdent(schema),
    query: (sql, params) => run(pglite, sql, params),
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      return pglite.transaction((t) =>
        fn({
          query: (sql, params) => run(t, sql, params),
          exec: async (sql) => {
            await t.exec(sql);
          },
        }),
      );
    },
    close() {
      closing ??= opts.onClose ? opts.onClose() : Promise.resolve();
      return closing;
    },
  };
}

/**
 * PostgreSQL's default 128 MB of shared buffers, which PGlite keeps, is set up (allocated and
 * written) on every open: 0.4 s and 110 MiB of each command's start, measured, for a database
 * that one short-lived process reads. 16 MB holds a command's working set; the rest of the data
 * stays in the operating system's file cache, where a server's would be.
 */
export const EMBEDDED_SHARED_BUFFERS = "16MB";

async function openPglite(PGlite: typeof import("@electric-sql/pglite").PGlite, dir: string): Promise<PGlite> {
  return PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`] });
}

/** How a missing data directory was made: unpacked from the package's pre-built database, or by initdb. */
export type CreatedFrom = "template" | "initdb";

export interface OpenPgliteOptions {
  /** Finds the pre-built data directory (a gzipped tar) to make a missing directory from; see embedded-template.ts. */
  template?: () => Promise<UsableTemplate | undefined>;
  /** Told when the directory did not exist and was made. */
  onCreated?: (from: CreatedFrom) => void;
}

/**
 * Opens the PGlite data directory `dir`, creating it if it does not exist: from `template` when
 * given (unpacking it takes well under a second), else, or when PGlite cannot open what it
 * unpacked, by initdb. A new directory is built beside it and renamed into place only once
 * complete, so a process killed during creation leaves no half-made database behind. The caller
 * must hold the directory's lock.
 */
export async function openPgliteDirectory(dir: string, opts: OpenPgliteOptions = {}): Promise<PGlite> {
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    if (!(await isDatabaseDir(dir))) {
      const template = await opts.template?.();
      const made = template ? await openFromTemplate(PGlite, dir, template) : undefined;
      if (made) {
        opts.onCreated?.("template");
        return made;
      }
      await createDatabaseDir(PGlite, dir);
      opts.onCreated?.("initdb");
    }
    return await openPglite(PGlite, dir);
  } catch (err) {
    if (err instanceof DatabaseError) throw err;
    throw new DatabaseError(
      `Could not open the embedded database at ${dir}: ${err instanceof Error ? err.message : String(err)}`,
      { dataDir: dir },
      "DATABASE_OPEN_FAILED",
      err,
    );
  }
}

/** Unpacks the template into place and opens it; undefined (and nothing left behind) when that fails. */
async function openFromTemplate(
  PGlite: typeof import("@electric-sql/pglite").PGlite,
  dir: string,
  template: UsableTemplate,
): Promise<PGlite | undefined> {
  const draft = `${dir}.creating`;
  await rm(draft, { recursive: true, force: true });
  try {
    await unpackDataDir(template.tarball, draft);
    if (template.otherSchema !== null) {
      // A home for another schema: the template's own goes before the directory is in place.
      const pg = await openPglite(PGlite, draft);
      try {
        await pg.exec(`DROP SCHEMA ${quoteIdent(template.otherSchema)} CASCADE`);
      } finally {
        await pg.close();
      }
    }
  } catch {
    await rm(draft, { recursive: true, force: true });
    return undefined;
  }
  await rm(dir, { recursive: true, force: true }); // at most an empty directory, checked by the caller
  await rename(draft, dir);
  try {
    return await openPglite(PGlite, dir);
  } catch {
    // Made by a PGlite whose files this one cannot read: make it the slow way instead.
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

async function isDatabaseDir(dir: string): Promise<boolean> {
  if (await exists(`${dir}/PG_VERSION`)) return true;
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new DatabaseError(
      `${dir} exists but is not an embedded sselfie database; move it away or set SSELFIE_HOME to another directory.`,
      { dataDir: dir },
      "DATABASE_OPEN_FAILED",
    );
  }
  return false;
}

async function createDatabaseDir(PGlite: typeof import("@electric-sql/pglite").PGlite, dir: string): Promise<void> {
  const draft = `${dir}.creating`;
  await rm(draft, { recursive: true, force: true });
  await mkdir(draft, { mode: 0o700 });
  const fresh = await openPglite(PGlite, draft);
  await fresh.close();
  await rm(dir, { recursive: true, force: true }); // at most an empty directory, checked above
  await rename(draft, dir);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
