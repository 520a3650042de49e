import { createHash } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { beforeEach, expect, it } from "vitest";
import type { Database } from "../../src/db/types.js";
import { OutcomeError, ReplicateError, StateError, InvalidInputError } from "../../src/errors.js";
import { generate } from "../../src/generation/generate.js";
import { resolveUserModel } from "../../src/generation/resolve-model.js";
import { hashInput } from "../../src/locked.js";
import { caught } from "../support/caught.js";
import { makeContext } from "../support/context.js";
import { forEachBackend } from "../support/databases.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { trainedModelInputSchema, type Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { emulatorTextOf, plantUser } from "./plant.js";

let emulator: Emulator;
emulatorForFile({}, (started) => {
  emulator = started;
});
beforeEach(() => {
  emulator.withholdImages(0);
});

const outDir = () => tempDir("sselfie-gen-");
const predictionPosts = () => emulator.requestsTo("POST", "/v1/predictions");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

async function counts(db: Database) {
  const one = async (table: string) => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.${table}`)).rows[0]!.n);
  return { generations: await one("generations"), events: await one("operator_events"), schemas: await one("model_version_schemas") };
}

async function events(db: Database) {
  return (await db.query<{ operator: string | null; action: string; user_id: string; outcome: string; details: Record<string, unknown> }>(
    `SELECT operator, action, user_id, outcome, details FROM ${db.s}.operator_events ORDER BY id`,
  )).rows;
}

forEachBackend((backend) => {
  it("sends exactly the locked input to the user's own version and records the generation", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "42");
    const dir = outDir();

    const result = await generate(ctx, "studio", { userId: "42", prompt: "  user42 in a sunlit studio ", seed: 1234, outDir: dir });

    const posts = predictionPosts();
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]!.body)).toBe(
      `{"input":{"aspect_ratio":"3:4","disable_safety_checker":false,"go_fast":false,"guidance_scale":2.8,` +
        `"num_inference_steps":35,"num_outputs":3,"output_format":"png","output_quality":95,` +
        `"prompt":"user42 in a sunlit studio","seed":1234},"version":"${emulator.owner}/42-selfie-lora:${m.versionId}"}`,
    );
    // No `Prefer: wait`: the prediction id comes back (and is stored) at once.
    expect(posts[0]!.headers.prefer).toBeUndefined();
    expect(emulator.requestsTo("GET", `/v1/models/${m.modelId}/versions/${m.versionId}`)).toHaveLength(1);

    const prediction = emulator.predictions.get(result.predictionId)!;
    expect(prediction.versionRef).toBe(m.ref);
    expect(result).toMatchObject({
      userId: "42",
      version: m.ref,
      seed: 1234,
      prompt: "user42 in a sunlit studio",
      promptChanged: true,
      triggerWordAdded: false,
      guidanceKey: "guidance_scale",
      withheld: 0,
      failedDownloads: [],
    });
    expect(result.files).toEqual([0, 1, 2].map((i) => join(dir, `${result.predictionId}-${i}.png`)));
    expect(result.files.every((f) => isAbsolute(f))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual([0, 1, 2].map((i) => `${result.predictionId}-${i}.png`));

    const row = (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations`)).rows[0]!;
    const sentInput = (posts[0]!.body as { input: Record<string, unknown> }).input;
    expect(row).toMatchObject({
      user_id: "42",
      version_ref: m.ref,
      prompt: "user42 in a sunlit studio",
      input: sentInput,
      input_hash: hashInput(sentInput),
      seed: 1234,
      status: "succeeded",
      replicate_prediction_id: result.predictionId,
      operator: "studio",
      error: null,
    });
    expect(row.predict_time).toBeGreaterThan(0);
    expect(row.finished_at).toBeInstanceOf(Date);
    for (const [i, file] of result.files.entries()) {
      const bytes = await readFile(file);
      expect(emulatorTextOf(bytes)).toEqual({ prediction: result.predictionId, seed: 1234, index: i, version: m.ref });
      expect(row.outputs[i]).toEqual({ url: prediction.images[i]!.url, file, size: bytes.length, sha256: sha256(bytes) });
    }
    // No token goes to the delivery host.
    for (const r of emulator.requestsTo("GET", /^\/delivery\//)) expect(r.headers.authorization).toBeUndefined();

    expect(await events(db)).toEqual([
      {
        operator: "studio",
        action: "generate",
        user_id: "42",
        outcome: "ok",
        details: expect.objectContaining({ generationId: row.id, predictionId: result.predictionId, version: m.ref, seed: 1234, files: 3, withheld: 0 }),
      },
    ]);
    const cached = (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.model_version_schemas`)).rows;
    expect(cached).toHaveLength(1);
    expect(cached[0]).toMatchObject({ version_id: m.versionId, model_id: m.modelId });
  });

  it("adds the trigger word, draws a random seed, reads the schema once and never overwrites earlier files", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "u-7");
    const dir = outDir();
    const first = await generate(ctx, null, { userId: "u-7", prompt: "portrait, soft light", outDir: dir });
    const second = await generate(ctx, null, { userId: "u-7", prompt: "portrait, soft light", outDir: dir });

    expect(first).toMatchObject({ prompt: "useru-7, portrait, soft light", triggerWordAdded: true, promptChanged: true });
    for (const r of [first, second]) {
      expect(Number.isInteger(r.seed) && r.seed >= 0 && r.seed <= 999_999).toBe(true);
    }
    const bodies = predictionPosts().map((r) => r.body as { input: { seed: number; prompt: string }; version: string });
    expect(bodies.map((b) => b.input.seed)).toEqual([first.seed, second.seed]);
    expect(bodies.every((b) => b.version === m.ref && b.input.prompt === "useru-7, portrait, soft light")).toBe(true);
    expect(emulator.requestsTo("GET", /\/versions\//)).toHaveLength(1);
    expect((await readdir(dir)).length).toBe(6);
    expect(new Set([...first.files, ...second.files]).size).toBe(6);
  });

  it("sends guidance 2.8 under `guidance` where that is the name the version declares", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const schema = trainedModelInputSchema() as { properties: Record<string, unknown> };
    const { guidance_scale, ...rest } = schema.properties;
    const m = await plantUser(db, emulator, "g1", { inputSchema: { ...schema, properties: { ...rest, guidance: guidance_scale } } });
    await generate(ctx, null, { userId: "g1", prompt: "userg1", seed: 5, outDir: outDir() });
    const body = predictionPosts()[0]!.body as { input: Record<string, unknown>; version: string };
    expect(body.version).toBe(m.ref);
    expect(body.input.guidance).toBe(2.8);
    expect(Object.keys(body.input)).not.toContain("guidance_scale");
  });

  it("uses the last completed version while a retraining runs or after it failed", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "r1", { trainingStatus: "training" });
    const r = await generate(ctx, null, { userId: "r1", prompt: "userr1", outDir: outDir() });
    expect(r.version).toBe(m.ref);
    await db.query(`UPDATE ${db.s}.user_models SET training_status = 'failed', error = 'boom' WHERE user_id = 'r1'`);
    expect((await generate(ctx, null, { userId: "r1", prompt: "userr1", outDir: outDir() })).version).toBe(m.ref);
  });

  type Refusal = {
    name: string;
    plant: (db: Database) => Promise<unknown>;
    owner?: string;
    code: string;
    status?: string;
    /** Requests that may reach the emulator (never a prediction). */
    requests: RegExp | null;
  };
  const refusals: Refusal[] = [
    { name: "no model", plant: async () => undefined, code: "MODEL_NOT_FOUND", requests: null },
    {
      name: "a first training still running",
      plant: (db) => plantUser(db, emulator, "x1", { withVersion: false, trainingStatus: "training" }),
      code: "MODEL_NOT_READY",
      status: "training",
      requests: null,
    },
    {
      name: "a first training failed",
      plant: (db) => plantUser(db, emulator, "x1", { withVersion: false, trainingStatus: "failed", error: "bad images" }),
      code: "MODEL_NOT_READY",
      status: "failed",
      requests: null,
    },
    {
      name: "a first training canceled",
      plant: (db) => plantUser(db, emulator, "x1", { withVersion: false, trainingStatus: "canceled" }),
      code: "MODEL_NOT_READY",
      status: "canceled",
      requests: null,
    },
    {
      name: "a stored model of another owner",
      plant: (db) => plantUser(db, emulator, "x1"),
      owner: "someone-else",
      code: "INTEGRITY_VIOLATION",
      requests: null,
    },
    {
      name: "a malformed stored version",
      plant: async (db) => {
        await plantUser(db, emulator, "x1");
        // Simulates a store damaged behind the database's back: the CHECK constraint is gone.
        await db.query(`ALTER TABLE ${db.s}.user_models DROP CONSTRAINT user_models_replicate_version_id_check`);
        await db.query(`UPDATE ${db.s}.user_models SET replicate_version_id = 'latest' WHERE user_id = 'x1'`);
      },
      code: "INTEGRITY_VIOLATION",
      requests: null,
    },
    {
      name: "a version that is not under the user's own model at Replicate",
      plant: async (db) => {
        const m = await plantUser(db, emulator, "x1");
        emulator.deleteVersion(m.modelId, m.versionId);
      },
      code: "INTEGRITY_VIOLATION",
      requests: /\/versions\//,
    },
    {
      name: "a version cached as another model's",
      plant: async (db) => {
        const m = await plantUser(db, emulator, "x1");
        await db.query(`INSERT INTO ${db.s}.model_version_schemas (version_id, model_id, input_schema) VALUES ($1, $2, '{}')`, [
          m.versionId,
          `${emulator.owner}/x2-selfie-lora`,
        ]);
      },
      code: "INTEGRITY_VIOLATION",
      requests: null,
    },
    {
      name: "a version without any guidance input",
      plant: (db) => {
        const schema = trainedModelInputSchema() as { properties: Record<string, unknown> };
        const { guidance_scale: _g, ...properties } = schema.properties;
        return plantUser(db, emulator, "x1", { inputSchema: { ...schema, properties } });
      },
      code: "LOCKED_INPUT_UNSUPPORTED",
      requests: /\/versions\//,
    },
    {
      name: "a version that does not declare disable_safety_checker",
      plant: (db) => {
        const schema = trainedModelInputSchema() as { properties: Record<string, unknown> };
        const { disable_safety_checker: _d, ...properties } = schema.properties;
        return plantUser(db, emulator, "x1", { inputSchema: { ...schema, properties } });
      },
      code: "LOCKED_INPUT_UNSUPPORTED",
      requests: /\/versions\//,
    },
    {
      name: "a version whose range excludes 35 steps",
      plant: (db) => {
        const schema = trainedModelInputSchema() as { properties: Record<string, Record<string, unknown>> };
        const properties = { ...schema.properties, num_inference_steps: { type: "integer", minimum: 1, maximum: 30 } };
        return plantUser(db, emulator, "x1", { inputSchema: { ...schema, properties } });
      },
      code: "LOCKED_INPUT_UNSUPPORTED",
      requests: /\/versions\//,
    },
  ];

  for (const r of refusals) {
    it(`refuses ${r.name} with ${r.code}, reaching no prediction and writing only the refusal event`, async () => {
      const db = await backend.freshDatabase();
      const ctx = makeContext(db, emulator, r.owner ? { owner: r.owner } : {});
      await r.plant(db);
      const before = await counts(db);
      emulator.clearRequests();

      const err = await caught(generate(ctx, "studio", { userId: "x1", prompt: "userx1 portrait", outDir: outDir() }));
      expect(err).toBeInstanceOf(StateError);
      expect(err.code).toBe(r.code);
      if (r.status) expect(err.details.status).toBe(r.status);
      expect(err.message).toMatch(/sselfie (train|status|audit)/);

      expect(predictionPosts()).toHaveLength(0);
      const reached = emulator.requests.map((q) => q.path);
      if (r.requests === null) expect(reached).toEqual([]);
      else expect(reached.every((p) => r.requests!.test(p))).toBe(true);
      expect(await counts(db)).toEqual({ ...before, events: before.events + 1 });
      expect((await events(db)).at(-1)).toEqual({
        operator: "studio",
        action: "generate",
        user_id: "x1",
        outcome: "refused",
        details: expect.objectContaining({ code: r.code, message: err.message }),
      });
    });
  }

  it("refuses invalid input before any I/O: no request, no row, no event", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "42");
    const before = await counts(db);
    emulator.clearRequests();
    const cases: [Record<string, unknown>, string][] = [
      [{ userId: "42", prompt: "user42 with user7" }, "INVALID_PROMPT"],
      [{ userId: "42", prompt: "" }, "INVALID_PROMPT"],
      [{ userId: "42", prompt: "a\nb" }, "INVALID_PROMPT"],
      [{ userId: "42", prompt: "ok", seed: 1_000_000 }, "INVALID_INPUT"],
      [{ userId: "42", prompt: "ok", seed: -1 }, "INVALID_INPUT"],
      [{ userId: "Not Valid", prompt: "ok" }, "INVALID_INPUT"],
    ];
    for (const [opts, code] of cases) {
      const err = await caught(generate(ctx, null, { outDir: "/tmp/never", ...opts } as never));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.code).toBe(code);
    }
    expect(emulator.requests).toEqual([]);
    expect(await counts(db)).toEqual(before);
  });

  it("refuses a folder it cannot write before creating anything", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "o1");
    const file = join(outDir(), "a-file");
    await writeFile(file, "x");
    const err = await caught(generate(ctx, null, { userId: "o1", prompt: "usero1", outDir: join(file, "sub") }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.code).toBe("OUTPUT_DIR_UNWRITABLE");
    expect(predictionPosts()).toHaveLength(0);
    expect((await counts(db)).generations).toBe(0);
  });

  it("reports images withheld by the safety checker, and none at all as an error", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "w1");
    emulator.withholdImages(1);
    const r = await generate(ctx, null, { userId: "w1", prompt: "userw1", outDir: outDir() });
    expect(r.files).toHaveLength(2);
    expect(r.withheld).toBe(1);

    emulator.withholdImages(3);
    const err = await caught(generate(ctx, null, { userId: "w1", prompt: "userw1", outDir: outDir() }));
    expect(err).toBeInstanceOf(OutcomeError);
    expect(err.code).toBe("ALL_IMAGES_WITHHELD");
    const rows = (await db.query<Record<string, any>>(`SELECT status, error, outputs FROM ${db.s}.generations ORDER BY id`)).rows;
    expect(rows[1]).toMatchObject({ status: "failed", error: expect.stringMatching(/NSFW/), outputs: null });
    expect((await events(db)).map((e) => e.outcome)).toEqual(["ok", "failed"]);
  });

  it("retries a failed download and keeps the others and the record when one still fails", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "d1");
    const fast = { download: { sleep: async () => undefined } };

    emulator.inject({ kind: "status", method: "GET", path: /\/delivery\/.*\/out-1\.png$/, status: 503, times: 1 });
    emulator.inject({ kind: "drop", method: "GET", path: /\/delivery\/.*\/out-2\.png$/, times: 1 });
    const ok = await generate(ctx, null, { userId: "d1", prompt: "userd1", outDir: outDir(), ...fast });
    expect(ok.files).toHaveLength(3);
    expect(emulator.requestsTo("GET", /\/delivery\//)).toHaveLength(5);

    emulator.clearRequests();
    // A 200 that is not a PNG, three times: verified, retried, then reported.
    emulator.inject({ kind: "status", method: "GET", path: /\/delivery\/.*\/out-0\.png$/, status: 200, body: "<html>not a png</html>", times: 3 });
    const dir = outDir();
    const partial = await generate(ctx, null, { userId: "d1", prompt: "userd1", outDir: dir, ...fast });
    expect(partial.files).toEqual([1, 2].map((i) => join(dir, `${partial.predictionId}-${i}.png`)));
    expect(partial.failedDownloads).toEqual([{ index: 0, url: expect.stringContaining("/out-0.png"), error: expect.stringMatching(/not a complete PNG/) }]);
    expect(emulator.requestsTo("GET", /\/out-0\.png$/)).toHaveLength(3);
    expect((await readdir(dir)).sort()).toEqual([1, 2].map((i) => `${partial.predictionId}-${i}.png`));
    const row = (await db.query<Record<string, any>>(`SELECT status, outputs FROM ${db.s}.generations WHERE replicate_prediction_id = $1`, [partial.predictionId])).rows[0]!;
    expect(row.status).toBe("succeeded");
    expect(row.outputs[0]).toMatchObject({ file: null, size: null, sha256: null, error: expect.stringMatching(/PNG/) });
    expect(row.outputs[1].file).toBe(partial.files[0]);
    expect((await events(db)).at(-1)).toMatchObject({ outcome: "failed", details: expect.objectContaining({ code: "DOWNLOAD_INCOMPLETE" }) });

    // An expired output (404) is not retried.
    emulator.clearRequests();
    emulator.inject({ kind: "status", method: "GET", path: /\/delivery\/.*\/out-2\.png$/, status: 404, times: 5 });
    const expired = await generate(ctx, null, { userId: "d1", prompt: "userd1", outDir: outDir(), ...fast });
    expect(expired.failedDownloads).toEqual([{ index: 2, url: expect.any(String), error: expect.stringMatching(/HTTP 404/) }]);
    expect(emulator.requestsTo("GET", /\/out-2\.png$/)).toHaveLength(1);
    emulator.clearFaults();
  });

  it("never repeats a create whose outcome is unknown; records `unknown` and recovers it from the prediction", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "u1");
    emulator.inject({ kind: "crash-after-create", method: "POST", path: "/v1/predictions" });
    // The immediate look for the prediction fails too, so the record stays `unknown`.
    emulator.inject({ kind: "status", method: "GET", path: "/v1/predictions", status: 400, body: { detail: "Bad request", status: 400 } });
    const err = await caught(generate(ctx, "studio", { userId: "u1", prompt: "useru1", seed: 77, outDir: outDir() }));
    expect(err).toBeInstanceOf(ReplicateError);
    expect(err.code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(err.message).toMatch(/recorded with status "unknown"/);
    expect(err.message).toContain(`seed 77`);
    expect(err.details.lookup).toMatch(/could not be listed/);
    expect(predictionPosts()).toHaveLength(1);
    const created = [...emulator.predictions.values()].filter((p) => p.versionRef === m.ref);
    expect(created).toHaveLength(1);

    const row = (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations`)).rows[0]!;
    expect(row).toMatchObject({ status: "unknown", replicate_prediction_id: null, seed: 77 });
    expect(err.details.generationId).toBe(row.id);

    // What a webhook (or a later look) delivers attaches the prediction to its record.
    const { applyPredictionUpdate } = await import("../../src/generation/apply-prediction.js");
    let prediction = await ctx.gateway.getPrediction(created[0]!.id);
    for (let i = 0; i < 200 && prediction.status !== "succeeded"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      prediction = await ctx.gateway.getPrediction(created[0]!.id);
    }
    expect(await applyPredictionUpdate(ctx, prediction)).toBe(true);
    const attached = (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations`)).rows[0]!;
    expect(attached).toMatchObject({ status: "succeeded", replicate_prediction_id: created[0]!.id });
    expect(attached.outputs).toHaveLength(3);
    expect(attached.outputs[0].file).toBeNull();

    const { recoverGeneration } = await import("../../src/generation/recover.js");
    const dir = outDir();
    const recovered = await recoverGeneration(ctx, "studio", { generationId: row.id, outDir: dir });
    expect(recovered.files).toEqual([0, 1, 2].map((i) => join(dir, `${created[0]!.id}-${i}.png`)));
    expect(predictionPosts()).toHaveLength(1);
  });

  it("records a create Replicate refused as failed, without retrying it", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    await plantUser(db, emulator, "f1");
    emulator.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 422, body: { detail: "- input.seed: bad", status: 422 } });
    const err = await caught(generate(ctx, null, { userId: "f1", prompt: "userf1", outDir: outDir() }));
    expect(err.code).toBe("REPLICATE_INVALID_INPUT");
    expect(predictionPosts()).toHaveLength(1);
    const row = (await db.query<Record<string, any>>(`SELECT status, error, finished_at FROM ${db.s}.generations`)).rows[0]!;
    expect(row).toMatchObject({ status: "failed", error: expect.stringMatching(/422/) });

    emulator.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 503 });
    expect((await caught(generate(ctx, null, { userId: "f1", prompt: "userf1", outDir: outDir() }))).code).toBe("REPLICATE_OUTCOME_UNKNOWN");
    expect(predictionPosts()).toHaveLength(2);
  });

  it("downloads nothing when Replicate says the prediction ran another model", async () => {
    const db = await backend.freshDatabase();
    const ctx = makeContext(db, emulator);
    const m = await plantUser(db, emulator, "v1");
    const other = "f".repeat(64);
    emulator.inject({
      kind: "status",
      method: "POST",
      path: "/v1/predictions",
      status: 201,
      body: { id: "forgedprediction1", status: "succeeded", model: `${emulator.owner}/v2-selfie-lora`, version: other, input: {}, output: [`${emulator.origin}/delivery/x/out-0.png`] },
    });
    const dir = outDir();
    const err = await caught(generate(ctx, null, { userId: "v1", prompt: "userv1", outDir: dir }));
    expect(err).toBeInstanceOf(StateError);
    expect(err.code).toBe("INTEGRITY_VIOLATION");
    expect(await readdir(dir)).toEqual([]);
    expect(emulator.requestsTo("GET", /\/delivery\//)).toHaveLength(0);
    const row = (await db.query<Record<string, any>>(`SELECT * FROM ${db.s}.generations`)).rows[0]!;
    expect(row).toMatchObject({ version_ref: m.ref, replicate_prediction_id: "forgedprediction1" });
    expect((await events(db)).at(-1)).toMatchObject({ outcome: "failed", details: expect.objectContaining({ code: "INTEGRITY_VIOLATION" }) });
  });

  it("resolveUserModel returns only the user's own reference and records an integrity violation", async () => {
    const db = await backend.freshDatabase();
    const m = await plantUser(db, emulator, "42");
    await expect(resolveUserModel(makeContext(db, emulator), "42")).resolves.toEqual({
      userId: "42",
      owner: emulator.owner,
      modelId: m.modelId,
      versionId: m.versionId,
      ref: m.ref,
      trainingStatus: "completed",
    });
    const err = await caught(resolveUserModel(makeContext(db, emulator, { owner: "mallory" }), "42", { actor: "ops" }));
    expect(err.code).toBe("INTEGRITY_VIOLATION");
    expect(await events(db)).toEqual([
      { operator: "ops", action: "model.resolve", user_id: "42", outcome: "refused", details: expect.objectContaining({ code: "INTEGRITY_VIOLATION" }) },
    ]);
    expect((await caught(resolveUserModel(makeContext(db, emulator), "nobody"))).code).toBe("MODEL_NOT_FOUND");
    expect(emulator.requests).toEqual([]);
  });
});
