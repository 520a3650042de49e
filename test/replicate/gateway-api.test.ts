import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseTrainingProgress, parseVersionRef } from "../../src/replicate/index.js";
import { caught } from "../support/caught.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import { startEmulator } from "../support/emulator/index.js";
import type { Emulator } from "../support/emulator/types.js";
import { tempDir } from "../support/temp-dirs.js";
import { delay, gatewayFor, HEX64, trainingParams } from "./gateway-helpers.js";

let emu: Emulator;
emulatorForFile({ training: { startingMs: 50, processingMs: 400 }, prediction: { durationMs: 100 } }, (started) => {
  emu = started;
});
beforeEach(() => {
  emu.setTrainingOutcome("succeeded");
});

describe("account and models", () => {
  it("reads the account", async () => {
    expect(await gatewayFor(emu).getAccount()).toMatchObject({ username: emu.owner, type: "user" });
  });

  it("returns null for a missing model", async () => {
    expect(await gatewayFor(emu).getModel(emu.owner, "nope")).toBeNull();
  });

  it("ensurePrivateModel creates a private model once, then finds it", async () => {
    const gw = gatewayFor(emu);
    const first = await gw.ensurePrivateModel(emu.owner, "u1-selfie-lora");
    expect(first.created).toBe(true);
    expect(first.model).toMatchObject({ owner: emu.owner, name: "u1-selfie-lora", visibility: "private" });
    const [post] = emu.requestsTo("POST", "/v1/models");
    expect(post?.body).toEqual({ owner: emu.owner, name: "u1-selfie-lora", visibility: "private", hardware: "gpu-h100" });
    const second = await gw.ensurePrivateModel(emu.owner, "u1-selfie-lora");
    expect(second).toMatchObject({ created: false, model: { name: "u1-selfie-lora" } });
    expect(emu.requestsTo("POST", "/v1/models")).toHaveLength(1);
  });

  it("ensurePrivateModel run twice at once makes one model", async () => {
    const gw = gatewayFor(emu);
    const gw2 = gatewayFor(emu);
    const results = await Promise.all([gw.ensurePrivateModel(emu.owner, "race-model"), gw2.ensurePrivateModel(emu.owner, "race-model")]);
    expect(results.map((r) => r.model.name)).toEqual(["race-model", "race-model"]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect([...emu.models.keys()].filter((k) => k.endsWith("/race-model"))).toHaveLength(1);
  });

  it("ensurePrivateModel treats 'already exists' on create as success (another caller won)", async () => {
    emu.createModel(`${emu.owner}/taken`, { visibility: "private" });
    // The first look misses it, as if the other caller created it just after.
    emu.inject({ kind: "status", method: "GET", path: `/v1/models/${emu.owner}/taken`, status: 404, body: { detail: "Not found.", status: 404 } });
    const { model, created } = await gatewayFor(emu).ensurePrivateModel(emu.owner, "taken");
    expect(created).toBe(false);
    expect(model.name).toBe("taken");
    const [post] = emu.requestsTo("POST", "/v1/models");
    expect(post?.status).toBeGreaterThanOrEqual(400);
    expect(emu.requestsTo("GET", `/v1/models/${emu.owner}/taken`)).toHaveLength(2);
  });

  it("ensurePrivateModel returns an existing public model as it is, for the caller to refuse", async () => {
    emu.createModel(`${emu.owner}/public-one`, { visibility: "public" });
    const { model, created } = await gatewayFor(emu).ensurePrivateModel(emu.owner, "public-one");
    expect(created).toBe(false);
    expect(model.visibility).toBe("public");
    expect(emu.requestsTo("POST", "/v1/models")).toHaveLength(0);
  });

  it("refuses path-like names before any I/O", async () => {
    const err = await caught(gatewayFor(emu).getModel(emu.owner, "../account"));
    expect(err.name).toBe("InvalidInputError");
    expect(emu.requests).toHaveLength(0);
  });
});

describe("versions", () => {
  it("reads a version and its input schema; null for a missing one", async () => {
    const id = `${emu.owner}/schema-model`;
    emu.createModel(id, { visibility: "private" });
    const versionId = emu.createVersion(id, {
      inputSchema: { type: "object", properties: { prompt: { type: "string" }, guidance_scale: { type: "number", default: 3 } }, required: ["prompt"] },
    });
    const gw = gatewayFor(emu);
    const version = await gw.getVersion(emu.owner, "schema-model", versionId);
    expect(version?.id).toBe(versionId);
    const input = await gw.getVersionInputSchema(emu.owner, "schema-model", versionId);
    expect(Object.keys(input.properties).sort()).toEqual(["guidance_scale", "prompt"]);
    expect(await gw.getVersion(emu.owner, "schema-model", "b".repeat(64))).toBeNull();
    expect((await caught(gw.getVersionInputSchema(emu.owner, "schema-model", "b".repeat(64)))).code).toBe("REPLICATE_NOT_FOUND");
  });

  it("a version without an Input schema is a bad response", async () => {
    const id = `${emu.owner}/schemaless`;
    emu.createModel(id, { visibility: "private" });
    const versionId = emu.createVersion(id);
    emu.inject({
      kind: "status",
      method: "GET",
      path: `/v1/models/${id}/versions/${versionId}`,
      status: 200,
      body: { id: versionId, created_at: "2025-01-01T00:00:00Z", cog_version: "0.9", openapi_schema: { components: { schemas: {} } } },
    });
    const err = await caught(gatewayFor(emu).getVersionInputSchema(emu.owner, "schemaless", versionId));
    expect(err.code).toBe("REPLICATE_BAD_RESPONSE");
    expect(err.message).toMatch(/components\.schemas\.Input/);
  });
});

describe("files", () => {
  it("uploads a file from disk as multipart, byte for byte", async () => {
    const dir = tempDir("gw-upload-");
    const path = join(dir, "images.zip");
    const bytes = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
    writeFileSync(path, bytes);
    const file = await gatewayFor(emu).uploadFile(path, { filename: "u42.zip", contentType: "application/zip" });
    expect(file.size).toBe(bytes.length);
    expect(file.urls.get).toMatch(/^https?:\/\//);
    const stored = emu.fileBytesFromUrl(file.urls.get);
    expect(stored && createHash("sha256").update(stored).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
    const [post] = emu.requestsTo("POST", "/v1/files");
    expect(post?.body).toMatchObject({ files: expect.arrayContaining([expect.objectContaining({ name: "content", filename: "u42.zip", size: bytes.length })]) });
    expect(emu.files.get(file.id)?.contentType).toBe("application/zip");
  });
});

describe("trainings", () => {
  it("creates, follows to success, and reads progress and the output version", async () => {
    const dest = `${emu.owner}/train-ok`;
    emu.createModel(dest, { visibility: "private" });
    const gw = gatewayFor(emu);
    const created = await gw.createTraining({ ...trainingParams(dest), webhook: "https://hooks.invalid/hook", webhookEventsFilter: ["completed"] });
    const [post] = emu.requestsTo("POST", /\/trainings$/);
    expect(post?.body).toMatchObject({ destination: dest, webhook: "https://hooks.invalid/hook", webhook_events_filter: ["completed"] });
    let seenProgress = false;
    let training = created;
    for (let i = 0; i < 100 && training.status !== "succeeded"; i++) {
      await delay(30);
      training = await gw.getTraining(created.id);
      if (parseTrainingProgress(training.logs)) seenProgress = true;
    }
    expect(training.status).toBe("succeeded");
    expect(seenProgress).toBe(true);
    const ref = parseVersionRef(training.output!.version);
    expect(ref).toMatchObject({ owner: emu.owner, name: "train-ok" });
    expect(ref.versionId).toMatch(HEX64);
  });

  it("asks /trainings/{id} only: never the /predictions/{id} its create and cancel answers point at", async () => {
    const dest = `${emu.owner}/train-urls`;
    emu.createModel(dest, { visibility: "private" });
    const gw = gatewayFor(emu);
    const created = await gw.createTraining(trainingParams(dest));
    await gw.getTraining(created.id);
    const canceled = await gw.cancelTraining(created.id);
    expect(canceled.status).toBe("canceled");
    for await (const t of gw.listTrainings()) if (t.id === created.id) break;
    const asked = emu.requests.map((r) => `${r.method} ${r.path}`);
    expect(asked.filter((line) => line.includes(created.id))).toEqual([
      `GET /v1/trainings/${created.id}`,
      `POST /v1/trainings/${created.id}/cancel`,
    ]);
    expect(emu.requestsTo("*", /^\/v1\/predictions\//)).toEqual([]);
  });

  it("reports aborted as a terminal status", async () => {
    const dest = `${emu.owner}/train-aborted`;
    emu.createModel(dest, { visibility: "private" });
    const gw = gatewayFor(emu);
    const created = await gw.createTraining(trainingParams(dest));
    emu.finishTraining(created.id, "aborted");
    const training = await gw.getTraining(created.id);
    expect(training.status).toBe("aborted");
    expect(training.output).toBeNull();
  });

  it("a missing destination is REPLICATE_NOT_FOUND with Replicate's detail", async () => {
    const err = await caught(gatewayFor(emu).createTraining(trainingParams(`${emu.owner}/missing-dest`)));
    expect(err.code).toBe("REPLICATE_NOT_FOUND");
    expect(err.status).toBe(404);
    expect(err.detail).toBe("The specified training destination does not exist");
    expect(err.name).toBe("ReplicateError");
  });

  it("a succeeded training without output.version is a bad response", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/trainings/abc123", status: 200, body: { id: "abc123", status: "succeeded", output: null, input: {} } });
    const err = await caught(gatewayFor(emu).getTraining("abc123"));
    expect(err.code).toBe("REPLICATE_BAD_RESPONSE");
  });

  it("an unknown status is a bad response", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/trainings/abc124", status: 200, body: { id: "abc124", status: "queued" } });
    expect((await caught(gatewayFor(emu).getTraining("abc124"))).code).toBe("REPLICATE_BAD_RESPONSE");
  });
});

/** Lists everything at `path` after Replicate answers the first page with a next link to another host; the error the listing ends with. */
function listPastForeignNext(path: string, list: () => AsyncIterable<unknown>) {
  emu.inject({ kind: "status", method: "GET", path, status: 200, body: { next: `https://evil.example.com${path}?cursor=x`, previous: null, results: [] } });
  return caught((async () => {
    for await (const _ of list()) void _;
  })());
}

describe("listTrainings", () => {
  it("follows next cursors across more than 100 trainings", async () => {
    const own = await startEmulator({ accounts: [{ token: "test-token-pager", username: "pager" }] });
    try {
      own.createModel("pager/dest", { visibility: "private" });
      const gw = gatewayFor(own);
      const ids = new Set<string>();
      for (let i = 0; i < 230; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => gw.createTraining(trainingParams("pager/dest"))));
        for (const t of batch) ids.add(t.id);
      }
      own.clearRequests();
      const listed: string[] = [];
      for await (const t of gw.listTrainings()) listed.push(t.id);
      expect(listed).toHaveLength(230);
      expect(new Set(listed)).toEqual(ids);
      const pages = own.requestsTo("GET", "/v1/trainings");
      expect(pages).toHaveLength(3);
      expect(pages[0]?.query.cursor).toBeUndefined();
      expect(pages[1]?.query.cursor).toBeTruthy();
    } finally {
      await own.close();
    }
  });

  it("never follows a next link to another host with the token", async () => {
    const err = await listPastForeignNext("/v1/trainings", () => gatewayFor(emu).listTrainings());
    expect(err.code).toBe("REPLICATE_BAD_RESPONSE");
    expect(err.message).toMatch(/evil\.example\.com/);
  });
});

describe("listPredictions", () => {
  it("follows next cursors across more than 100 predictions, newest first, with their version and input", async () => {
    const own = await startEmulator({ accounts: [{ token: "test-token-lister", username: "lister" }], prediction: { durationMs: 50 } });
    try {
      own.createModel("lister/m", { visibility: "private" });
      const versionId = own.createVersion("lister/m");
      const gw = gatewayFor(own);
      const created: string[] = [];
      for (let i = 0; i < 230; i += 10) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, (_, j) => gw.createPrediction({ version: `lister/m:${versionId}`, input: { prompt: "a portrait", seed: i + j } })),
        );
        created.push(...batch.map((p) => p.id));
      }
      own.clearRequests();
      const listed: { id: string; version: string | null; model: string | null; seed: unknown }[] = [];
      for await (const p of gw.listPredictions()) listed.push({ id: p.id, version: p.version, model: p.model, seed: p.input.seed });
      expect(listed).toHaveLength(230);
      expect(new Set(listed.map((p) => p.id))).toEqual(new Set(created));
      // Newest first: batches were created in order of seed.
      expect(listed[0]!.seed).toBeGreaterThanOrEqual(220);
      expect(listed.at(-1)!.seed).toBeLessThan(10);
      expect(listed.every((p) => p.version === versionId && p.model === "lister/m")).toBe(true);
      const pages = own.requestsTo("GET", "/v1/predictions");
      expect(pages).toHaveLength(3);
      expect(pages[0]?.query.cursor).toBeUndefined();
      expect(pages[1]?.query.cursor).toBeTruthy();
      expect(pages[2]?.query.cursor).toBeTruthy();
      expect(pages[2]?.query.cursor).not.toBe(pages[1]?.query.cursor);

      // Stopping early reads no further page.
      own.clearRequests();
      let n = 0;
      for await (const _ of gw.listPredictions()) if (++n === 100) break;
      expect(own.requestsTo("GET", "/v1/predictions")).toHaveLength(1);
    } finally {
      await own.close();
    }
  });

  it("never follows a next link to another host with the token", async () => {
    const err = await listPastForeignNext("/v1/predictions", () => gatewayFor(emu).listPredictions());
    expect(err.code).toBe("REPLICATE_BAD_RESPONSE");
    expect(err.message).toMatch(/evil\.example\.com/);
    expect(emu.requestsTo("GET", "/v1/predictions")).toHaveLength(1);
  });
});

describe("predictions", () => {
  let versionRef: string;
  beforeAll(() => {
    const id = `${emu.owner}/predict-model`;
    emu.createModel(id, { visibility: "private" });
    versionRef = `${id}:${emu.createVersion(id)}`;
  });

  it("creates, then reads it succeeded with the output URLs", async () => {
    const gw = gatewayFor(emu, { sleep: undefined });
    const created = await gw.createPrediction({ version: versionRef, input: { prompt: "a portrait", num_outputs: 3 } });
    let done = created;
    for (let i = 0; i < 100 && done.status !== "succeeded"; i++) {
      await delay(30);
      done = await gw.getPrediction(created.id);
    }
    expect(done.status).toBe("succeeded");
    expect(done.output).toHaveLength(3);
    const [post] = emu.requestsTo("POST", "/v1/predictions");
    expect(post?.body).toMatchObject({ version: versionRef, input: { prompt: "a portrait" } });
    expect(post?.headers.prefer).toBeUndefined();
  });

  it("waitSeconds sends Prefer: wait=N", async () => {
    const gw = gatewayFor(emu);
    const p = await gw.createPrediction({ version: versionRef, input: { prompt: "x" }, waitSeconds: 30 });
    expect(p.status).toBe("succeeded");
    expect(emu.requestsTo("POST", "/v1/predictions")[0]?.headers.prefer).toBe("wait=30");
  });

  it("reads aborted as a status of its own, which the client's own wait() would not know", async () => {
    const gw = gatewayFor(emu);
    emu.inject({ kind: "status", method: "GET", path: "/v1/predictions/pabort", status: 200, body: { id: "pabort", status: "aborted", error: null } });
    const p = await gw.getPrediction("pabort");
    expect(p.status).toBe("aborted");
  });

  it("output that is not a list of URLs is a bad response", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/predictions/pbad", status: 200, body: { id: "pbad", status: "succeeded", output: "https://x/y.png" } });
    expect((await caught(gatewayFor(emu).getPrediction("pbad"))).code).toBe("REPLICATE_BAD_RESPONSE");
  });

  it("a 422 is REPLICATE_INVALID_INPUT with the detail", async () => {
    emu.inject({ kind: "status", method: "POST", path: "/v1/predictions", status: 422, body: { detail: "num_outputs must be <= 4", status: 422 } });
    const err = await caught(gatewayFor(emu).createPrediction({ version: versionRef, input: { prompt: "x", num_outputs: 9 } }));
    expect(err).toMatchObject({ code: "REPLICATE_INVALID_INPUT", status: 422, detail: "num_outputs must be <= 4" });
  });
});

describe("errors and secrets", () => {
  it("a bad token is REPLICATE_UNAUTHORIZED", async () => {
    const err = await caught(gatewayFor({ url: emu.url, token: "test-token-nobody" }).getAccount());
    expect(err).toMatchObject({ code: "REPLICATE_UNAUTHORIZED", status: 401 });
    expect(err.detail).toMatch(/authentication token/);
  });

  it("a 403 is REPLICATE_UNAUTHORIZED too", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 403, body: { detail: "Forbidden", status: 403 } });
    expect(await caught(gatewayFor(emu).getAccount())).toMatchObject({ code: "REPLICATE_UNAUTHORIZED", status: 403 });
  });

  it("reads the webhook signing secret", async () => {
    expect(await gatewayFor(emu).getWebhookSecret()).toBe(emu.webhookSecret);
  });

  it("a body that is not JSON is a bad response", async () => {
    emu.inject({ kind: "status", method: "GET", path: "/v1/account", status: 200, body: "<html>oops</html>", headers: { "content-type": "text/html" } });
    expect((await caught(gatewayFor(emu).getAccount())).code).toBe("REPLICATE_BAD_RESPONSE");
  });

  it("holds no more than maxConcurrency requests in flight", async () => {
    const gw = gatewayFor(emu, { maxConcurrency: 2 });
    emu.inject({ kind: "delay", method: "GET", path: "/v1/account", ms: 150, times: 6 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => gw.getAccount()));
    // Three waves of two, each held 150 ms by the emulator.
    expect(Date.now() - started).toBeGreaterThanOrEqual(440);
  });
});
