/**
 * `sselfie audit` as CI runs it: the built binary, exit codes, the JSON document, SARIF, text.
 * Data is written straight into the CLI's database between runs (the CLI holds it only while it
 * runs).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import type { Database } from "../../src/db/types.js";
import { createReplicateGateway } from "../../src/replicate/index.js";
import { cleanRows, insertRows, trainedAtEmulator } from "../audit/fixtures.js";
import { runCli } from "../support/cli.js";
import { sarifProblems } from "../support/sarif.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

async function withDatabase(env: Record<string, string>, fn: (db: Database) => Promise<void>): Promise<void> {
  const db = await openDatabase({ home: env.SSELFIE_HOME!, databaseUrl: env.DATABASE_URL, schema: env.SSELFIE_SCHEMA });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

forEachCliBackend((backend) => {
  async function setup() {
    const env = await backend.env();
    const admin = await initAndGetAdminToken(env);
    const created = await runCli(["operators", "create", "--name", "ci", "--scopes", "read", "--json", "--token", admin], { env });
    expect(created.code).toBe(0);
    return { env: { ...env, SSELFIE_TOKEN: created.json.token as string, REPLICATE_OWNER: "alice" } };
  }

  it("exit 0 with the JSON document on clean data; exit 1 with the finding once something is planted", async () => {
    const { env } = await setup();
    await withDatabase(env, (db) => insertRows(db, cleanRows("alice", 20).rows));

    const clean = await runCli(["audit", "--all", "--json"], { env });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.json).toMatchObject({ ok: true, checked: { users: 20 }, violations: [] });
    const asFormat = await runCli(["audit", "--format", "json"], { env });
    expect(asFormat.code).toBe(0);
    expect(asFormat.json).toMatchObject({ ok: true, checked: { users: 20 }, violations: [] });
    expect(asFormat.stderr).toBe("");
    const text = await runCli(["audit"], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Compliant: 20 users/);

    await withDatabase(env, async (db) => {
      await db.query(`UPDATE ${db.s}.trainings SET trainer_version = 'someone/else:' || repeat('a', 64) WHERE user_id = 'u1'`);
    });
    const dirty = await runCli(["audit", "--all", "--json"], { env });
    expect(dirty.code).toBe(1);
    expect(dirty.json.ok).toBe(false);
    expect(dirty.json.violations).toEqual([
      expect.objectContaining({ rule: "training.trainer", userId: "u1", message: expect.stringContaining("someone/else") }),
      expect.objectContaining({ rule: "training.trainer", userId: "u1" }),
    ]);
    expect(dirty.json.counts).toEqual({ "training.trainer": 2 });

    const sarif = await runCli(["audit", "--format", "sarif"], { env });
    expect(sarif.code).toBe(1);
    expect(sarif.json.version).toBe("2.1.0");
    expect(sarif.json.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(["training.trainer", "training.trainer"]);
    expect(sarif.json.runs[0].tool.driver.rules.length).toBeGreaterThan(15);
    expect(sarifProblems(sarif.json)).toEqual([]);

    const human = await runCli(["audit", "--no-color"], { env });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/2 violations/);
    expect(human.stdout).toMatch(/training\.trainer \(2\)/);
    expect(human.stdout).toMatch(/fix: Retrain the user/);

    const one = await runCli(["audit", "--user", "u2", "--json"], { env });
    expect(one.code).toBe(0);
    expect(one.json.checked.users).toBe(1);
  });

  it("usage errors are exit 2, a missing token exit 3, an unknown user exit 4, --remote without a Replicate token exit 6", async () => {
    const { env } = await setup();
    await withDatabase(env, (db) => insertRows(db, cleanRows("alice", 3).rows));
    const both = await runCli(["audit", "--user", "u1", "--all", "--json"], { env });
    expect(both.code).toBe(2);
    expect(both.json.error.code).toBe("INVALID_INPUT");
    expect((await runCli(["audit", "--user", "../u1", "--json"], { env })).code).toBe(2);
    expect((await runCli(["audit", "--format", "xml", "--json"], { env })).code).toBe(2);
    const noToken = await runCli(["audit", "--json"], { env: { ...env, SSELFIE_TOKEN: undefined } });
    expect(noToken.code).toBe(3);
    const unknown = await runCli(["audit", "--user", "nobody", "--json"], { env });
    expect(unknown.code).toBe(4);
    expect(unknown.json.error.code).toBe("USER_NOT_FOUND");
    const remote = await runCli(["audit", "--remote", "--json"], { env });
    expect(remote.code).toBe(6);
    expect(remote.json.error.code).toBe("MISSING_REPLICATE_TOKEN");
  });

  it("without REPLICATE_OWNER or a Replicate token, checks against the owner found in the data and says so", async () => {
    const { env } = await setup();
    await withDatabase(env, (db) => insertRows(db, cleanRows("alice", 5).rows));
    const r = await runCli(["audit", "--json"], { env: { ...env, REPLICATE_OWNER: undefined } });
    expect(r.code).toBe(0);
    expect(r.json.owner).toMatchObject({ name: "alice", source: "inferred" });
    const text = await runCli(["audit"], { env: { ...env, REPLICATE_OWNER: undefined } });
    expect(text.stdout).toMatch(/owner "alice", the owner of most models/);
  });

  it("--remote checks at Replicate: exit 0 when the models are as recorded, 1 when one was made public", async () => {
    const { env } = await setup();
    const remoteEnv = { ...env, REPLICATE_OWNER: undefined, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url };
    const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url });
    const prefix = `cli${backend.kind}${Date.now() % 100000}`;
    const users: string[] = [];
    await withDatabase(env, async (db) => {
      for (const i of [1, 2]) users.push((await trainedAtEmulator(db, emu, gateway, `${prefix}-${i}`)).modelId);
    });
    const clean = await runCli(["audit", "--remote", "--json"], { env: remoteEnv });
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.json.checked).toMatchObject({ users: 2, remoteModels: 2 });
    emu.models.get(users[0]!)!.visibility = "public";
    const dirty = await runCli(["audit", "--remote", "--json"], { env: remoteEnv });
    expect(dirty.code).toBe(1);
    expect(dirty.json.violations).toEqual([expect.objectContaining({ rule: "remote.model-public", userId: `${prefix}-1` })]);
  });
});
