/**
 * `sselfie generate` killed (SIGKILL) or interrupted (Ctrl-C) once Replicate has created the
 * prediction: the prediction id is on the record already, the audit reports the generation as
 * unfinished, and `status` finishes it (records the outcome, saves the images where they were
 * asked for), leaving no partial file behind.
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { BIN, runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { emulatorForFile } from "../support/emulator-for-file.js";
import type { Emulator } from "../support/emulator/index.js";
import { tempDir } from "../support/temp-dirs.js";
import { plantUser } from "../generation/plant.js";

// Several runs of the built CLI per test, each opening the embedded database: slow on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

const PREDICTION_MS = 5_000;
let emulator: Emulator;
emulatorForFile({ prediction: { durationMs: PREDICTION_MS } }, (started) => {
  emulator = started;
});
// Signals do not depend on the backend: the embedded default.
const backend = cliBackend("embedded");

async function setUp(user: string) {
  const base = await backend.env();
  const token = await initAndGetAdminToken(base);
  const db = await openDatabase({ home: base.SSELFIE_HOME! });
  try {
    await plantUser(db, emulator, user);
  } finally {
    await db.close();
  }
  return { ...base, SSELFIE_TOKEN: token, REPLICATE_API_TOKEN: emulator.token, REPLICATE_BASE_URL: emulator.url, REPLICATE_OWNER: emulator.owner };
}

async function generations(env: Record<string, string>) {
  const db = await openDatabase({ home: env.SSELFIE_HOME! });
  try {
    return (await db.query<Record<string, any>>(`SELECT id, status, replicate_prediction_id, holder, out_dir, outputs FROM ${db.s}.generations ORDER BY id`)).rows;
  } finally {
    await db.close();
  }
}

/**
 * Starts `generate` and sends `signal` 1.5 s after Replicate received the create (the prediction
 * runs 5 s: a create held open with `Prefer: wait` would still be unanswered then).
 */
async function generateStoppedWhilePolling(env: Record<string, string>, user: string, out: string, signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [BIN, "generate", "--user", user, "--prompt", "a portrait", "--out", out, "--json"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  const created = () => emulator.requestsTo("POST", "/v1/predictions").length > 0;
  while (!created()) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`generate never created (exit ${child.exitCode}): ${stdout}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 1_500));
  child.kill(signal);
  const code = await exited;
  const prediction = [...emulator.predictions.values()].at(-1);
  return { code, stdout, pid: child.pid!, predictionId: prediction!.id };
}

async function waitUntilSucceeded(predictionId: string) {
  const deadline = Date.now() + PREDICTION_MS + 10_000;
  while (emulator.predictions.get(predictionId)?.completedAt == null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("killed (SIGKILL) after the create answered: the id is recorded, the audit reports it, status finishes it", async () => {
  const env = await setUp("42");
  const out = tempDir("sselfie-killed-");
  const killed = await generateStoppedWhilePolling(env, "42", out, "SIGKILL");
  expect(killed.code).toBeNull();

  const [row] = await generations(env);
  expect(row).toMatchObject({ replicate_prediction_id: killed.predictionId, out_dir: out, holder: { pid: killed.pid } });
  expect(["starting", "processing"]).toContain(row!.status);

  const audit = await runCli(["audit", "--user", "42", "--json"], { env });
  expect(audit.code).toBe(1);
  expect(audit.json.violations).toEqual([
    expect.objectContaining({ rule: "generation.unfinished", userId: "42", generationId: row!.id, message: expect.stringContaining("sselfie status --user 42") }),
  ]);

  // --remote adds what Replicate says of it (the planted training is unknown there: other rules may speak too).
  const unfinishedAt = async () => {
    const remote = await runCli(["audit", "--user", "42", "--remote", "--json"], { env });
    expect(remote.code, remote.stdout + remote.stderr).toBe(1);
    return remote.json.violations.find((v: { rule: string }) => v.rule === "generation.unfinished");
  };
  expect(await unfinishedAt()).toMatchObject({
    generationId: row!.id,
    predictionId: killed.predictionId,
    remoteStatus: expect.stringMatching(/^(starting|processing|succeeded)$/),
    message: expect.stringMatching(/At Replicate: (still (starting|processing)|succeeded; its images are kept until .+ UTC)\.$/),
  });

  await waitUntilSucceeded(killed.predictionId);
  expect(await unfinishedAt()).toMatchObject({
    remoteStatus: "succeeded",
    message: expect.stringMatching(/Run `sselfie status --user 42` to finish it .*At Replicate: succeeded; its images are kept until \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/),
  });
  const status = await runCli(["status", "--user", "42", "--json"], { env });
  expect(status.code, status.stdout).toBe(0);
  expect(status.json.unfinishedGenerations).toEqual([
    expect.objectContaining({ generationId: row!.id, predictionId: killed.predictionId, outcome: "finished", files: expect.any(Array) }),
  ]);
  expect((await readdir(out)).sort()).toEqual([0, 1, 2].map((i) => `${killed.predictionId}-${i}.png`));
  const [after] = await generations(env);
  expect(after!.status).toBe("succeeded");
  expect(after!.outputs.map((o: { file: string }) => o.file)).toEqual([0, 1, 2].map((i) => join(out, `${killed.predictionId}-${i}.png`)));

  expect((await runCli(["audit", "--user", "42", "--json"], { env })).code).toBe(0);
  // One paid prediction, never a second.
  expect(emulator.requestsTo("POST", "/v1/predictions")).toHaveLength(1);
});

it("Ctrl-C while Replicate works: exit 130 saying how it is finished; the next generate finishes it first", async () => {
  const env = await setUp("43");
  const out = tempDir("sselfie-interrupted-");
  const stopped = await generateStoppedWhilePolling(env, "43", out, "SIGINT");
  expect(stopped.code).toBe(130);
  const error = JSON.parse(stopped.stdout).error;
  expect(error.code).toBe("INTERRUPTED");
  expect(error.message).toContain(stopped.predictionId);
  expect(error.message).toContain("sselfie status --user 43");
  const [row] = await generations(env);
  expect(row!.replicate_prediction_id).toBe(stopped.predictionId);
  expect(await readdir(out)).toEqual([]);

  await waitUntilSucceeded(stopped.predictionId);
  const again = await runCli(["generate", "--user", "43", "--prompt", "another portrait", "--out", out, "--json"], { env, timeoutMs: 120_000 });
  expect(again.code, again.stdout).toBe(0);
  expect(again.json.finishedEarlier).toEqual([expect.objectContaining({ generationId: row!.id, outcome: "finished" })]);
  const files = (await readdir(out)).sort();
  expect(files).toHaveLength(6);
  expect(files.filter((f) => f.endsWith(".part"))).toEqual([]);
});
