/**
 * Every kind of emulator response body validates against Replicate's published OpenAPI schema.
 * Where the spec is stricter than the real API (nulls, see NULLABLE_IN_PRACTICE), the published
 * schema must fail on exactly those null fields and nothing else.
 */
import type { ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../support/emulator/index.js";
import { NULLABLE_IN_PRACTICE, SCHEMAS, errorsOf, validateProblem, validator } from "./contract.js";
import { call, createModel, createTraining, eventually } from "./helpers.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 100, processingMs: 300 }, prediction: { durationMs: 100 } });
});
afterAll(() => emu.close());

function expectValid(kind: keyof typeof SCHEMAS, body: unknown): void {
  const strict = validator(kind);
  if (strict(body)) return;
  // Only the documented null fields may fail the published schema.
  const schemaName = SCHEMAS[kind].split("/").pop()!;
  const allowed = NULLABLE_IN_PRACTICE[schemaName] ?? NULLABLE_IN_PRACTICE[listItemSchema(kind)] ?? [];
  for (const err of strict.errors ?? []) {
    const field = err.instancePath.split("/").pop()!;
    expect({ field, keyword: err.keyword, allowed: allowed.includes(field) }).toEqual({ field, keyword: "type", allowed: true });
    expect(valueAt(body, err.instancePath)).toBeNull();
  }
  const relaxed = validator(kind, { nullable: true });
  expect(relaxed(body), errorsOf(relaxed as ValidateFunction)).toBe(true);
}

function listItemSchema(kind: string): string {
  return kind === "trainingList" ? "schemas_training_response" : kind === "predictionList" ? "schemas_prediction_response" : "";
}

function valueAt(body: unknown, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<unknown>((v, key) => (v as Record<string, unknown>)?.[key], body);
}

function expectProblem(res: { status: number; contentType: string; json: unknown }, status: number): void {
  expect(res.status).toBe(status);
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  expect(validateProblem(res.json), JSON.stringify(res.json)).toBe(true);
  expect((res.json as { status: number }).status).toBe(status);
}

describe("contract with openapi.json", () => {
  it("the validators are not vacuous", () => {
    expect(validator("training")({ status: "queued" })).toBe(false);
    expect(validator("prediction")({ id: "x" })).toBe(false);
    expect(validator("file")({ id: "x" })).toBe(false);
    expect(validator("account")({ username: "a" })).toBe(false);
    expect(validator("model")({ visibility: "secret" })).toBe(false);
    expect(validator("training", { nullable: true })({ completed_at: 5 })).toBe(false);
    expect(validateProblem({ status: 404 })).toBe(false);
  });

  it("account, webhook secret, model, versions", async () => {
    expectValid("account", (await call(emu, "GET", "/account")).json);
    expectValid("webhookSecret", (await call(emu, "GET", "/webhooks/default/secret")).json);
    const created = await call(emu, "POST", "/models", { body: { owner: emu.owner, name: "contract-model", visibility: "private", hardware: "gpu-h100" } });
    expect(created.status).toBe(201);
    expectValid("model", created.json);
    const trainer = await call(emu, "GET", "/models/ostris/flux-dev-lora-trainer");
    expectValid("model", trainer.json);
    expect(trainer.json.latest_version).toMatchObject({ id: expect.any(String) });
    expectValid("version", (await call(emu, "GET", `/models/ostris/flux-dev-lora-trainer/versions/${trainer.json.latest_version.id}`)).json);
    expectValid("versionList", (await call(emu, "GET", "/models/ostris/flux-dev-lora-trainer/versions")).json);
  });

  it("trainings in every state, and the list", async () => {
    const dest = await createModel(emu, "contract-train");
    const created = await createTraining(emu, dest, { steps: 100 });
    expect(created.status).toBe(201);
    expectValid("training", created.json);
    const id = created.json.id;
    expectValid("training", (await call(emu, "GET", `/trainings/${id}`)).json);
    const processing = await eventually(async () => {
      const r = await call(emu, "GET", `/trainings/${id}`);
      return r.json.status === "processing" && r.json;
    });
    expectValid("training", processing);
    const done = await eventually(async () => {
      const r = await call(emu, "GET", `/trainings/${id}`);
      return r.json.status === "succeeded" && r.json;
    });
    expectValid("training", done);
    emu.setTrainingOutcome("failed", { error: "boom" });
    const failing = await createTraining(emu, dest);
    emu.finishTraining(failing.json.id, "failed");
    expectValid("training", (await call(emu, "GET", `/trainings/${failing.json.id}`)).json);
    emu.setTrainingOutcome("succeeded");
    const canceled = await createTraining(emu, dest);
    expectValid("training", (await call(emu, "POST", `/trainings/${canceled.json.id}/cancel`)).json);
    const aborted = await createTraining(emu, dest);
    emu.finishTraining(aborted.json.id, "aborted");
    expectValid("training", (await call(emu, "GET", `/trainings/${aborted.json.id}`)).json);
    expectValid("trainingList", (await call(emu, "GET", "/trainings")).json);
  });

  it("files", async () => {
    const form = new FormData();
    form.append("content", new Blob([Buffer.from("hello")], { type: "text/plain" }), "hello.txt");
    form.append("metadata", JSON.stringify({ user: "u1" }));
    const created = await call(emu, "POST", "/files", { body: form });
    expect(created.status).toBe(201);
    expectValid("file", created.json);
    expectValid("file", (await call(emu, "GET", `/files/${created.json.id}`)).json);
    expectValid("fileList", (await call(emu, "GET", "/files")).json);
    const missing = await call(emu, "GET", "/files/nope");
    expectProblem(missing, 404);
    expect(validator("fileNotFound")(missing.json)).toBe(true);
  });

  it("predictions in every state, and the list", async () => {
    const dest = await createModel(emu, "contract-predict");
    const versionRef = `${dest}:${emu.createVersion(dest)}`;
    // The create answer without Prefer has the recorded short shape (no output, no data_removed),
    // which the spec's `required` does not allow: cassette-replay.test.ts holds it to the recording.
    const created = await call(emu, "POST", "/predictions", { body: { version: versionRef, input: { prompt: "a photo of useru1" } } });
    expect(created.status).toBe(201);
    expectValid("prediction", (await call(emu, "GET", `/predictions/${created.json.id}`)).json);
    const waited = await call(emu, "POST", "/predictions", { body: { version: versionRef, input: { prompt: "x" } }, headers: { prefer: "wait" } });
    expect(waited.json.status).toBe("succeeded");
    expectValid("prediction", waited.json);
    const canceled = await call(emu, "POST", `/predictions/${created.json.id}/cancel`);
    expectValid("prediction", canceled.json);
    emu.withholdImages(4);
    const nsfw = await call(emu, "POST", "/predictions", { body: { version: versionRef, input: { prompt: "x" } }, headers: { prefer: "wait" } });
    emu.withholdImages(0);
    expect(nsfw.json.status).toBe("failed");
    expectValid("prediction", nsfw.json);
    emu.advance(3_600_000);
    const removed = await call(emu, "GET", `/predictions/${waited.json.id}`);
    expect(removed.json.data_removed).toBe(true);
    expectValid("prediction", removed.json);
    expectValid("predictionList", (await call(emu, "GET", "/predictions")).json);
  });

  it("error bodies are problem+json", async () => {
    expectProblem(await call(emu, "GET", "/account", { token: "wrong" }), 401);
    expectProblem(await call(emu, "GET", "/models/alice/nope"), 404);
    expectProblem(await call(emu, "POST", "/models", { body: { owner: emu.owner, name: "contract-model", visibility: "private", hardware: "cpu" } }), 409);
    expectProblem(await createTraining(emu, "alice/nope"), 404);
    const dest = `${emu.owner}/contract-model`;
    expectProblem(await call(emu, "POST", "/predictions", { body: { version: `${dest}:${emu.createVersion(dest)}`, input: { prompt: "x", num_outputs: 5 } } }), 422);
    emu.inject({ kind: "rate-limit", path: "/v1/account" });
    expectProblem(await call(emu, "GET", "/account"), 429);
  });
});
