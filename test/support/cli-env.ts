/**
 * Environments for spawning the built CLI against each backend:
 *
 *   forEachCliBackend((backend) => {
 *     it("...", async () => {
 *       const env = await backend.env();            // SSELFIE_HOME (+ DATABASE_URL, SSELFIE_SCHEMA)
 *       const r = await runCli(["init", "--json"], { env });
 *     });
 *   });
 *
 * "embedded": a fresh SSELFIE_HOME holding a copy of the migrated PGlite template (no operator
 * yet). "postgres" (when TEST_DATABASE_URL is set): a fresh SSELFIE_HOME and a schema of its own
 * on the server, not yet migrated, dropped after the file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { runCli } from "./cli.js";
import type { Emulator } from "./emulator/index.js";
import { TEST_DATABASE_URL, testSchemaName } from "./databases.js";
import { copyPgliteTemplate } from "./pglite-template.js";

/**
 * Tests of other rules train on generated pictures without faces: the identity check is off unless
 * a test is about it (and overrides this with SSELFIE_IDENTITY_CHECK: "on").
 */
export const NO_FACE_CHECKS = { SSELFIE_IDENTITY_CHECK: "off" } as const;

export interface CliBackend {
  readonly kind: "embedded" | "postgres";
  /** A new, isolated environment; `migrated: false` leaves the embedded home empty. */
  env(opts?: { migrated?: boolean }): Promise<Record<string, string>>;
}

export function forEachCliBackend(define: (backend: CliBackend) => void): void {
  describe("embedded", () => define(cliBackend("embedded")));
  describe.skipIf(!TEST_DATABASE_URL)("postgres", () => define(cliBackend("postgres")));
}

export function cliBackend(kind: "embedded" | "postgres"): CliBackend {
  const homes: string[] = [];
  const schemas: string[] = [];
  afterAll(async () => {
    await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
    if (schemas.length && TEST_DATABASE_URL) {
      const pg = (await import("pg")).default;
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
      await client.end();
    }
  });
  return {
    kind,
    async env(opts = {}): Promise<Record<string, string>> {
      const home = await mkdtemp(join(tmpdir(), "sselfie-cli-"));
      homes.push(home);
      if (kind === "embedded") {
        if (opts.migrated !== false) await copyPgliteTemplate(home);
        return { SSELFIE_HOME: home, ...NO_FACE_CHECKS };
      }
      const schema = testSchemaName();
      schemas.push(schema);
      return { SSELFIE_HOME: home, DATABASE_URL: TEST_DATABASE_URL!, SSELFIE_SCHEMA: schema, ...NO_FACE_CHECKS };
    },
  };
}

/** Runs `init --json` and returns the admin token it printed. */
export async function initAndGetAdminToken(env: Record<string, string>): Promise<string> {
  const r = await runCli(["init", "--json"], { env });
  if (r.code !== 0 || !r.json?.operator?.token) {
    throw new Error(`init failed (${r.code}): ${r.stdout} ${r.stderr}`);
  }
  return r.json.operator.token as string;
}

/**
 * For a "postgres" CLI backend: an initialised environment with an admin token and Replicate set to
 * the emulator, plus a database handle on the same schema (close `pool` after the test).
 */
export async function serverCliSetup(backend: CliBackend, emu: { token: string; url: string; owner: string }) {
  const base = await backend.env();
  const admin = await initAndGetAdminToken(base);
  const env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
  const pg = (await import("pg")).default;
  const { createPgDatabase } = await import("../../src/db/pg.js");
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  const db = createPgDatabase(pool, base.SSELFIE_SCHEMA!, { ownsPool: false });
  return { env, db, pool };
}

/**
 * An initialised embedded environment for CLI tests of `generate`: an admin token, Replicate set to
 * the emulator, and user `userId` holding a completed model there (planted, not trained).
 */
export async function embeddedEnvWithModel(emu: Emulator, userId = "42"): Promise<Record<string, string>> {
  const base = await cliBackend("embedded").env();
  const token = await initAndGetAdminToken(base);
  const { openDatabase } = await import("../../src/db/connect.js");
  const { plantUser } = await import("../generation/plant.js");
  const db = await openDatabase({ home: base.SSELFIE_HOME!, schema: base.SSELFIE_SCHEMA });
  try {
    await plantUser(db, emu, userId);
  } finally {
    await db.close();
  }
  return { ...base, SSELFIE_TOKEN: token, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
}

/** Runs SQL (`:s` for the schema) on a CLI environment's database between CLI runs (the embedded one is free once the CLI exits). */
export async function cliSql(env: Record<string, string>, text: string): Promise<Record<string, unknown>[]> {
  const { openDatabase } = await import("../../src/db/connect.js");
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, home: env.SSELFIE_HOME!, schema: env.SSELFIE_SCHEMA });
  try {
    return (await db.query(text.replaceAll(":s", db.s))).rows;
  } finally {
    await db.close();
  }
}
