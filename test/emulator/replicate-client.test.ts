/** The official `replicate` npm client against the emulator over real HTTP. */
import Replicate from "replicate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, TRAINER_VERSION, decodePng, startEmulator } from "../support/emulator/index.js";

/** The client's ApiError is not exported at run time. */
type ApiErrorLike = { name: string; response: Response } | undefined;

let emu: Emulator;
let replicate: Replicate;
beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 200, processingMs: 200 }, prediction: { durationMs: 400 } });
  replicate = new Replicate({ auth: emu.token, baseUrl: emu.url });
});
afterAll(() => emu.close());

describe("official replicate client", () => {
  it("accounts, models, versions, webhook secret", async () => {
    expect(await replicate.accounts.current()).toMatchObject({ username: "alice", type: "user" });
    const model = await replicate.models.create("alice", "client-model", { visibility: "private", hardware: "gpu-h100" });
    expect(model).toMatchObject({ owner: "alice", name: "client-model", visibility: "private" });
    expect((await replicate.models.get("alice", "client-model")).latest_version).toBeNull();
    const version = await replicate.models.versions.get("ostris", "flux-dev-lora-trainer", TRAINER_VERSION);
    expect(version.id).toBe(TRAINER_VERSION);
    expect((await replicate.webhooks.default.secret.get()).key).toBe(emu.webhookSecret);
    const err = await replicate.models.get("alice", "missing").then(() => undefined, (e: unknown) => e as ApiErrorLike);
    expect(err?.name).toBe("ApiError");
    expect(err?.response.status).toBe(404);
  });

  it("trains, lists and paginates, then predicts with the new version", async () => {
    const training = await replicate.trainings.create("ostris", "flux-dev-lora-trainer", TRAINER_VERSION, {
      destination: "alice/client-model",
      input: { input_images: "https://example.com/u.zip", trigger_word: "userclient", steps: 50 },
    });
    expect(training.status).toBe("starting");
    let current = training;
    for (let i = 0; i < 100 && current.status !== "succeeded"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      current = await replicate.trainings.get(training.id);
    }
    expect(current.status).toBe("succeeded");
    const page = await replicate.trainings.list();
    expect(page.results.map((t) => t.id)).toContain(training.id);
    const pages: string[][] = [];
    for await (const results of replicate.paginate(() => replicate.trainings.list())) pages.push(results.map((t) => t.id));
    expect(pages.flat()).toContain(training.id);

    const versionRef = (current.output as { version: string }).version;
    const prediction = await replicate.predictions.create({
      version: versionRef.split(":")[1]!,
      input: { prompt: "a photo of userclient", num_outputs: 2, aspect_ratio: "3:4", output_format: "png", guidance: 2.8 },
      wait: 10,
    });
    expect(prediction.status).toBe("succeeded");
    expect(prediction.input).not.toHaveProperty("guidance");
    expect(emu.requestsTo("POST", "/v1/predictions").at(-1)?.headers.prefer).toBe("wait=10");
    const urls = prediction.output as string[];
    expect(urls).toHaveLength(2);
    const png = decodePng(Buffer.from(await (await fetch(urls[0]!)).arrayBuffer()));
    expect(JSON.parse(png.text.emulator!)).toMatchObject({ prediction: prediction.id, version: versionRef, index: 0 });
  });

  it("cancels a training and a prediction", async () => {
    const training = await replicate.trainings.create("ostris", "flux-dev-lora-trainer", TRAINER_VERSION, {
      destination: "alice/client-model",
      input: { input_images: "https://example.com/u.zip" },
    });
    expect((await replicate.trainings.cancel(training.id)).status).toBe("canceled");
    const versionId = emu.createVersion("alice/client-model");
    const prediction = await replicate.predictions.create({ version: versionId, input: { prompt: "x" } });
    expect((await replicate.predictions.cancel(prediction.id)).status).toBe("canceled");
  });

  it("sees 422 and 429 as ApiErrors", async () => {
    const versionId = emu.createVersion("alice/client-model");
    const invalid = await replicate.predictions.create({ version: versionId, input: { prompt: "x", num_outputs: 9 } }).then(() => undefined, (e: unknown) => e as ApiErrorLike);
    expect(invalid?.name).toBe("ApiError");
    expect(invalid?.response.status).toBe(422);
    emu.inject({ kind: "rate-limit", method: "GET", path: "/v1/account", retryAfterSeconds: 0, times: 10 });
    const limited = await replicate.accounts.current().then(() => undefined, (e: unknown) => e as ApiErrorLike);
    expect(limited?.response.status).toBe(429);
    // The client retries 429s itself, without waiting: several attempts reached the emulator.
    expect(emu.requestsTo("GET", "/v1/account").filter((r) => r.status === 429).length).toBeGreaterThan(1);
    emu.clearFaults();
  });
});
