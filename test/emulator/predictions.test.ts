import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BASE_MODEL, BASE_MODEL_VERSION, type Emulator, NSFW_ERROR, decodePng, startEmulator } from "../support/emulator/index.js";
import { call, createModel } from "./helpers.js";

let emu: Emulator;
let dest: string;
let versionId: string;
let ref: string;
beforeAll(async () => {
  emu = await startEmulator({ prediction: { durationMs: 150 }, outputTtlMs: 60_000 });
  dest = await createModel(emu, "u1-selfie-lora");
  versionId = emu.createVersion(dest);
  ref = `${dest}:${versionId}`;
});
afterAll(() => emu.close());
beforeEach(() => emu.withholdImages(0));

const LOCKED = { prompt: "a portrait of useru1", num_inference_steps: 35, num_outputs: 3, aspect_ratio: "3:4", output_format: "png", output_quality: 95, go_fast: false, disable_safety_checker: false, guidance_scale: 2.8, seed: 4242 };
const predict = (input: Record<string, unknown>, opts: { version?: string; prefer?: string; token?: string } = {}) =>
  call(emu, "POST", "/predictions", {
    body: { version: opts.version ?? ref, input },
    ...(opts.prefer ? { headers: { prefer: opts.prefer } } : {}),
    ...(opts.token ? { token: opts.token } : {}),
  });

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("image/png");
  return Buffer.from(await res.arrayBuffer());
}

describe("predictions", () => {
  it("without Prefer: 201 at once in the recorded short shape, still starting; then succeeds with PNG outputs", async () => {
    const res = await predict(LOCKED);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ status: "starting", model: dest, version: versionId, error: null, logs: "" });
    expect(Object.keys(res.json).sort()).toEqual(["created_at", "error", "id", "input", "logs", "model", "status", "urls", "version"]);
    expect(Object.keys(res.json.urls).sort()).toEqual(["cancel", "get"]);
    const read = await call(emu, "GET", res.json.urls.get);
    expect(read.json).toMatchObject({ output: null, data_removed: false });
    expect(Object.keys(read.json.urls).sort()).toEqual(["cancel", "get", "stream", "web"]);
    await new Promise((r) => setTimeout(r, 200));
    const done = await call(emu, "GET", `/predictions/${res.json.id}`);
    expect(done.json.status).toBe("succeeded");
    expect(done.json.output).toHaveLength(3);
    expect(done.json.logs).toMatch(/^Using seed: 4242\n/);
    expect(done.json.metrics.predict_time).toBeGreaterThan(0);
  });

  it("Prefer: wait answers 201 with the final output; wait=N answers 202 when N runs out", async () => {
    const waited = await predict(LOCKED, { prefer: "wait" });
    expect(waited.status).toBe(201);
    expect(waited.json.status).toBe("succeeded");
    const slow = await startEmulator({ prediction: { durationMs: 5_000 } });
    try {
      const d = await createModel(slow, "slow");
      const started = Date.now();
      const res = await call(slow, "POST", "/predictions", { body: { version: `${d}:${slow.createVersion(d)}`, input: { prompt: "x" } }, headers: { prefer: "wait=1" } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(res.status).toBe(202);
      expect(["starting", "processing"]).toContain(res.json.status);
    } finally {
      await slow.close();
    }
  });

  it("accepts a bare 64-hex version; refuses unknown, deleted or foreign private versions with 422", async () => {
    expect((await predict({ prompt: "x" }, { version: versionId })).status).toBe(201);
    for (const version of [`${dest}:${"0".repeat(64)}`, "0".repeat(64), dest, "nonsense"]) {
      const res = await predict({ prompt: "x" }, { version });
      expect(res.status, version).toBe(422);
      expect(res.contentType).toMatch(/problem\+json/);
    }
    const doomed = emu.createVersion(dest);
    emu.deleteVersion(dest, doomed);
    expect((await predict({ prompt: "x" }, { version: `${dest}:${doomed}` })).status).toBe(422);
    const two = await startEmulator({ accounts: [{ token: "test-token-alice", username: "alice" }, { token: "test-token-bob", username: "bob" }] });
    try {
      const d = await createModel(two, "private-one");
      const v = two.createVersion(d);
      const foreign = await call(two, "POST", "/predictions", { token: "test-token-bob", body: { version: `${d}:${v}`, input: { prompt: "x" } } });
      expect(foreign.status).toBe(422);
      expect(two.predictions.size).toBe(0);
    } finally {
      await two.close();
    }
  });

  it("rejects declared inputs out of range, off the enum or of the wrong type; requires prompt", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ num_outputs: 5 }, /input\.num_outputs: Must be less than or equal to 4/],
      [{ num_outputs: 0 }, /input\.num_outputs: Must be greater than or equal to 1/],
      [{ num_inference_steps: 51 }, /num_inference_steps/],
      [{ guidance_scale: 10.5 }, /guidance_scale/],
      [{ lora_scale: -2 }, /lora_scale/],
      [{ output_quality: 101 }, /output_quality/],
      [{ aspect_ratio: "5:7" }, /aspect_ratio must be one of the following: .*"3:4"/],
      [{ output_format: "gif" }, /output_format/],
      [{ seed: "12" }, /input\.seed: Invalid type. Expected: integer, given: string/],
      [{ seed: 1.5 }, /input\.seed: Invalid type/],
      [{ go_fast: "no" }, /go_fast/],
    ];
    for (const [input, detail] of cases) {
      const res = await predict({ prompt: "x", ...input });
      expect(res.status, JSON.stringify(input)).toBe(422);
      expect(res.json.detail).toMatch(detail);
      expect(res.json.invalid_fields[0].field).toMatch(/^input/);
    }
    const noPrompt = await predict({ seed: 1 });
    expect(noPrompt.status).toBe(422);
    expect(noPrompt.json.detail).toMatch(/prompt is required/);
  });

  it("silently drops undeclared input keys: guidance sent to a trained model is gone from the stored input", async () => {
    const res = await predict({ prompt: "x", guidance: 2.8, not_a_key: { deep: true } });
    expect(res.status).toBe(201);
    expect(res.json.input).toEqual({ prompt: "x" });
    expect(emu.predictions.get(res.json.id)?.input).toEqual({ prompt: "x" });
    const [recorded] = emu.requestsTo("POST", "/v1/predictions").slice(-1);
    expect(recorded?.body).toMatchObject({ input: { guidance: 2.8 } });
    // The base model declares `guidance` (and not guidance_scale).
    const base = await predict({ prompt: "x", guidance: 2.8, guidance_scale: 2.8, lora_weights: "https://x/y.safetensors" }, { version: `${BASE_MODEL}:${BASE_MODEL_VERSION}` });
    expect(base.json.input).toEqual({ prompt: "x", guidance: 2.8, lora_weights: "https://x/y.safetensors" });
  });

  it("serves real, distinct PNGs that name the prediction, seed, index and version", async () => {
    const a = (await predict(LOCKED, { prefer: "wait" })).json;
    const b = (await predict({ ...LOCKED, seed: 7 }, { prefer: "wait" })).json;
    const images = await Promise.all([...a.output, ...b.output].map(download));
    const decoded = images.map(decodePng);
    expect(decoded[0]).toMatchObject({ width: 6, height: 8 });
    expect(decoded[0]!.pixels).toHaveLength((6 * 3 + 1) * 8);
    const meta = decoded.map((d) => JSON.parse(d.text.emulator!));
    expect(meta.slice(0, 3)).toEqual([0, 1, 2].map((index) => ({ prediction: a.id, seed: 4242, index, version: ref })));
    expect(meta[3]).toEqual({ prediction: b.id, seed: 7, index: 0, version: ref });
    expect(new Set(decoded.map((d) => d.pixels.toString("hex"))).size).toBe(6);
    expect(a.output[0]).toMatch(new RegExp(`^${emu.origin}/delivery/${a.id}/out-0\\.png$`));
    const sameSeed = (await predict(LOCKED, { prefer: "wait" })).json;
    expect(decodePng(await download(sameSeed.output[1])).pixels.equals(decoded[1]!.pixels)).toBe(true);
    expect((await fetch(`${emu.origin}/delivery/${a.id}/out-9.png`)).status).toBe(404);
  });

  it("the safety checker withholds images; all withheld fails with the NSFW error", async () => {
    emu.withholdImages(1);
    const some = (await predict(LOCKED, { prefer: "wait" })).json;
    expect(some.status).toBe("succeeded");
    expect(some.output).toHaveLength(2);
    expect(some.output.map((u: string) => u.split("/").pop())).toEqual(["out-1.png", "out-2.png"]);
    expect(some.logs).toMatch(/NSFW content detected in image 0/);
    const unchecked = (await predict({ ...LOCKED, disable_safety_checker: true }, { prefer: "wait" })).json;
    expect(unchecked.output).toHaveLength(3);
    emu.withholdImages(3);
    const none = (await predict(LOCKED, { prefer: "wait" })).json;
    expect(none).toMatchObject({ status: "failed", error: NSFW_ERROR, output: null });
  });

  it("cancel stops a running prediction", async () => {
    const res = await predict(LOCKED);
    const canceled = await call(emu, "POST", `/predictions/${res.json.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.json).toMatchObject({ status: "canceled", output: null });
    await new Promise((r) => setTimeout(r, 200));
    expect((await call(emu, "GET", `/predictions/${res.json.id}`)).json.status).toBe("canceled");
  });

  it("after outputTtlMs: data_removed, input/output/logs gone, output URLs 404", async () => {
    const done = (await predict(LOCKED, { prefer: "wait" })).json;
    expect((await fetch(done.output[0])).status).toBe(200);
    emu.advance(59_000);
    expect((await call(emu, "GET", `/predictions/${done.id}`)).json.data_removed).toBe(false);
    emu.advance(1_000);
    const removed = (await call(emu, "GET", `/predictions/${done.id}`)).json;
    expect(removed).toMatchObject({ data_removed: true, input: {}, output: null, logs: "", status: "succeeded" });
    expect((await fetch(done.output[0])).status).toBe(404);
  });

  it("the stream URL sends the outputs as server-sent events", async () => {
    const res = await predict(LOCKED);
    const read = await call(emu, "GET", `/predictions/${res.json.id}`);
    const text = await (await fetch(read.json.urls.stream)).text();
    const outputs = [...text.matchAll(/^event: output\ndata: (.+)$/gm)].map((m) => m[1]);
    expect(outputs).toHaveLength(3);
    expect(text).toMatch(/event: done\n/);
  });
});
