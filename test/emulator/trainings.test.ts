import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TRAINER_VERSION as LOCKED_TRAINER_VERSION } from "../../src/locked.js";
import { DEFAULT_TRAINING_ERROR, type Emulator, TRAINER_VERSION, startEmulator } from "../support/emulator/index.js";
import { buildZip, goodImages, zipEntries } from "../support/images.js";
import { HEX64, TRAININGS_PATH, call, createModel, createTraining } from "./helpers.js";

const BAR = /^flux_train_replicate: +(\d+)%\|[█▏▎▍▌▋▊▉ ]{10}\| (\d+)\/(\d+) \[(\d\d:\d\d)<(\d\d:\d\d|\?), +([\d.]+|\?)it\/s(, lr: \d\.\de-\d\d loss: \d\.\de-\d\d)?\]$/;

let emu: Emulator;
beforeAll(async () => {
  // A long timeline that the tests move along with advance().
  emu = await startEmulator({ training: { startingMs: 10_000, processingMs: 100_000 } });
});
afterAll(() => emu.close());
beforeEach(() => emu.setTrainingOutcome("succeeded"));

const get = async (id: string) => (await call(emu, "GET", `/trainings/${id}`)).json;

describe("trainings", () => {
  it("hosts the trainer version sselfie locks", () => {
    expect(emu.models.get("ostris/flux-dev-lora-trainer")?.versions.has(LOCKED_TRAINER_VERSION)).toBe(true);
    expect(TRAINER_VERSION).toBe(LOCKED_TRAINER_VERSION);
  });

  it("follows starting -> processing -> succeeded on the emulator clock, with tqdm logs", async () => {
    const dest = await createModel(emu, "timeline");
    const created = await createTraining(emu, dest, { steps: 1000 });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ status: "starting", logs: "", error: null, model: "ostris/flux-dev-lora-trainer", version: TRAINER_VERSION });
    expect(created.json.urls.get).toBe(`${emu.url}/predictions/${created.json.id}`);
    expect(created.json.id).toMatch(/^[0-9a-z]{26}$/);
    expect(created.json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const id = created.json.id;

    let t = await get(id);
    expect(t).toMatchObject({ status: "starting", started_at: null, completed_at: null, output: null, logs: "" });
    expect(t.urls.get).toBe(`${emu.url}/trainings/${id}`);
    expect(t).not.toHaveProperty("destination");

    emu.advance(10_000 + 50_000);
    t = await get(id);
    expect(t.status).toBe("processing");
    expect(t.started_at).toMatch(/Z$/);
    const lines = t.logs.split("\n");
    expect(lines.some((l: string) => l.startsWith("Captioning:"))).toBe(true);
    expect(lines.some((l: string) => l.startsWith("Loading checkpoint shards:"))).toBe(true);
    const bars = lines.filter((l: string) => l.startsWith("flux_train_replicate:"));
    for (const bar of bars) expect(bar).toMatch(BAR);
    const last = BAR.exec(bars.at(-1)!)!;
    expect(Number(last[3])).toBe(1000);
    expect(Number(last[2])).toBeGreaterThan(300);
    expect(Number(last[2])).toBeLessThan(600);
    expect(Number(last[1])).toBe(Math.floor((Number(last[2]) * 100) / 1000));

    emu.advance(50_000);
    t = await get(id);
    expect(t.status).toBe("succeeded");
    expect(BAR.exec(t.logs.split("\n").filter((l: string) => l.startsWith("flux_train_replicate:")).at(-1))![2]).toBe("1000");
    expect(t.metrics.predict_time).toBeCloseTo(100, 0);
    expect(t.output.version).toMatch(new RegExp(`^${dest}:[0-9a-f]{64}$`));
    expect(t.output.weights).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*trained_model\.tar$/);
    expect((await fetch(t.output.weights)).status).toBe(200);
  });

  it("a success creates a version of the destination with the trained-model schema", async () => {
    const dest = await createModel(emu, "versioned");
    const created = await createTraining(emu, dest);
    emu.finishTraining(created.json.id, "succeeded");
    const t = await get(created.json.id);
    const versionId = t.output.version.split(":")[1];
    expect(versionId).toMatch(HEX64);
    const model = await call(emu, "GET", `/models/${dest}`);
    expect(model.json.latest_version.id).toBe(versionId);
    const version = await call(emu, "GET", `/models/${dest}/versions/${versionId}`);
    expect(version.status).toBe(200);
    const input = version.json.openapi_schema.components.schemas.Input;
    expect(input.required).toEqual(["prompt"]);
    expect(Object.keys(input.properties)).not.toContain("guidance");
    expect(input.properties.guidance_scale).toMatchObject({ type: "number", default: 3, minimum: 0, maximum: 10 });
    expect(input.properties.num_outputs).toMatchObject({ minimum: 1, maximum: 4 });
    const aspect = input.properties.aspect_ratio.allOf[0].$ref.split("/").pop();
    expect(version.json.openapi_schema.components.schemas[aspect].enum).toContain("3:4");
    expect(emu.trainings.get(created.json.id)?.createdVersionId).toBe(versionId);
  });

  it("a planned failure ends failed with an error; nothing is created", async () => {
    const dest = await createModel(emu, "failing");
    emu.setTrainingOutcome("failed", { error: "CUDA out of memory" });
    const created = await createTraining(emu, dest);
    emu.advance(110_000);
    const t = await get(created.json.id);
    expect(t).toMatchObject({ status: "failed", error: "CUDA out of memory", output: null });
    expect(emu.models.get(dest)?.versions.size).toBe(0);
    emu.setTrainingOutcome("failed");
    const other = await createTraining(emu, dest);
    emu.finishTraining(other.json.id, "failed");
    expect((await get(other.json.id)).error).toBe(DEFAULT_TRAINING_ERROR);
  });

  it("aborted never starts; canceled stops the bar where it was", async () => {
    const dest = await createModel(emu, "stopping");
    emu.setTrainingOutcome("aborted");
    const aborted = await createTraining(emu, dest);
    emu.advance(10_000);
    expect(await get(aborted.json.id)).toMatchObject({ status: "aborted", started_at: null, logs: "" });

    emu.setTrainingOutcome("succeeded");
    const running = await createTraining(emu, dest);
    emu.advance(10_000 + 30_000);
    const canceled = await call(emu, "POST", `/trainings/${running.json.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.json.status).toBe("canceled");
    emu.advance(100_000);
    const t = await get(running.json.id);
    expect(t.status).toBe("canceled");
    expect(t.output).toBeNull();
    const last = t.logs.split("\n").filter((l: string) => l.startsWith("flux_train_replicate:")).at(-1);
    expect(Number(BAR.exec(last)![2])).toBeLessThan(400);
  });

  it("a planned outcome can point output at another model", async () => {
    const dest = await createModel(emu, "asked");
    const other = await createModel(emu, "elsewhere");
    emu.setTrainingOutcome("succeeded", { outputVersionOf: other });
    const created = await createTraining(emu, dest);
    emu.finishTraining(created.json.id, "succeeded");
    expect((await get(created.json.id)).output.version).toMatch(new RegExp(`^${other}:`));
    expect(emu.models.get(dest)?.versions.size).toBe(0);
  });

  it("the create and cancel answers' urls point at /predictions, as recorded, but a training is not served there", async () => {
    const dest = await createModel(emu, "via-predictions");
    const created = await createTraining(emu, dest);
    const id = created.json.id;
    expect(created.json.urls).toEqual({ cancel: `${emu.url}/predictions/${id}/cancel`, get: `${emu.url}/predictions/${id}` });
    expect((await call(emu, "GET", created.json.urls.get)).status).toBe(404);
    expect((await call(emu, "POST", created.json.urls.cancel)).status).toBe(404);
    expect(emu.trainings.get(id)?.status).not.toBe("canceled");
    const canceled = await call(emu, "POST", `/trainings/${id}/cancel`);
    expect(canceled.json.status).toBe("canceled");
    expect(canceled.json.urls).toEqual({ cancel: `${emu.url}/predictions/${id}/cancel`, get: `${emu.url}/predictions/${id}` });
    expect((await call(emu, "GET", `/trainings/${id}`)).json.urls).toEqual({ cancel: `${emu.url}/trainings/${id}/cancel`, get: `${emu.url}/trainings/${id}` });
  });

  it("refuses a destination that is missing or belongs to someone else", async () => {
    const two = await startEmulator({ accounts: [{ token: "test-token-alice", username: "alice" }, { token: "test-token-bob", username: "bob" }] });
    try {
      two.createModel("bob/bobs-model", { visibility: "public" });
      for (const destination of ["alice/missing", "bob/bobs-model", "<invalid>", ""]) {
        const res = await createTraining(two, destination);
        expect(res.status).toBe(404);
        expect(res.contentType).toMatch(/^application\/problem\+json/);
        expect(res.json).toEqual({ detail: "The specified training destination does not exist", status: 404 });
      }
      expect(two.trainings.size).toBe(0);
    } finally {
      await two.close();
    }
  });

  it("validates the trainer input: input_images required, steps 3..6000; unknown keys dropped", async () => {
    const dest = await createModel(emu, "validated");
    const missing = await call(emu, "POST", TRAININGS_PATH, { body: { destination: dest, input: { steps: 100 } } });
    expect(missing.status).toBe(422);
    expect(missing.json.detail).toMatch(/input_images/);
    for (const steps of [2, 6001, 1.5, "100"]) {
      const res = await createTraining(emu, dest, { steps });
      expect(res.status, String(steps)).toBe(422);
      expect(res.json.detail).toMatch(/input\.steps/);
    }
    for (const steps of [3, 6000]) expect((await createTraining(emu, dest, { steps })).status).toBe(201);
    const extra = await createTraining(emu, dest, { steps: 3, sneaky: true });
    expect(extra.json.input).not.toHaveProperty("sneaky");
    expect(emu.trainings.get(extra.json.id)?.input).not.toHaveProperty("sneaky");
  });

  it("only the trainer's versions train", async () => {
    const dest = await createModel(emu, "not-trainable");
    const versionId = emu.createVersion(dest);
    const res = await call(emu, "POST", `/models/${dest}/versions/${versionId}/trainings`, { body: { destination: dest, input: { input_images: "https://x/y.zip" } } });
    expect(res.status).toBe(404);
    const wrongVersion = await call(emu, "POST", `/models/ostris/flux-dev-lora-trainer/versions/${"a".repeat(64)}/trainings`, { body: { destination: dest, input: { input_images: "https://x/y.zip" } } });
    expect(wrongVersion.status).toBe(404);
  });

  it("reads an uploaded zip: counts its images, and fails a training whose input is not a zip", async () => {
    const dest = await createModel(emu, "zips");
    const zip = buildZip(zipEntries(goodImages(11, { width: 8, height: 8 })));
    const upload = async (bytes: Buffer, name: string) => {
      const form = new FormData();
      form.append("content", new Blob([bytes], { type: "application/zip" }), name);
      return (await call(emu, "POST", "/files", { body: form })).json.urls.get as string;
    };
    const good = await createTraining(emu, dest, { input_images: await upload(zip, "ok.zip") });
    emu.advance(60_000);
    expect((await get(good.json.id)).logs).toMatch(/^Extracted 11 files/);
    const bad = await createTraining(emu, dest, { input_images: await upload(Buffer.from("not a zip"), "bad.zip") });
    emu.advance(110_000);
    expect(await get(bad.json.id)).toMatchObject({ status: "failed", error: expect.stringMatching(/zip/i) });
  });

  it("is private to the account that created it", async () => {
    const two = await startEmulator({ accounts: [{ token: "test-token-alice", username: "alice" }, { token: "test-token-bob", username: "bob" }] });
    try {
      const dest = await createModel(two, "mine");
      const created = await createTraining(two, dest);
      expect((await call(two, "GET", `/trainings/${created.json.id}`, { token: "test-token-bob" })).status).toBe(404);
      expect((await call(two, "POST", `/trainings/${created.json.id}/cancel`, { token: "test-token-bob" })).status).toBe(404);
      expect((await call(two, "GET", "/trainings", { token: "test-token-bob" })).json.results).toEqual([]);
    } finally {
      await two.close();
    }
  });
});

describe("GET /trainings", () => {
  it("pages 100 at a time, newest first, with absolute ?cursor= URLs and no destination", async () => {
    const own = await startEmulator();
    try {
      const dest = await createModel(own, "many");
      const ids: string[] = [];
      for (let i = 0; i < 205; i++) ids.push((await createTraining(own, dest, { trigger_word: `w${i}` })).json.id);
      const seen: string[] = [];
      let url: string | null = `${own.url}/trainings`;
      const pages: number[] = [];
      while (url) {
        const page: { json: { next: string | null; previous: string | null; results: Array<Record<string, unknown>> } } = await call(own, "GET", url);
        pages.push(page.json.results.length);
        for (const t of page.json.results) {
          expect(t).not.toHaveProperty("destination");
          seen.push(t.id as string);
        }
        if (page.json.next) expect(page.json.next).toMatch(new RegExp(`^${own.url}/trainings\\?cursor=.+`));
        url = page.json.next;
      }
      expect(pages).toEqual([100, 100, 5]);
      expect(seen).toEqual([...ids].reverse());
      const second = await call(own, "GET", (await call(own, "GET", "/trainings")).json.next);
      const back = await call(own, "GET", second.json.previous);
      expect(back.json.results.map((t: { id: string }) => t.id)).toEqual(seen.slice(0, 100));
      // A training created meanwhile does not shift the cursor's page.
      const nextUrl = (await call(own, "GET", "/trainings")).json.next;
      await createTraining(own, dest);
      expect((await call(own, "GET", nextUrl)).json.results[0].id).toBe(seen[100]);
      expect((await call(own, "GET", "/trainings?cursor=garbage")).status).toBe(400);
    } finally {
      await own.close();
    }
  });
});
