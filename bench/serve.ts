/**
 * `serve` receiving Replicate's webhook deliveries: throughput and p99 latency of 10,000 signed
 * deliveries from autocannon on loopback (10 connections), the server in a child process of its
 * own, against the same fastify app answering 200 without verifying (the floor).
 *
 *   floor:  the app with a handler that answers 200 at once (raw body read, log line written);
 *   verify: the signature (HMAC-SHA256, constant-time) and the 5-minute window checked, nothing stored;
 *   apply:  the real `serve`: verified, deduplicated by webhook-id and applied to PostgreSQL (each
 *           delivery is a `logs` event of one of 100 running trainings: a progress update, new ids);
 *   replay: the real `serve` sent the very deliveries it has just applied (acknowledged as duplicates).
 *
 * Rounds alternate the modes after a warm-up; medians are reported, with each mode's ratio to the floor.
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/serve.ts [deliveries] [rounds]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import pg from "pg";
import { createPgDatabase } from "../src/db/pg.js";
import type { Database } from "../src/db/types.js";
import { TRAINER_REF } from "../src/locked.js";
import { createReplicateGateway } from "../src/replicate/index.js";
import { buildWebhookApp } from "../src/server/webhook-app.js";
import { serve } from "../src/server/index.js";
import { signWebhook, verifyReplicateWebhook } from "../src/webhooks/index.js";
import { startEmulator } from "../test/support/emulator/index.js";
import { median } from "./stats.js";

const { migrate } = await import("../src/db/migrate.js");

type Mode = "floor" | "verify" | "apply" | "replay";
const SECRET = "whsec_YmVuY2gtc2VjcmV0LWJlbmNoLXNlY3JldC1iZW5jaA==";
const SCHEMA = "bench_serve";
const TRAININGS = 100;
const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!databaseUrl) throw new Error("Set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server.");

if (process.argv[2] === "__server") await runServer(process.argv[3] as "floor" | "verify" | "apply");
else await runBench(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 3));

/** The child: one server of the given mode; sends its URL over IPC; log lines go to stdout (ignored). */
async function runServer(mode: "floor" | "verify" | "apply"): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const db = createPgDatabase(pool, SCHEMA, { ownsPool: false });
  const gateway = createReplicateGateway({ apiToken: process.env.BENCH_EMULATOR_TOKEN!, baseUrl: process.env.BENCH_EMULATOR_URL! });
  const ctx = {
    db,
    webhookUrl: undefined,
    tmpDir: "/tmp",
    gatewayForOwner: async () => gateway,
    gatewayForUser: async () => gateway,
    implicitOwner: async () => "bench",
  };
  const log = (entry: object) => void process.stdout.write(`${JSON.stringify(entry)}\n`);
  let url: string;
  if (mode === "apply") {
    url = (await serve(ctx, { port: 0, reconcileEveryMs: 0 }, { onLog: log })).url;
  } else {
    const handled = { handled: true, duplicate: false, kind: "training" as const, id: null };
    const { app } = await buildWebhookApp({
      handle: mode === "floor" ? async () => handled : async (request) => (await verifyReplicateWebhook(ctx, request), handled),
      verify: async () => undefined,
      ping: async () => undefined,
      health: () => ({}),
      log,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }
  process.send!({ url });
}

async function startServer(mode: "floor" | "verify" | "apply", env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "__server", mode], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    env: { ...process.env, ...env },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { url: string }).url));
    child.once("exit", (code) => reject(new Error(`server (${mode}) exited ${code}`)));
  });
  return { child, url };
}

async function plant(db: Database): Promise<void> {
  await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
  await migrate(db);
  await db.query(`INSERT INTO ${db.s}.users (id) SELECT 'b' || i FROM generate_series(1, $1) i`, [TRAININGS]);
  await db.query(
    `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status, current_training_id)
     SELECT 'b' || i, 'bench/b' || i || '-selfie-lora', 'userb' || i, 'training', 'bt' || i FROM generate_series(1, $1) i`,
    [TRAININGS],
  );
  await db.query(
    `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status)
     SELECT 'b' || i, 'bt' || i, $2, 'bench/b' || i || '-selfie-lora',
            jsonb_build_object('input_images', 'https://api.replicate.com/v1/files/f' || i, 'trigger_word', 'userb' || i),
            'https://api.replicate.com/v1/files/f' || i, 'training', 'processing'
       FROM generate_series(1, $1) i`,
    [TRAININGS, TRAINER_REF],
  );
}

/** `count` signed `logs` deliveries of the planted trainings, with ids unique to `round`. */
function deliveries(count: number, round: string): { headers: Record<string, string>; body: string }[] {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return Array.from({ length: count }, (_, k) => {
    const i = (k % TRAININGS) + 1;
    const step = Math.min(1000, Math.floor(k / TRAININGS) + 1);
    const body = JSON.stringify({
      id: `bt${i}`,
      model: "ostris/flux-dev-lora-trainer",
      version: TRAINER_REF.split(":")[1],
      status: "processing",
      input: { input_images: `https://api.replicate.com/v1/files/f${i}`, trigger_word: `userb${i}` },
      output: null,
      error: null,
      logs: `flux_train_replicate:  ${Math.floor(step / 10)}%|#         | ${step}/1000 [01:14<11:07,  1.35it/s, lr: 4.0e-04 loss: 3.1e-01]\n`,
      metrics: {},
      created_at: "2026-11-30T12:00:00.000Z",
      started_at: "2026-11-30T12:00:05.000Z",
      completed_at: null,
      urls: { get: `https://api.replicate.com/v1/predictions/bt${i}`, cancel: `https://api.replicate.com/v1/predictions/bt${i}/cancel` },
    });
    const id = `msg_${round}_${k}`;
    return {
      body,
      headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signWebhook(SECRET, id, timestamp, body)}` },
    };
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(url: string, batch: { headers: Record<string, string>; body: string }[]): Promise<Run> {
  let i = 0;
  const start = process.hrtime.bigint();
  const result = await autocannon({
    url: `${url}/webhooks/replicate`,
    connections: 10,
    amount: batch.length,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const d = batch[i++ % batch.length]!;
          return { ...req, headers: d.headers, body: d.body };
        },
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rps: result.requests.total / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function runBench(count: number, rounds: number): Promise<void> {
  const emu = await startEmulator({ webhookSecret: SECRET });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const db = createPgDatabase(pool, SCHEMA, { ownsPool: false });
  await plant(db);
  const env = { BENCH_EMULATOR_URL: emu.url, BENCH_EMULATOR_TOKEN: emu.token };
  const servers = {
    floor: await startServer("floor", env),
    verify: await startServer("verify", env),
    apply: await startServer("apply", env),
  };
  const results: Record<Mode, Run[]> = { floor: [], verify: [], apply: [], replay: [] };
  try {
    for (const mode of ["floor", "verify", "apply"] as const) await load(servers[mode].url, deliveries(1_000, `warm${mode}`));
    for (let round = 0; round < rounds; round++) {
      const batch = deliveries(count, `r${round}`);
      // The replay of a round sends what `apply` applied in that round: it comes after it.
      const order: Mode[] = round % 2 ? ["verify", "floor", "apply", "replay"] : ["floor", "verify", "apply", "replay"];
      for (const mode of order) {
        const run = await load(servers[mode === "replay" ? "apply" : mode].url, batch);
        results[mode].push(run);
        console.log(`round ${round + 1} ${mode.padEnd(6)} ${run.rps.toFixed(0)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  non-2xx ${run.non2xx}`);
      }
    }
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.webhook_deliveries`);
    console.log(`\nwebhook_deliveries rows: ${rows[0]!.n} (expected ${1_000 + count * rounds})`);
    const floor = median(results.floor.map((r) => r.rps));
    console.log(`\n${count} deliveries x ${rounds} rounds, 10 connections, medians:`);
    console.log("| mode | req/s | p50 ms | p99 ms | throughput vs floor |");
    console.log("|---|---:|---:|---:|---:|");
    for (const mode of ["floor", "verify", "apply", "replay"] as const) {
      const rps = median(results[mode].map((r) => r.rps));
      console.log(
        `| ${mode} | ${rps.toFixed(0)} | ${median(results[mode].map((r) => r.p50))} | ${median(results[mode].map((r) => r.p99))} | ${(rps / floor).toFixed(2)}x |`,
      );
    }
  } finally {
    for (const s of Object.values(servers)) s.child.kill("SIGTERM");
    await pool.end();
    await emu.close();
  }
}
