/**
 * `sselfie train` killed (SIGKILL) or interrupted (SIGINT) at each step of a start: the next
 * `status` or `train` for that user reconciles from Replicate's own records at once (the claim
 * names its process, which is gone), so the training is neither lost nor started twice, and the
 * user is never blocked by a claim nobody holds.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { BIN, runCli } from "../support/cli.js";
import { forEachCliBackend, initAndGetAdminToken, cliSql } from "../support/cli-env.js";
import { startEmulator, type Emulator, type RecordedRequest } from "../support/emulator/index.js";
import { goodImages, writeFiles } from "../support/images.js";

// Several runs of the built CLI per test, each opening the embedded database: slow on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

let emu: Emulator;
beforeEach(async () => {
  emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 600_000 } });
});
afterEach(() => emu.close());

const photos = (seed = 0) => writeFiles(mkdtempSync(join(tmpdir(), "sselfie-crash-")), goodImages(10, { mixed: true, seed }));

/** Runs `train` and sends it `signal` (SIGKILL by default) once the emulator has received a request matching `when`. */
async function trainKilledAt(
  env: Record<string, string>,
  user: string,
  when: (r: RecordedRequest) => boolean,
  signal: NodeJS.Signals = "SIGKILL",
): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [BIN, "train", "--user", user, "--images", photos(), "--json"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!emu.requests.some(when)) {
    if (Date.now() > deadline) throw new Error("the request never came");
    if (child.exitCode !== null) throw new Error(`train exited (${child.exitCode}) before the request came`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Let the emulator read the request and enter the injected delay before the process dies.
  await new Promise((r) => setTimeout(r, 300));
  child.kill(signal);
  const code = await exited;
  if (signal === "SIGKILL") expect(code).toBeNull();
  return { code, stdout };
}

const sql = cliSql;

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

  it("killed during the upload: nothing was created; the claim of the dead process is released at once, and the next train starts exactly one", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: "/v1/files", ms: 60_000 });
    await trainKilledAt(env, "k2", posted("/v1/files"));
    const [claim] = await sql(env, `SELECT status, input_images_url, holder FROM :s.trainings`);
    expect(claim).toMatchObject({ status: "pending", input_images_url: null, holder: { pid: expect.any(Number), host: expect.any(String) } });

    // `status --watch` does not wait on a claim nobody holds: the holder is gone, so the claim is released now.
    const started0 = Date.now();
    const released = await runCli(["status", "--user", "k2", "--watch", "--json"], { env, timeoutMs: 30_000 });
    expect(Date.now() - started0).toBeLessThan(20_000);
    expect(released.code).toBe(1);
    expect(released.json.error.code).toBe("TRAINING_FAILED");
    const [row] = await sql(env, `SELECT status, error FROM :s.trainings`);
    expect(row).toMatchObject({ status: "failed" });
    expect(String(row!.error)).toMatch(/before the images were uploaded \(the process that started it \(process \d+ on .+\) is gone\)/);
    const started = await runCli(["train", "--user", "k2", "--images", photos(4), "--json"], { env });
    expect(started.code, started.stdout).toBe(0);
    expect(emu.trainings.size).toBe(1);
    expect(emu.requests.filter(isTrainingCreate)).toHaveLength(1);
  });

  it("killed while the create call was in flight (never answered, never created): released once Replicate had 2 min to list it, then train starts", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: /\/trainings$/, ms: 60_000 });
    await trainKilledAt(env, "k3", (r) => isTrainingCreate(r) && r.body !== undefined);
    // The emulator drops a request whose client went away: nothing was created.
    expect(emu.trainings.size).toBe(0);
    const [row] = await sql(env, `SELECT status, input_images_url FROM :s.trainings`);
    expect(row).toMatchObject({ status: "pending", input_images_url: expect.stringMatching(/^http/) });

    // The process is gone, but its create may still appear at Replicate for a little while.
    expect((await runCli(["status", "--user", "k3", "--json"], { env })).json.status).toBe("pending");
    await sql(env, `UPDATE :s.trainings SET updated_at = now() - interval '3 minutes'`);
    // train itself reconciles the claim of the dead process (the list has no such training) and starts.
    const started = await runCli(["train", "--user", "k3", "--images", photos(6), "--json"], { env });
    expect(started.code, started.stdout).toBe(0);
    expect(emu.trainings.size).toBe(1);
    const rows = await sql(env, `SELECT status, error FROM :s.trainings ORDER BY id`);
    expect(rows.map((r) => r.status)).toEqual(["failed", "training"]);
    expect(String(rows[0]!.error)).toMatch(/never created at Replicate/);
  });

  it.skipIf(backend.kind === "embedded")("a claim whose process is alive is never released: train refuses a second and status says it is being started", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: "/v1/files", ms: 60_000 });
    const child = spawn(process.execPath, [BIN, "train", "--user", "k6", "--images", photos(), "--json"], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: "ignore",
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!emu.requests.some(posted("/v1/files")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect((await runCli(["status", "--user", "k6", "--json"], { env })).json).toMatchObject({ status: "pending", trainingId: null });
      const second = await runCli(["train", "--user", "k6", "--images", photos(8), "--json"], { env });
      expect(second.code).toBe(4);
      expect(second.json.error.code).toBe("TRAINING_IN_PROGRESS");
      expect(await sql(env, `SELECT status FROM :s.trainings`)).toEqual([{ status: "pending" }]);
    } finally {
      child.kill("SIGKILL");
    }
  });

  // Signals and claims do not depend on the backend: these run once, on the embedded default.
  it.skipIf(backend.kind === "postgres")("Ctrl-C during the upload undoes the claim before exiting (exit 130): the user is as before", async () => {
    const env = await setup();
    emu.inject({ kind: "delay", method: "POST", path: "/v1/files", ms: 60_000 });
    const { code, stdout } = await trainKilledAt(env, "k4", posted("/v1/files"), "SIGINT");
    expect(code).toBe(130);
    expect(JSON.parse(stdout).error.code).toBe("INTERRUPTED");
    expect(await sql(env, `SELECT status FROM :s.trainings`)).toEqual([]);
    const started = await runCli(["train", "--user", "k4", "--images", photos(7), "--json"], { env });
    expect(started.code, started.stdout).toBe(0);
    expect(emu.requests.filter(isTrainingCreate)).toHaveLength(1);
  });

  it.skipIf(backend.kind === "postgres")("Ctrl-C while the create call is in flight looks once for what it made and adopts it (exit 130)", async () => {
    const env = await setup();
    // The create is slow (Replicate makes the training after 1.5 s); the look that follows Ctrl-C is answered after that.
    emu.inject({ kind: "delay", method: "POST", path: /\/trainings$/, ms: 1_500 });
    emu.inject({ kind: "delay", method: "GET", path: "/v1/trainings", ms: 3_000 });
    const { code, stdout } = await trainKilledAt(env, "k5", (r) => isTrainingCreate(r) && r.body !== undefined, "SIGINT");
    expect(code).toBe(130);
    expect(JSON.parse(stdout).error.code).toBe("INTERRUPTED");
    const [created] = [...emu.trainings.values()];
    expect(await sql(env, `SELECT status, replicate_training_id FROM :s.trainings`)).toEqual([{ status: "training", replicate_training_id: created!.id }]);
  });
});
