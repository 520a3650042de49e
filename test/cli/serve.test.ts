/**
 * `sselfie serve` as operators run it: the built CLI, its URL first on stdout then JSON lines,
 * `train` creating its job with SSELFIE_WEBHOOK_URL and the server completing it from the webhook,
 * and SIGTERM in the middle of a delivery: the delivery is finished and applied, then exit 0.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReplicateGateway } from "../../src/replicate/index.js";
import { signWebhook } from "../../src/webhooks/index.js";
import { BIN, runCli } from "../support/cli.js";
import { cliBackend, initAndGetAdminToken, serverCliSetup } from "../support/cli-env.js";
import { TEST_DATABASE_URL } from "../support/databases.js";
import { startEmulator, type Emulator } from "../support/emulator/index.js";
import { imageFolder } from "../training/training-helpers.js";
import { plantRunningTraining } from "../reconcile/plant-work.js";
import { until } from "../support/until.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 600_000 } });
});
afterAll(() => emu.close());

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  lines: string[];
  exited: Promise<number | null>;
}

/** Starts `sselfie serve --port 0` and resolves once it printed its URL. */
function startServe(env: Record<string, string>, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--reconcile-every", "0", ...extra], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
  });
  const lines: string[] = [];
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        lines.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (lines.length === 1) resolve({ child, url: lines[0]!, lines, exited });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited ${code} before printing its URL: ${stderr}`)));
    setTimeout(() => reject(new Error(`serve printed no URL in time: ${stderr}`)), 20_000).unref();
  });
}


describe.skipIf(!TEST_DATABASE_URL)("on PostgreSQL", () => {
  const backend = cliBackend("postgres");

  const setup = () => serverCliSetup(backend, emu);

  it("prints its URL first; train with SSELFIE_WEBHOOK_URL is completed by the webhook; SIGTERM exits 0", { timeout: 90_000 }, async () => {
    const { env, db, pool } = await setup();
    const served = await startServe(env);
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(JSON.parse(served.lines[1] ?? (await until(async () => served.lines[1])))).toMatchObject({
        event: "listening",
        webhookUrl: `${served.url}/webhooks/replicate`,
      });
      const health = await fetch(`${served.url}/healthz`);
      expect(health.status).toBe(200);

      const webhookUrl = `${served.url}/webhooks/replicate`;
      const train = await runCli(["train", "--user", "42", "--images", imageFolder(10).dir, "--json"], { env: { ...env, SSELFIE_WEBHOOK_URL: webhookUrl } });
      expect(train.code, train.stdout + train.stderr).toBe(0);
      const created = emu.requestsTo("POST", /\/trainings$/).at(-1)!;
      expect(created.body).toMatchObject({ webhook: webhookUrl });
      emu.finishTraining(train.json.trainingId, "succeeded");
      await until(async () => {
        const { rows } = await db.query<{ training_status: string }>(`SELECT training_status FROM ${db.s}.user_models WHERE user_id = '42'`);
        return rows[0]?.training_status === "completed";
      });
      expect(emu.requestsTo("GET", `/v1/trainings/${train.json.trainingId}`)).toHaveLength(0);
    } finally {
      served.child.kill("SIGTERM");
      expect(await served.exited).toBe(0);
      await pool.end();
    }
    const logged = served.lines.slice(1).map((l) => JSON.parse(l));
    expect(logged.filter((l) => l.path === "/webhooks/replicate" && l.status === 200).length).toBeGreaterThan(0);
    expect(logged.at(-1)).toMatchObject({ event: "stopped", deliveries: { refused: { signature: 0 } } });
    expect(served.lines.join("\n")).not.toContain(emu.webhookSecret);
  });

  it("SIGTERM while a delivery is in flight: the delivery is answered 200 and applied, then the server exits 0", { timeout: 60_000 }, async () => {
    const { env, db, pool } = await setup();
    try {
      const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url });
      const planted = await plantRunningTraining(db, emu, gateway, "term");
      emu.finishTraining(planted.trainingId, "succeeded");
      const body = JSON.stringify(await gateway.getTraining(planted.trainingId));
      // The delivery waits on the webhook secret long enough for SIGTERM to land in the middle of it.
      emu.inject({ kind: "delay", method: "GET", path: "/v1/webhooks/default/secret", ms: 1500 });
      const served = await startServe(env);
      emu.clearRequests();
      const id = "msg_sigterm_in_flight";
      const timestamp = String(Math.floor(Date.now() / 1000));
      const response = fetch(`${served.url}/webhooks/replicate`, {
        method: "POST",
        headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signWebhook(emu.webhookSecret, id, timestamp, body)}` },
        body,
      });
      await until(async () => emu.requestsTo("GET", "/v1/webhooks/default/secret").length > 0);
      served.child.kill("SIGTERM");
      const answered = await response.catch(async (e) => { await served.exited; throw new Error(served.lines.join("\n") + String(e)); });
      expect(answered.status, served.lines.join("\n")).toBe(200);
      expect(await served.exited).toBe(0);
      const { rows } = await db.query<{ status: string }>(`SELECT status FROM ${db.s}.trainings WHERE id = $1`, [planted.rowId]);
      expect(rows[0]!.status).toBe("completed");
      const logged = served.lines.slice(1).map((l) => JSON.parse(l));
      const events = logged.map((l) => l.event ?? `${l.method} ${l.status}`);
      expect(events).toEqual(["listening", "stopping", "POST 200", "stopped"]);
    } finally {
      await pool.end();
    }
  });
});

it("on the embedded database: serves /healthz and stops on SIGINT with exit 0", { timeout: 60_000 }, async () => {
  const backend = cliBackend("embedded");
  const base = await backend.env();
  const admin = await initAndGetAdminToken(base);
  const served = await startServe({ ...base, SSELFIE_TOKEN: admin, REPLICATE_API_TOKEN: emu.token, REPLICATE_BASE_URL: emu.url });
  const health = await fetch(`${served.url}/healthz`);
  expect(health.status).toBe(200);
  served.child.kill("SIGINT");
  expect(await served.exited).toBe(0);
});
