/**
 * `init` on a new home, the first thing every new user runs: the embedded database is unpacked
 * from the pre-built one in dist/ (its migrations were applied at build time, none now), the first
 * admin is created as ever, and the home is private.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { MIGRATIONS } from "../../src/db/migrations/index.js";
import { runCli } from "../support/cli.js";
import { cliBackend } from "../support/cli-env.js";

const backend = cliBackend("embedded");

it("init on a new home unpacks the pre-built database, creates the first admin once, and keeps the home private", async () => {
  const env = await backend.env({ migrated: false });
  const home = join(env.SSELFIE_HOME!, "new");
  const started = new Date();
  // As a new user reads it: the database is new ("ready"), though no migration ran now.
  const first = await runCli(["init"], { env: { ...env, SSELFIE_HOME: home }, timeoutMs: 120_000 });
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(`Database ready at schema version ${MIGRATIONS.at(-1)!.version}.`);
  expect(first.stdout).toContain('Created the first operator "admin" with scopes admin.');
  const token = /sselfie_[A-Za-z0-9]+/.exec(first.stdout)![0];

  const again = await runCli(["init", "--json"], { env: { ...env, SSELFIE_HOME: home } });
  expect(again.json).toEqual({ schemaVersion: MIGRATIONS.at(-1)!.version, operator: null });
  const list = await runCli(["operators", "list", "--json", "--token", token], { env: { ...env, SSELFIE_HOME: home } });
  expect(list.code).toBe(0);

  const db = await openDatabase({ home });
  try {
    const applied = await db.query<{ version: number; applied_at: Date }>(`SELECT version, applied_at FROM ${db.s}.migrations ORDER BY version`);
    expect(applied.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // Applied when the package was built, not by this init.
    for (const row of applied.rows) expect(new Date(row.applied_at).getTime()).toBeLessThan(started.getTime());
    const operators = await db.query(`SELECT name, scopes FROM ${db.s}.operators`);
    expect(operators.rows).toEqual([{ name: "admin", scopes: ["admin"] }]);
  } finally {
    await db.close();
  }

  const loose: string[] = [];
  const walk = (path: string) => {
    const info = lstatSync(path);
    if ((info.mode & 0o077) !== 0) loose.push(path);
    if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(home);
  expect(loose).toEqual([]);
});
