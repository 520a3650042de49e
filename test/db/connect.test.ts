import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { embeddedDataDir, openDatabase } from "../../src/db/connect.js";
import { migrate } from "../../src/db/migrate.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { ConfigError, DatabaseError } from "../../src/errors.js";
import { TEST_DATABASE_URL } from "../support/databases.js";

const PASSWORD = "s3cret-Pa55word";

async function failure(promise: Promise<unknown>): Promise<ConfigError | DatabaseError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  const e = err as ConfigError | DatabaseError;
  // Whatever reaches a user (message, --json, details) never carries the password.
  expect(`${e.message} ${JSON.stringify(e.toJSON())}`).not.toContain(PASSWORD);
  return e;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("openDatabase", () => {
  it.each([
    ["not a url", `user:${PASSWORD}@localhost/db`],
    ["another scheme", `mysql://user:${PASSWORD}@localhost/db`],
    ["a broken host", `postgres://user:${PASSWORD}@[::1/db`],
  ])("refuses a malformed DATABASE_URL (%s) without printing it", async (_, databaseUrl) => {
    const err = await failure(openDatabase({ databaseUrl, home: "/nonexistent" }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe("DATABASE_URL_INVALID");
    expect(err.message).toContain("DATABASE_URL");
  });

  it("reports an unreachable server by host and port, without the password", async () => {
    const port = await closedPort();
    const started = Date.now();
    const err = await failure(openDatabase({ databaseUrl: `postgres://sselfie:${PASSWORD}@127.0.0.1:${port}/db`, home: "/nonexistent" }));
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err.code).toBe("DATABASE_UNREACHABLE");
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    for (const schema of ["Sselfie", "1abc", 'x"; DROP', "a-b", ""]) {
      const err = await failure(openDatabase({ home: "/nonexistent", schema }));
      expect(err.code, schema).toBe("DATABASE_SCHEMA_INVALID");
    }
  });

  it("creates the embedded database on first use by initdb when there is no pre-built one, leaving no draft behind, and reopens it", async () => {
    const home = await mkdtemp(join(tmpdir(), "sselfie-home-"));
    try {
      const db = await openDatabase({ home: join(home, "nested"), templateManifest: false });
      expect(db.kind).toBe("pglite");
      expect(db.schema).toBe("sselfie");
      expect(db.s).toBe('"sselfie"');
      expect(await migrate(db)).toEqual({ schemaVersion: MIGRATIONS.length, applied: MIGRATIONS.map((m) => m.version) });
      await db.query(`INSERT INTO ${db.s}.users (id) VALUES ('42')`);
      await db.close();
      await db.close();
      expect(readdirSync(join(home, "nested")).sort()).toEqual(["db"]);
      expect(existsSync(join(embeddedDataDir(join(home, "nested")), "PG_VERSION"))).toBe(true);

      const again = await openDatabase({ home: join(home, "nested"), lockTimeoutMs: 100 });
      expect((await again.query(`SELECT id FROM ${again.s}.users`)).rows).toEqual([{ id: "42" }]);
      // Not PostgreSQL's 128 MB, set up on every open (see EMBEDDED_SHARED_BUFFERS).
      expect((await again.query("SHOW shared_buffers")).rows).toEqual([{ shared_buffers: "16MB" }]);
      await again.close();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("refuses a data directory that is something else", async () => {
    const home = await mkdtemp(join(tmpdir(), "sselfie-home-"));
    try {
      const { mkdirSync, writeFileSync } = await import("node:fs");
      mkdirSync(embeddedDataDir(home));
      writeFileSync(join(embeddedDataDir(home), "notes.txt"), "mine");
      const err = await failure(openDatabase({ home }));
      expect(err.code).toBe("DATABASE_OPEN_FAILED");
      expect(existsSync(join(embeddedDataDir(home), "notes.txt"))).toBe(true);
      expect(existsSync(`${embeddedDataDir(home)}.lock`)).toBe(false);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  describe.skipIf(!TEST_DATABASE_URL)("with a server", () => {
    it("connects with a URL and ends its own pool on close", async () => {
      const db = await openDatabase({ databaseUrl: TEST_DATABASE_URL, home: "/nonexistent", schema: "sselfie_connect_test" });
      expect(db.kind).toBe("pg");
      expect(db.schema).toBe("sselfie_connect_test");
      expect((await db.query<{ n: number }>("SELECT 2::bigint AS n")).rows).toEqual([{ n: 2 }]);
      await db.close();
      await expect(db.query("SELECT 1")).rejects.toThrow();
    });

    it("uses a pool handed in and never ends it", async () => {
      const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
      try {
        const db = await openDatabase({ pool, home: "/nonexistent" });
        expect(db.kind).toBe("pg");
        await db.transaction(async (tx) => {
          await tx.query("SELECT 1");
        });
        await db.close();
        expect((await pool.query("SELECT 1 AS x")).rows).toEqual([{ x: 1 }]);
        // The caller's global parsers are untouched: int8 is still a string through the pool itself.
        expect((await pool.query("SELECT 3::bigint AS n")).rows).toEqual([{ n: "3" }]);
      } finally {
        await pool.end();
      }
    });

    it("reports a server that refuses the credentials without the password", async () => {
      const url = new URL(TEST_DATABASE_URL ?? "");
      url.username = "no_such_role_sselfie";
      url.password = PASSWORD;
      const err = await failure(openDatabase({ databaseUrl: url.toString(), home: "/nonexistent" }));
      expect(err).toBeInstanceOf(DatabaseError);
      expect(["DATABASE_CONNECT_FAILED"]).toContain(err.code);
    });
  });
});
