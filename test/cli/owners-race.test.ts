/**
 * Twenty `sselfie train` processes for twenty new users, at once, against one PostgreSQL server,
 * with five free places among the owners: the database places exactly five, no owner goes past
 * its capacity, and the fifteen others are refused POOL_FULL without a single request to Replicate.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { goodImages, writeFiles } from "../support/images.js";
import { ACCOUNTS, TOKENS } from "../owners/owners-support.js";

const RACERS = 20;

describe.skipIf(!TEST_DATABASE_URL)("placement race on PostgreSQL", () => {
  const backend = cliBackend("postgres");
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ accounts: ACCOUNTS, training: { startingMs: 60_000, processingMs: 600_000 } });
  });
  afterAll(() => emu.close());

  it(`${RACERS} processes placing ${RACERS} new users into 5 free places place exactly 5`, { timeout: 240_000 }, async () => {
    const base = await backend.env();
    const admin = await initAndGetAdminToken(base);
    const env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, ...TOKENS };
    for (const [name, capacity] of [["bob", "2"], ["carol", "3"]] as const) {
      const r = await runCli(["owners", "add", name, "--token-env", `REPLICATE_TOKEN_${name.toUpperCase()}`, "--capacity", capacity, "--json"], { env });
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const images = writeFiles(mkdtempSync(join(tmpdir(), "sselfie-owners-race-")), goodImages(10, { mixed: true }));
    emu.clearRequests();

    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        runCli(["train", "--user", `racer${i}`, "--images", images, "--json"], { env, timeoutMs: 200_000 }),
      ),
    );

    const placed = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code !== 0);
    expect(placed, results.map((r) => `${r.code} ${r.stdout}${r.stderr}`).join("\n")).toHaveLength(5);
    expect(refused.map((r) => [r.code, r.json?.error?.code])).toEqual(Array(RACERS - 5).fill([4, "POOL_FULL"]));

    // Replicate saw the five placed users and nothing of the fifteen others, each with its owner's token.
    const owners = placed.map((r) => (r.json.modelId as string).split("/")[0]).sort();
    expect(owners).toEqual(["bob", "bob", "carol", "carol", "carol"]);
    expect(emu.trainings.size).toBe(5);
    expect(emu.requestsTo("POST", "/v1/files").map((r) => r.account).sort()).toEqual(owners);
    expect(emu.requestsTo("POST", "/v1/models").map((r) => r.account).sort()).toEqual(owners);
    const racersSeen = new Set(emu.requests.flatMap((r) => /racer\d+/.exec(JSON.stringify([r.path, r.body]))?.[0] ?? []));
    expect([...racersSeen].sort()).toEqual(placed.map((r) => r.json.userId).sort());

    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const s = `"${base.SSELFIE_SCHEMA}"`;
      const held = (await client.query(`SELECT owner, count(*)::int AS n FROM ${s}.user_models GROUP BY owner ORDER BY owner`)).rows;
      expect(held).toEqual([{ owner: "bob", n: 2 }, { owner: "carol", n: 3 }]);
      const counters = (await client.query(`SELECT name, used, capacity FROM ${s}.owners ORDER BY name`)).rows;
      expect(counters).toEqual([{ name: "bob", used: 2, capacity: 2 }, { name: "carol", used: 3, capacity: 3 }]);
      expect((await client.query(`SELECT count(*)::int AS n FROM ${s}.trainings`)).rows[0].n).toBe(5);
    } finally {
      await client.end();
    }
    const list = await runCli(["owners", "list", "--json"], { env });
    expect(list.json.owners.map((o: { name: string; used: number; free: number }) => [o.name, o.used, o.free])).toEqual([
      ["bob", 2, 0],
      ["carol", 3, 0],
    ]);
  });
});
