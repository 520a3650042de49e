import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { cliBackend } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";

describe.skipIf(!TEST_DATABASE_URL)("twenty processes running init at once on one fresh database", () => {
  const backend = cliBackend("postgres");

  it("leave exactly one schema version and exactly one admin operator", async () => {
    const env = await backend.env();
    const results = await Promise.all(Array.from({ length: 20 }, () => runCli(["init", "--json"], { env, timeoutMs: 120_000 })));
    expect(results.map((r) => r.code)).toEqual(Array(20).fill(0));
    const created = results.filter((r) => r.json.operator !== null);
    expect(created).toHaveLength(1);
    expect(new Set(results.map((r) => r.json.schemaVersion)).size).toBe(1);

    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const s = env.SSELFIE_SCHEMA;
      const migrations = await client.query(`SELECT version FROM "${s}".migrations ORDER BY version`);
      const versions = migrations.rows.map((r) => r.version);
      expect(versions).toEqual([...new Set(versions)]);
      expect(versions.at(-1)).toBe(results[0]!.json.schemaVersion);
      const ops = await client.query(`SELECT name, scopes FROM "${s}".operators`);
      expect(ops.rows).toEqual([{ name: "admin", scopes: ["admin"] }]);
    } finally {
      await client.end();
    }
  });
});
