/**
 * `sselfie train` killed (SIGKILL) at each step of a start: the next `status` or `train` for that
 * user reconciles from Replicate's own records, so the training is neither lost nor started twice.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openDatabase } from "../../src/db/connect.js";
import { BIN, runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken } from "../support/cli-env.js";
import { startEmulator, type Emulator, type RecordedRequest } from "../support/emulator/index.js";
import { goodImages, writeFiles } from "../support/images.js";

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 600_000 } });
});
afterEach(() => emu.close());

const photos = (seed = 0) => writeFiles(mkdtempSync(join(tmpdir(), "sselfie-crash-")), goodImages(10, { mixed: true, seed }));

/** Runs `train` and SIGKILLs it once the emulator has received a request matching `when`. */
async function trainKilledAt(env: Record<string, string>, user: string, when: (r: RecordedRequest) => boolean): Promise<void> {
  const child = spawn(process.execPath, [BIN, "train", "--user", user, "--images", photos(), "--json"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: "ignore",
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!emu.requests.some(when)) {
    if (Date.now() > deadline) throw new Error("the request never came");
    if (child.exitCode !== null) throw new Error(`train exited (${child.exitCode}) before the request came`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Let the emulator read the request and enter the injected delay before the process dies.
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGKILL");
  expect(await exited).toBeNull();
}

/** Runs SQL on the test's database between CLI runs (the embedded one is free once the CLI exits). */
async function sql(env: Record<string, string>, text: string): Promise<Record<string, unknown>[]> {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, home: env.SSELFIE_HOME!, schema: env.SSELFIE_SCHEMA });
  try {
    return (await db.query(text.replaceAll(":s", db.s))).rows;
  } finally {
    await db.close();
  }
}

const isTrainingCreate = (r: RecordedRequest) => r.method === "POST" && /\/trainings$/.test(r.path);
/** A POST whose body the emulator has read in full (so an injected fault has been taken). */
const posted = (path: string) => (r: RecordedRequest) => r.method === "POST" && r.path === path && r.body !== undefined;

forEachCliBackend((backend) => {
  async function setup() {
    const base = await backend.env();
    const admin = await initAndGetAdminToken(base);
    return { ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url, REPLICATE_OWNER: emu.owner };
  }

  it("killed after Replicate created the training but before its id was stored: status adopts it, train refuses a second", async () => {
    const env = await setup();
    // The create's answer is lost and the lookup that would find it hangs: the process dies there.
    emu.inject({ kind: "crash-after-create", method: "POST", path: /\/trainings$/ });
    emu.inject({ kind: "delay", method: "GET", path: "/v1/trainings", ms: 60_000 });
    await trainKilledAt(env, "k1", (r) => r.method === "GET" && r.path === "/v1/trainings");
    expect(emu.trainings.size).toBe(1);
    const [created] = [...emu.trainings.values()];
    expect(await sql(env, `SELECT status, replicate_training_id FROM :s.trainings`)).toEqual([{ status: "pending", replicate_training_id: null }]);

    const again = await runCli(["train", "--user", "k1", "--images", photos(5), "--json"], { env });
    expect(again.code).toBe(4);
    expect(again.json.error.code).toBe("TRAINING_IN_PROGRESS");

    const status = await runCli(["status", "--user", "k1", "--json"], { env });
    expect(status.code, status.stdout).toBe(0);
    expect(status.json).toMatchObject({ status: "training", trainingId: created!.id });
    expect(emu.trainings.size).toBe(1);
    expect(emu.requests.filter(isTrainingCreate)).toHaveLength(1);
  });

  it("killed during the upload: nothing was created; the stale claim is released and the next train starts exactly one", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: "/v1/files", ms: 60_000 });
    await trainKilledAt(env, "k2", posted("/v1/files"));
    expect(await sql(env, `SELECT status, input_images_url FROM :s.trainings`)).toEqual([{ status: "pending", input_images_url: null }]);

    // While the claim is fresh it may be a live process: in progress, and no second training.
    const fresh = await runCli(["status", "--user", "k2", "--json"], { env });
    expect(fresh.json).toMatchObject({ status: "pending", trainingId: null });
    expect((await runCli(["train", "--user", "k2", "--images", photos(3), "--json"], { env })).code).toBe(4);

    await sql(env, `UPDATE :s.trainings SET updated_at = now() - interval '1 hour'`);
    const released = await runCli(["status", "--user", "k2", "--json"], { env });
    expect(released.json).toMatchObject({ status: "failed", trainingId: null });
    expect(released.json.error).toMatch(/before the images were uploaded/);
    const started = await runCli(["train", "--user", "k2", "--images", photos(4), "--json"], { env });
    expect(started.code, started.stdout).toBe(0);
    expect(emu.trainings.size).toBe(1);
    expect(emu.requests.filter(isTrainingCreate)).toHaveLength(1);
  });

  it("killed while the create call was in flight (never answered, never created): released after the grace period", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: /\/trainings$/, ms: 60_000 });
    await trainKilledAt(env, "k3", (r) => isTrainingCreate(r) && r.body !== undefined);
    // The emulator drops a request whose client went away: nothing was created.
    expect(emu.trainings.size).toBe(0);
    const [row] = await sql(env, `SELECT status, input_images_url FROM :s.trainings`);
    expect(row).toMatchObject({ status: "pending", input_images_url: expect.stringMatching(/^http/) });

    expect((await runCli(["status", "--user", "k3", "--json"], { env })).json.status).toBe("pending");
    await sql(env, `UPDATE :s.trainings SET updated_at = now() - interval '1 hour'`);
    // train itself reconciles the stale claim (the list has no such training) and starts.
    const started = await runCli(["train", "--user", "k3", "--images", photos(6), "--json"], { env });
    expect(started.code, started.stdout).toBe(0);
    expect(emu.trainings.size).toBe(1);
    const rows = await sql(env, `SELECT status, error FROM :s.trainings ORDER BY id`);
    expect(rows.map((r) => r.status)).toEqual(["failed", "training"]);
    expect(String(rows[0]!.error)).toMatch(/never created at Replicate/);
  });
});
