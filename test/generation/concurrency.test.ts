/** 50 generations for 50 users at once from one process: each file comes from its own user's model. */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generate } from "../../src/generation/generate.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { emulatorTextOf, plantUser } from "./plant.js";

const USERS = 50;
let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator({ prediction: { durationMs: 300 } });
});
afterAll(async () => {
  await emulator.close();
});

forEachBackend((backend) => {
  it(`${USERS} users at once, all correct and isolated`, async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const ids = Array.from({ length: USERS }, (_, i) => `c${backend.kind}${i}`);
    const models = new Map<string, string>();
    for (const id of ids) models.set(id, (await plantUser(db, emulator, id)).ref);
    const root = tempDir("sselfie-conc-");
    emulator.clearRequests();

    const results = await Promise.all(
      ids.map((id, i) => generate(ctx, null, { userId: id, prompt: i % 2 ? `user${id} at the beach` : "studio portrait", outDir: join(root, id) })),
    );

    const posts = emulator.requestsTo("POST", "/v1/predictions").map((r) => r.body as { version: string; input: { prompt: string; seed: number } });
    expect(posts).toHaveLength(USERS);
    for (const body of posts) {
      // The trigger word in each prompt names the user whose model the request went to.
      const user = /^user(\S+?),? /.exec(body.input.prompt)![1]!;
      expect(body.version).toBe(models.get(user));
    }
    for (const [i, r] of results.entries()) {
      const id = ids[i]!;
      expect(r.userId).toBe(id);
      expect(r.version).toBe(models.get(id));
      expect(r.files).toHaveLength(3);
      expect(await readdir(join(root, id))).toHaveLength(3);
      for (const [index, file] of r.files.entries()) {
        expect(file.startsWith(join(root, id))).toBe(true);
        expect(emulatorTextOf(await readFile(file))).toEqual({ prediction: r.predictionId, seed: r.seed, index, version: models.get(id) });
      }
      expect(emulator.predictions.get(r.predictionId)!.versionRef).toBe(models.get(id));
    }
    const rows = (await db.query<{ user_id: string; version_ref: string; status: string; replicate_prediction_id: string }>(
      `SELECT user_id, version_ref, status, replicate_prediction_id FROM ${db.s}.generations`,
    )).rows;
    expect(rows).toHaveLength(USERS);
    for (const row of rows) {
      expect(row.status).toBe("succeeded");
      expect(row.version_ref).toBe(models.get(row.user_id));
      expect(results.find((r) => r.userId === row.user_id)!.predictionId).toBe(row.replicate_prediction_id);
    }
  });
});
