/**
 * Twenty `sselfie train` processes for one user, at once, against one PostgreSQL server: the
 * database's partial unique index lets exactly one through, and the others never reach Replicate.
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

const RACERS = 20;

describe.skipIf(!TEST_DATABASE_URL)("train race on PostgreSQL", () => {
  const backend = cliBackend("postgres");
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 600_000 } });
  });
  afterAll(() => emu.close());

  it(`${RACERS} processes racing to train one user start exactly one training`, { timeout: 180_000 }, async () => {
    const base = await backend.env();
    const admin = await initAndGetAdminToken(base);
    const env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
    const images = writeFiles(mkdtempSync(join(tmpdir(), "sselfie-race-")), goodImages(10, { mixed: true }));
    emu.clearRequests();

    const results = await Promise.all(
      Array.from({ length: RACERS }, () => runCli(["train", "--user", "racer", "--images", images, "--json"], { env, timeoutMs: 150_000 })),
    );

    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners, results.map((r) => `${r.code} ${r.stdout}${r.stderr}`).join("\n")).toHaveLength(1);
    expect(losers.map((r) => [r.code, r.json?.error?.code])).toEqual(Array(RACERS - 1).fill([4, "TRAINING_IN_PROGRESS"]));

    // Replicate saw one start and nothing from the nineteen others.
    expect(emu.trainings.size).toBe(1);
    expect(winners[0]!.json.trainingId).toBe([...emu.trainings.keys()][0]);
    expect(emu.requestsTo("POST", /\/trainings$/)).toHaveLength(1);
    expect(emu.requestsTo("POST", "/v1/files")).toHaveLength(1);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      ["GET /v1/models/alice/racer-selfie-lora", "POST /v1/models", "POST /v1/files", `POST ${emu.requestsTo("POST", /\/trainings$/)[0]!.path}`].sort(),
    );

    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      const s = `"${base.SSELFIE_SCHEMA}"`;
      const rows = (await client.query(`SELECT status, replicate_training_id FROM ${s}.trainings WHERE user_id = 'racer'`)).rows;
      expect(rows).toEqual([{ status: "training", replicate_training_id: winners[0]!.json.trainingId }]);
      const refused = (await client.query(`SELECT count(*)::int AS n FROM ${s}.operator_events WHERE action = 'train' AND outcome = 'refused'`)).rows[0].n;
      expect(refused).toBe(RACERS - 1);
    } finally {
      await client.end();
    }
  });
});
