/**
 * What every resource shares: the use-cases' context (database and lazily opened Replicate
 * gateway) and the schema check every verb makes first. Internal: nothing here is exported by
 * src/index.ts; tests reach it through `sdkInternals` (test/support).
 */
import type { SselfieContext } from "../context.js";
import { isMissingTableError, migrate, schemaStatus, schemaStatusOf, type MigrateResult, type SchemaStatus } from "../db/migrate.js";
import type { Database } from "../db/types.js";
import { ConfigError, DatabaseError } from "../errors.js";

export class SdkCore {
  #ready: Promise<void> | undefined;

  constructor(readonly context: SselfieContext) {}

  get db(): Database {
    return this.context.db;
  }

  /**
   * Refuses with NOT_INITIALISED (or SCHEMA_TOO_NEW) unless the schema is fully migrated. Once a
   * check passed it is not repeated: a schema is never un-migrated under a running service.
   */
  ready(): Promise<void> {
    this.#ready ??= this.#checkSchema();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  /**
   * The schema check made in the same statement as a verb's first read, while it has not passed:
   * `combined` reads what the verb needs together with the versions the migrations table lists
   * (one round trip instead of two, on every command's path through authentication). A schema
   * with no migrations table makes `combined` fail: then the check alone says why (NOT_INITIALISED)
   * and `alone` reads. Once the check passed, `alone` is all there is.
   */
  async readyWith<T>(
    combined: (db: Database) => Promise<{ applied: readonly number[]; value: T }>,
    alone: (db: Database) => Promise<T>,
  ): Promise<T> {
    if (this.#ready) {
      await this.#ready;
      return alone(this.db);
    }
    let result: { applied: readonly number[]; value: T };
    try {
      result = await combined(this.db);
    } catch (err) {
      if (!isMissingTableError(err)) throw err;
      await this.ready();
      return alone(this.db);
    }
    this.#refuseUnlessCurrent(schemaStatusOf(result.applied));
    this.#ready ??= Promise.resolve();
    return result.value;
  }

  async migrate(): Promise<MigrateResult> {
    const result = await migrate(this.db);
    this.#ready = Promise.resolve();
    return result;
  }

  async #checkSchema(): Promise<void> {
    this.#refuseUnlessCurrent(await schemaStatus(this.db));
  }

  #refuseUnlessCurrent(status: SchemaStatus): void {
    const db = this.db;
    if (status.tooNew) {
      throw new DatabaseError(
        `The database schema "${db.schema}" is at version ${status.schemaVersion}, newer than this sselfie knows (${status.latestVersion}): upgrade sselfie.`,
        { current: status.schemaVersion, latest: status.latestVersion },
        "SCHEMA_TOO_NEW",
      );
    }
    if (status.pending.length > 0) {
      throw new ConfigError(
        status.schemaVersion === 0
          ? `The database has no sselfie schema "${db.schema}" yet: run \`sselfie init\` first.`
          : `The database schema is at version ${status.schemaVersion} but this sselfie needs ${status.latestVersion}: run \`sselfie init\`.`,
        { current: status.schemaVersion, latest: status.latestVersion },
        "NOT_INITIALISED",
      );
    }
  }
}

const cores = new WeakMap<object, SdkCore>();

/** Links an SDK object to its core (called once by createSselfie). */
export function attachCore(sselfie: object, core: SdkCore): void {
  cores.set(sselfie, core);
}

/** The context and database behind an SDK object: for sselfie's own tests, not a public API. */
export function sdkInternals(sselfie: object): SdkCore {
  const core = cores.get(sselfie);
  if (!core) throw new TypeError("not an object made by createSselfie");
  return core;
}
