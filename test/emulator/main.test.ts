/**
 * `npm run emulator`: the standalone server prints its URL, token and owner, stops on SIGINT, and
 * its flags (--help) shape how trainings and predictions behave, driven here through the official
 * replicate client over real HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import Replicate from "replicate";
import { afterEach, describe, expect, it } from "vitest";
import { parseEmulatorCommandLine, parseFaultSpec, USAGE } from "../support/emulator/cli-options.js";
import { BASE_MODEL, BASE_MODEL_VERSION, TRAINER_VERSION } from "../support/emulator/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

/** Starts main.ts with `args`; resolves with its URL and everything it printed before serving. */
async function startStandalone(args: string[]): Promise<{ child: ChildProcess; url: string; out: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/emulator/main.ts", "--port", "0", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/v1)[\s\S]*Press Ctrl\+C/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
    setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 20_000);
  });
  return { child, url, out };
}

async function runStandalone(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/emulator/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stdout, stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startTraining(replicate: Replicate, name: string) {
  await replicate.models.create("alice", name, { visibility: "private", hardware: "gpu-h100" });
  const [owner, trainer] = ["ostris", "flux-dev-lora-trainer"];
  return replicate.trainings.create(owner, trainer, TRAINER_VERSION, {
    destination: `alice/${name}`,
    input: { input_images: "https://example.com/photos.zip" },
  });
}

it("serves with the given token and owner until SIGINT", async () => {
  const { child, url, out } = await startStandalone(["--token", "test-token-carol", "--owner", "carol"]);
  expect(out).toContain("REPLICATE_API_TOKEN=test-token-carol");
  expect(out).toContain("owner: carol");
  expect(out).toContain("trainings: succeeded after 1 s");
  const res = await fetch(`${url}/account`, { headers: { authorization: "Bearer test-token-carol" } });
  expect(await res.json()).toMatchObject({ username: "carol" });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGINT");
  expect(await exited).toBe(0);
  await expect(fetch(`${url}/account`)).rejects.toThrow();
});

describe("flags", () => {
  it("--help documents every flag, with examples", async () => {
    const { code, stdout } = await runStandalone(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toBe(USAGE);
    for (const flag of ["--port", "--token", "--owner", "--training-seconds", "--training-outcome", "--training-error", "--prediction-seconds", "--withhold-images", "--fail-next"]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain("Examples:");
  });

  it("refuses a bad flag with exit 2 and says where the help is", async () => {
    const { code, stderr } = await runStandalone(["--training-outcome", "maybe"]);
    expect(code).toBe(2);
    expect(stderr).toContain('--training-outcome must be one of succeeded, failed, canceled, aborted, running, got "maybe"');
    expect(stderr).toContain("npm run emulator -- --help");
  });

  it("--training-outcome running: the training processes past --training-seconds until it is canceled", async () => {
    const { url, out } = await startStandalone(["--training-seconds", "0.3", "--training-outcome", "running"]);
    expect(out).toContain("trainings: run until canceled");
    const replicate = new Replicate({ auth: "test-token-alice", baseUrl: url });
    const created = await startTraining(replicate, "forever");
    await sleep(1_500);
    const running = await replicate.trainings.get(created.id);
    expect(running.status).toBe("processing");
    expect(running.logs).toMatch(/flux_train_replicate: +99%/);
    await replicate.trainings.cancel(created.id);
    expect((await replicate.trainings.get(created.id)).status).toBe("canceled");
  });

  it("--training-seconds slows a training down; --training-outcome failed with --training-error ends it so", async () => {
    const { url } = await startStandalone(["--training-seconds", "2", "--training-outcome", "failed", "--training-error", "CUDA out of memory"]);
    const replicate = new Replicate({ auth: "test-token-alice", baseUrl: url });
    const created = await startTraining(replicate, "slow");
    await sleep(1_000);
    expect((await replicate.trainings.get(created.id)).status).toBe("processing");
    await sleep(2_000);
    const ended = await replicate.trainings.get(created.id);
    expect(ended.status).toBe("failed");
    expect(ended.error).toBe("CUDA out of memory");
  });

  it("--prediction-seconds, --withhold-images and --fail-next shape predictions", async () => {
    const { url, out } = await startStandalone(["--prediction-seconds", "1.5", "--withhold-images", "1", "--fail-next", "prediction-create=503x2"]);
    expect(out).toContain("next 2 requests to POST /predictions: HTTP 503");
    const headers = { authorization: "Bearer test-token-alice", "content-type": "application/json" };
    const input = { prompt: "a cat", num_outputs: 2, lora_weights: "https://example.com/lora.safetensors" };
    const body = JSON.stringify({ version: BASE_MODEL_VERSION, input });
    for (let i = 0; i < 2; i++) expect((await fetch(`${url}/predictions`, { method: "POST", headers, body })).status).toBe(503);
    const replicate = new Replicate({ auth: "test-token-alice", baseUrl: url });
    const prediction = await replicate.predictions.create({ version: BASE_MODEL_VERSION, input });
    await sleep(700);
    expect((await replicate.predictions.get(prediction.id)).status).toBe("processing");
    await sleep(1_300);
    const done = await replicate.predictions.get(prediction.id);
    expect(done.status).toBe("succeeded");
    expect(done.output).toHaveLength(1);
    expect(BASE_MODEL).toBe("black-forest-labs/flux-dev-lora");
  });
});

describe("parsing", () => {
  it("reads fault specs by name or METHOD /path, with a count", () => {
    expect(parseFaultSpec("training-get=rate-limit")).toEqual({ method: "GET", path: "/trainings/*", kind: "rate-limit", times: 1 });
    expect(parseFaultSpec("POST /files=dropx3")).toEqual({ method: "POST", path: "/files", kind: "drop", times: 3 });
    expect(parseFaultSpec("prediction-create=503x2")).toEqual({ method: "POST", path: "/predictions", kind: "status", status: 503, times: 2 });
    expect(parseFaultSpec("training-create=crash-after-create")).toMatchObject({ kind: "crash-after-create", path: "/models/*/*/versions/*/trainings" });
    expect(() => parseFaultSpec("nowhere=500")).toThrow(/target must be one of/);
    expect(() => parseFaultSpec("upload=200")).toThrow(/400-599/);
    expect(() => parseFaultSpec("upload=explode")).toThrow(/HTTP status, rate-limit, drop or crash-after-create/);
  });

  it("turns seconds into the emulator's options and refuses what makes no sense", () => {
    const cli = parseEmulatorCommandLine(["--training-seconds", "60", "--prediction-seconds", "0.5"]);
    expect(cli.options.training).toEqual({ processingMs: 60_000 });
    expect(cli.options.prediction).toEqual({ durationMs: 500 });
    expect(cli.trainingOutcome).toEqual({ status: "succeeded" });
    expect(() => parseEmulatorCommandLine(["--training-seconds=-1"])).toThrow(/--training-seconds must be a number of seconds/);
    expect(() => parseEmulatorCommandLine(["--training-error", "x"])).toThrow(/needs --training-outcome failed/);
    expect(() => parseEmulatorCommandLine(["--port", "70000"])).toThrow(/--port must be 0..65535/);
    expect(() => parseEmulatorCommandLine(["--bogus"])).toThrow(/bogus/);
  });
});
