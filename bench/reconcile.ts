/**
 * `reconcile` over a large database: 1,000 unfinished trainings (running at the emulator, so each
 * is read once per pass) alone, and the same 1,000 among 100,000 finished items (50,000 completed
 * trainings and 50,000 succeeded generations with their files). The time must be the 1,000's: only
 * unfinished rows are indexed (partial indexes of migration 0003), so the finished ones are never
 * read. Also: a pass with nothing to do over the 100,000, and the plans of the claim queries.
 * The emulator's rate limits are lifted: what is measured is sselfie's own cost, not Replicate's limit.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/reconcile.ts [runs]
 */
import pg from "pg";
import { createPgDatabase } from "../src/db/pg.js";
import type { Database } from "../src/db/types.js";
import { LOCKED_GENERATION_INPUT, TRAINER_NAME, TRAINER_OWNER, TRAINER_REF, TRAINER_VERSION } from "../src/locked.js";
import { reconcile } from "../src/reconcile/index.js";
import { createReplicateGateway } from "../src/replicate/index.js";
import { startEmulator } from "../test/support/emulator/index.js";
import { canonicalParts } from "./locked-sql.js";
import { median } from "./stats.js";

const { migrate } = await import("../src/db/migrate.js");

const runs = Number(process.argv[2] ?? 5);
const UNFINISHED = 1_000;
const FINISHED = 100_000;
const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!databaseUrl) throw new Error("Set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server.");

const emu = await startEmulator({
  training: { startingMs: 3_600_000, processingMs: 3_600_000 },
  rateLimit: { otherPerMinute: 1e9, predictionsPerMinute: 1e9 },
});
const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url });
const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });

// The 1,000 trainings, created at the emulator once and recorded as running in both schemas.
console.log(`creating ${UNFINISHED} trainings at the emulator…`);
const running: { userId: string; trainingId: string; input: Record<string, unknown> }[] = [];
for (let i = 1; i <= UNFINISHED; i++) {
  const userId = `run${i}`;
  const destination = `${emu.owner}/${userId}-selfie-lora`;
  emu.createModel(destination, { visibility: "private", hardware: "gpu-h100" });
  const input = { input_images: `https://example.invalid/${userId}.zip`, trigger_word: `user${userId}` };
  const t = await gateway.createTraining({ trainerOwner: TRAINER_OWNER, trainerName: TRAINER_NAME, trainerVersion: TRAINER_VERSION, destination, input });
  running.push({ userId, trainingId: t.id, input });
}

async function seed(schema: string, finished: number): Promise<Database> {
  const db = createPgDatabase(pool, schema, { ownsPool: false });
  await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
  await migrate(db);
  const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const half = finished / 2;
  const c = canonicalParts();
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica").catch(() => undefined);
    if (finished > 0) {
      await tx.exec(`INSERT INTO ${db.s}.users (id) SELECT 'd' || i FROM generate_series(1, ${half}) i`);
      await tx.exec(
        `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, current_training_id)
         SELECT 'd' || i, 'bench/d' || i || '-selfie-lora', encode(sha256(('v' || i)::bytea), 'hex'), 'userd' || i, 'completed', 'dt' || i
           FROM generate_series(1, ${half}) i`,
      );
      await tx.exec(
        `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, output_version, finished_at)
         SELECT 'd' || i, 'dt' || i, ${lit(TRAINER_REF)}, 'bench/d' || i || '-selfie-lora', '{}'::jsonb, 'completed', 'succeeded',
                encode(sha256(('v' || i)::bytea), 'hex'), now() - interval '1 day'
           FROM generate_series(1, ${half}) i`,
      );
      await tx.exec(
        `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed, status, replicate_prediction_id, outputs, out_dir, created_at, finished_at,
           training_id)
         SELECT u, ref, p, ${lit(JSON.stringify(LOCKED_GENERATION_INPUT))}::jsonb || jsonb_build_object('guidance_scale', 2.8, 'prompt', p, 'seed', sd),
                encode(sha256(convert_to(${lit(c.before)} || to_json(p)::text || ${lit(c.between)} || sd || ${lit(c.after)}, 'UTF8')), 'hex'),
                sd, 'succeeded', 'dp' || i,
                jsonb_build_array(jsonb_build_object('url', 'https://replicate.delivery/x/' || i || '.png', 'file', '/out/' || i || '.png', 'size', 1234, 'sha256', 'x')),
                '/out', now() - interval '30 minutes', now() - interval '30 minutes',
                (SELECT t.id FROM ${db.s}.trainings t WHERE t.replicate_training_id = 'dt' || i)
           FROM (SELECT i, 'd' || i AS u, 'bench/d' || i || '-selfie-lora:' || encode(sha256(('v' || i)::bytea), 'hex') AS ref,
                        'userd' || i || ' portrait' AS p, (i % 1000000)::int AS sd FROM generate_series(1, ${half}) i) x`,
      );
    }
    for (const r of running) {
      await tx.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, [r.userId]);
      await tx.query(
        `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status, current_training_id) VALUES ($1, $2, $3, 'training', $4)`,
        [r.userId, `${emu.owner}/${r.userId}-selfie-lora`, `user${r.userId}`, r.trainingId],
      );
      await tx.query(
        `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status)
         VALUES ($1, $2, $3, $4, $5, $6, 'training', 'starting')`,
        [r.userId, r.trainingId, TRAINER_REF, `${emu.owner}/${r.userId}-selfie-lora`, JSON.stringify(r.input), r.input.input_images],
      );
    }
  });
  await db.exec(`VACUUM ANALYZE ${db.s}.trainings, ${db.s}.generations`);
  return db;
}

function ctxOf(db: Database) {
  return {
    db,
    webhookUrl: undefined,
    tmpDir: "/tmp",
    gatewayForOwner: async () => gateway,
    gatewayForUser: async () => gateway,
    implicitOwner: async () => emu.owner,
  };
}

async function pass(db: Database): Promise<{ ms: number; checked: number }> {
  // Every run starts as if no reconciler had looked yet.
  await db.exec(`UPDATE ${db.s}.trainings SET reconcile_after = NULL WHERE reconcile_after IS NOT NULL`);
  const start = process.hrtime.bigint();
  const report = await reconcile(ctxOf(db));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (report.errors.length) throw new Error(`reconcile listed errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
  return { ms, checked: report.trainings.checked + report.generations.checked };
}

try {
  console.log("seeding…");
  const small = await seed("bench_reconcile_1k", 0);
  const large = await seed("bench_reconcile_101k", FINISHED);
  const idle = await seed("bench_reconcile_100k_idle", FINISHED);
  await idle.exec(`DELETE FROM ${idle.s}.trainings WHERE status = 'training'`);

  await pass(small);
  await pass(large);
  const times = { small: [] as number[], large: [] as number[], idle: [] as number[] };
  for (let r = 0; r < runs; r++) {
    for (const [name, db] of (r % 2 ? [["large", large], ["small", small]] : [["small", small], ["large", large]]) as [keyof typeof times, Database][]) {
      const { ms, checked } = await pass(db);
      if (checked !== UNFINISHED) throw new Error(`${name}: checked ${checked}, expected ${UNFINISHED}`);
      times[name].push(ms);
    }
    times.idle.push((await pass(idle)).ms);
  }
  const s = median(times.small);
  const l = median(times.large);
  console.log(`\n${runs} runs, medians (load ${(await import("node:os")).loadavg()[0]!.toFixed(1)}):`);
  console.log("| database | items checked | pass |");
  console.log("|---|---:|---:|");
  console.log(`| ${UNFINISHED.toLocaleString()} unfinished only | ${UNFINISHED} | ${s.toFixed(0)} ms |`);
  console.log(`| ${UNFINISHED.toLocaleString()} unfinished + ${FINISHED.toLocaleString()} finished | ${UNFINISHED} | ${l.toFixed(0)} ms (${(l / s).toFixed(2)}x) |`);
  console.log(`| ${FINISHED.toLocaleString()} finished, nothing unfinished | 0 | ${median(times.idle).toFixed(1)} ms |`);

  const since = new Date().toISOString();
  for (const [what, sql] of [
    ["trainings claim", `SELECT id FROM ${large.s}.trainings WHERE status IN ('pending', 'training') AND (reconcile_after IS NULL OR reconcile_after <= '${since}') ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED`],
    [
      "generations claim",
      `SELECT id FROM ${large.s}.generations WHERE (status IN ('pending', 'unknown', 'starting', 'processing') OR (status = 'succeeded' AND (outputs IS NULL OR outputs @> '[{"file": null}]'::jsonb))) AND (reconcile_after IS NULL OR reconcile_after <= '${since}') ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED`,
    ],
  ] as const) {
    const plan = await large.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`);
    console.log(`\n${what}:\n${plan.rows.map((r) => `  ${r["QUERY PLAN"]}`).join("\n")}`);
  }
} finally {
  await pool.end();
  await emu.close();
}
