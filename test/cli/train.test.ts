/**
 * `sselfie train`, `status` and `cancel` as users run them: the built binary against the
 * Replicate emulator, exit codes and the contract's JSON documents.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it, vi } from "vitest";
import { runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { goodImages, makeGif, writeFiles } from "../support/images.js";

// Each test runs the CLI five to ten times, and every `train` prepares ten photos (decoded and
// encoded again): on a loaded 2-core machine that exceeds the default 60 s.
vi.setConfig({ testTimeout: 150_000 });

const TRAIN_KEYS = ["dataset", "modelId", "status", "trainingId", "triggerWord", "userId"];
const DATASET_KEYS = ["converted", "count", "metadataRemoved", "resized", "rotated", "zipBytes"];
const STATUS_KEYS = ["error", "modelId", "progress", "status", "trainingId", "userId", "versionId"];

let emu: Emulator;
beforeAll(async () => {
  // A long timeline: trainings move only when a test moves the emulator's clock.
  emu = await startEmulator({ training: { startingMs: 10_000, processingMs: 100_000 } });
});
afterAll(() => emu.close());
beforeEach(() => {
  emu.setTrainingOutcome("succeeded");
  emu.clearFaults();
});

/** Runs `fn` while the emulator's clock runs 50 times faster than real time. */
async function fastForward<T>(fn: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => emu.advance(5_000), 100);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

const photos = (count = 10, seed = 0) => writeFiles(mkdtempSync(join(tmpdir(), "sselfie-cli-img-")), goodImages(count, { mixed: true, seed }));
let users = 0;
/** User ids unique across the file: the emulator (and its models) is shared by every test. */
const nextUser = () => `u${process.pid}-${++users}`;

forEachCliBackend((backend) => {
  async function setup() {
    const base = await backend.env();
    const admin = await initAndGetAdminToken(base);
    const env = { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url };
    return { env, admin };
  }

  it("train --json starts the training and prints exactly the contract's document; status follows it to a version", async () => {
    const { env } = await setup();
    const user = nextUser();
    const r = await runCli(["train", "--user", user, "--images", photos(), "--json"], { env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(Object.keys(r.json).sort()).toEqual(TRAIN_KEYS);
    expect(Object.keys(r.json.dataset).sort()).toEqual(DATASET_KEYS);
    expect(r.json.dataset).toMatchObject({ count: 10, rotated: 0, resized: 0 });
    expect(r.json).toMatchObject({ userId: user, modelId: `${emu.owner}/${user}-selfie-lora`, triggerWord: `user${user}`, status: "training" });
    expect(emu.trainings.get(r.json.trainingId)?.destination).toBe(r.json.modelId);

    const running = await runCli(["status", "--user", user, "--json"], { env });
    expect(running.code).toBe(0);
    expect(Object.keys(running.json).sort()).toEqual(STATUS_KEYS);
    expect(running.json).toMatchObject({ userId: user, status: "training", trainingId: r.json.trainingId, versionId: null, error: null });

    emu.finishTraining(r.json.trainingId, "succeeded");
    const done = await runCli(["status", "--user", user, "--json"], { env });
    expect(done.json).toEqual({
      userId: user,
      status: "completed",
      modelId: r.json.modelId,
      versionId: emu.trainings.get(r.json.trainingId)!.createdVersionId,
      trainingId: r.json.trainingId,
      progress: null,
      error: null,
    });

    const text = await runCli(["status", "--user", user], { env: { ...env, NO_COLOR: "1" } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/training completed/);
    expect(text.stdout).toContain(done.json.versionId);
  });

  it("a second train while one runs exits 4 TRAINING_IN_PROGRESS and reaches Replicate not at all", async () => {
    const { env } = await setup();
    const user = nextUser();
    expect((await runCli(["train", "--user", user, "--images", photos(), "--json"], { env })).code).toBe(0);
    const before = emu.requests.length;
    const again = await runCli(["train", "--user", user, "--images", photos(10, 40), "--json"], { env: { ...env, REPLICATE_OWNER: emu.owner } });
    expect(again.code).toBe(4);
    expect(again.json.error.code).toBe("TRAINING_IN_PROGRESS");
    expect(emu.requests.length).toBe(before);
  });

  it("train --wait exits 0 when the training succeeds and 1 when it fails; status --watch exits 1 after a cancel", async () => {
    const { env } = await setup();
    const user = nextUser();
    const ok = await fastForward(() => runCli(["train", "--user", user, "--images", photos(), "--wait", "--json"], { env }));
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    expect(Object.keys(ok.json).sort()).toEqual(TRAIN_KEYS);
    expect(ok.json.status).toBe("completed");

    emu.setTrainingOutcome("failed", { error: "CUDA out of memory" });
    const failed = await fastForward(() => runCli(["train", "--user", user, "--images", photos(10, 20), "--wait", "--json"], { env }));
    expect(failed.code).toBe(1);
    expect(failed.json.error.code).toBe("TRAINING_FAILED");
    expect(failed.json.error.message).toMatch(/CUDA out of memory/);
    // The earlier version stays active.
    const after = await runCli(["status", "--user", user, "--json"], { env });
    expect(after.json).toMatchObject({ status: "failed", error: "CUDA out of memory" });
    expect(after.json.versionId).toMatch(/^[0-9a-f]{64}$/);

    emu.setTrainingOutcome("succeeded");
    const slow = (await runCli(["train", "--user", user, "--images", photos(10, 60), "--json"], { env })).json.trainingId;
    const unconfirmed = await runCli(["cancel", "--user", user, "--json"], { env });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.json.error.code).toBe("CONFIRMATION_REQUIRED");
    const canceled = await runCli(["cancel", "--user", user, "--yes", "--json"], { env });
    expect(canceled.code).toBe(0);
    expect(canceled.json).toMatchObject({ status: "canceled", trainingId: slow });
    expect(emu.trainings.get(slow)!.status).toBe("canceled");
    const watch = await runCli(["status", "--user", user, "--watch", "--json"], { env });
    expect(watch.code).toBe(1);
    expect(watch.json.error.code).toBe("TRAINING_CANCELED");
    const nothing = await runCli(["cancel", "--user", user, "--yes", "--json"], { env });
    expect(nothing.code).toBe(4);
    expect(nothing.json.error.code).toBe("NO_ACTIVE_TRAINING");
  });

  it("status --watch without --json shows progress lines and ends with the outcome", async () => {
    const { env } = await setup();
    const user = nextUser();
    expect((await runCli(["train", "--user", user, "--images", photos(), "--json"], { env })).code).toBe(0);
    emu.advance(60_000);
    const watch = await fastForward(() => runCli(["status", "--user", user, "--watch"], { env: { ...env, NO_COLOR: "1" } }));
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stderr).toMatch(new RegExp(`user ${user}`));
    expect(watch.stdout).toMatch(/training completed/);
  });

  it("bad arguments and bad images exit 2 before anything happens; a read-only token exits 3", async () => {
    const { env, admin } = await setup();
    const cases: Array<[string[], string]> = [
      [["train", "--user", "Bad User", "--images", photos()], "INVALID_INPUT"],
      [["train", "--user", "42", "--images", photos(), "--steps", "7"], "INVALID_INPUT"],
      [["train", "--user", "42", "--images", photos(9)], "INVALID_IMAGES"],
      [["train", "--user", "42", "--images", writeFiles(mkdtempSync(join(tmpdir(), "x-")), [...goodImages(10), ["a.gif", makeGif()]])], "INVALID_IMAGES"],
      [["train", "--user", "42", "--images", "/nonexistent/photos"], "INVALID_IMAGES"],
      [["status", "--user", "../42"], "INVALID_INPUT"],
      [["cancel", "--user", "", "--yes"], "INVALID_INPUT"],
    ];
    const before = emu.requests.length;
    for (const [args, code] of cases) {
      const r = await runCli([...args, "--json"], { env });
      expect(r.code, `${args.join(" ")}: ${r.stdout}`).toBe(2);
      expect(r.json.error.code).toBe(code);
    }
    expect(emu.requests.length).toBe(before);

    const reader = await runCli(["operators", "create", "--name", "viewer", "--scopes", "read", "--json", "--token", admin], { env });
    const denied = await runCli(["train", "--user", "42", "--images", photos(), "--json"], { env: { ...env, SSELFIE_TOKEN: reader.json.token } });
    expect(denied.code).toBe(3);
    expect(denied.json.error.code).toBe("FORBIDDEN");
    expect(emu.requests.length).toBe(before);
  });
});
