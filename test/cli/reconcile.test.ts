/**
 * `sselfie reconcile` as cron runs it: the built CLI, two processes at once against one
 * PostgreSQL server (each item worked once), exit 0 with the items that failed listed, exit 6
 * when the database cannot be reached.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReplicateGateway } from "../../src/replicate/index.js";
import { runCli } from "../support/cli.js";
import { cliBackend, serverCliSetup } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { plantRunningTraining } from "../reconcile/plant-work.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 600_000 } });
});
afterAll(() => emu.close());

it("exits 6 with DATABASE_UNREACHABLE-style JSON when the database cannot be reached", async () => {
  const r = await runCli(["reconcile", "--json"], {
    env: { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none", SSELFIE_TOKEN: "sselfie_x", REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url },
  });
  expect(r.code, r.stdout + r.stderr).toBe(6);
  expect(r.json.error.code).toEqual(expect.any(String));
});

describe.skipIf(!TEST_DATABASE_URL)("on PostgreSQL", () => {
  const backend = cliBackend("postgres");

  it("two processes at once work each unfinished training once; one that fails is listed, and both exit 0", { timeout: 120_000 }, async () => {
    const { env, db, pool } = await serverCliSetup(backend, emu);
    const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url });
    try {
      const planted = [];
      for (let i = 0; i < 30; i++) planted.push(await plantRunningTraining(db, emu, gateway, `cron${i}`));
      for (const p of planted.slice(0, 10)) emu.finishTraining(p.trainingId, "succeeded");
      const broken = planted[29]!;
      emu.inject({ kind: "status", method: "GET", path: `/v1/trainings/${broken.trainingId}`, status: 404, body: { detail: "Not found.", status: 404 } });
      emu.clearRequests();

      const runs = await Promise.all([0, 1].map(() => runCli(["reconcile", "--json"], { env, timeoutMs: 100_000 })));
      for (const r of runs) {
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(Object.keys(r.json)).toEqual(["trainings", "generations", "errors"]);
      }
      const [a, b] = runs.map((r) => r.json);
      expect(a.trainings.checked + b.trainings.checked).toBe(30);
      expect(a.trainings.changed + b.trainings.changed).toBe(10);
      expect([...a.errors, ...b.errors]).toEqual([expect.objectContaining({ kind: "training", id: broken.rowId, userId: "cron29" })]);
      // Each training was read once, by one of the two.
      for (const p of planted) expect(emu.requestsTo("GET", `/v1/trainings/${p.trainingId}`), p.trainingId).toHaveLength(1);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.user_models WHERE training_status = 'completed'`);
      expect(rows[0]!.n).toBe(10);
    } finally {
      await pool.end();
    }
  });
});
