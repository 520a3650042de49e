/**
 * `sselfie costs` at scale: the report (totals per kind, per user, one GROUPING SETS pass over the
 * covering indexes of migration 0007) on 1,000,000 generations and 10,000 trainings of 10,000
 * users, against a bare `sum()` of the same rows' costs; also with --user and --since. Alternating
 * rounds, medians, ratio = median(report) / median(bare sum).
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/costs.ts [generations] [runs]
 *
 * The generated schema (`bench_costs_<generations>`) is kept between runs and rebuilt when its
 * recipe changes; BENCH_FRESH=1 rebuilds it.
 */
import pg from "pg";
import { costsReport } from "../src/costs/report.js";
import { createPgDatabase } from "../src/db/pg.js";
import type { Database } from "../src/db/types.js";
import { LOCKED_GENERATION_INPUT, TRAINER_REF } from "../src/locked.js";
import { canonicalParts } from "./locked-sql.js";
import { median } from "./stats.js";

const { migrate } = await import("../src/db/migrate.js");

const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!databaseUrl) throw new Error("Set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server.");
const GENERATIONS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 15);
const USERS = 10_000;
const RECIPE = "v2: 10,000 users, 1 training each, generations spread over 90 days naming their training, gpu-h100 price";
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function seed(pool: pg.Pool): Promise<Database> {
  const db = createPgDatabase(pool, `bench_costs_${GENERATIONS}`, { ownsPool: false });
  const marker = await db
    .query<{ recipe: string }>(`SELECT recipe FROM ${db.s}.bench_marker`)
    .then((r) => r.rows[0]?.recipe)
    .catch(() => undefined);
  if (marker === RECIPE && !process.env.BENCH_FRESH) return db;
  console.log(`seeding ${db.schema} (${GENERATIONS.toLocaleString()} generations)…`);
  const t0 = process.hrtime.bigint();
  await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
  await migrate(db);
  const model = `'bench/u' || u || '-selfie-lora'`;
  const version = `encode(sha256(('v' || u)::bytea), 'hex')`;
  const c = canonicalParts();
  const hash = `encode(sha256(convert_to(${lit(c.before)} || to_json('useru' || u)::text || ${lit(c.between)} || (i % 1000000) || ${lit(c.after)}, 'UTF8')), 'hex')`;
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL session_replication_role = replica").catch(() => undefined);
    await tx.exec(`INSERT INTO ${db.s}.users (id) SELECT 'u' || u FROM generate_series(1, ${USERS}) u`);
    await tx.exec(
      `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status,
         output_version, predict_time, total_time, price_per_second, cost_usd, finished_at)
       SELECT 'u' || u, 'tr' || u, ${lit(TRAINER_REF)}, ${model}, '{}'::jsonb, 'completed', 'succeeded', ${version},
         pt, pt + 30, 0.001525, pt::numeric * 0.001525, now() - (u % 90) * interval '1 day'
       FROM (SELECT u, 1200 + (u % 600) AS pt FROM generate_series(1, ${USERS}) u) x`,
    );
    await tx.exec(
      `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed, status, replicate_prediction_id,
         predict_time, total_time, price_per_second, cost_usd, created_at, finished_at, training_id)
       SELECT 'u' || u, ${model} || ':' || ${version}, 'useru' || u,
         ${lit(JSON.stringify(LOCKED_GENERATION_INPUT))}::jsonb || jsonb_build_object('guidance_scale', 2.8, 'prompt', 'useru' || u, 'seed', i % 1000000),
         ${hash}, i % 1000000, 'succeeded', 'p' || i,
         pt, pt + 2, 0.001525, pt::numeric * 0.001525, fin, fin, t.id
       FROM (SELECT i, 1 + i % ${USERS} AS u, 8 + (i % 1000) / 100.0 AS pt, now() - (i % 90) * interval '1 day' AS fin
             FROM generate_series(1, ${GENERATIONS}) i) x
       JOIN ${db.s}.trainings t ON t.replicate_training_id = 'tr' || u`,
    );
  });
  await db.exec(`VACUUM ANALYZE ${db.s}.trainings, ${db.s}.generations`);
  await db.exec(`CREATE TABLE ${db.s}.bench_marker (recipe text); INSERT INTO ${db.s}.bench_marker VALUES (${lit(RECIPE)})`);
  console.log(`seeded in ${(ms(t0) / 1000).toFixed(0)} s`);
  return db;
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
try {
  const db = await seed(pool);
  const since = new Date(Date.now() - 7 * 86_400_000);
  const cases: Record<string, () => Promise<unknown>> = {
    "bare sum() of generations + trainings": () =>
      db.query(`SELECT (SELECT sum(cost_usd) FROM ${db.s}.generations) + (SELECT sum(cost_usd) FROM ${db.s}.trainings)`),
    "costs (all users)": () => costsReport(db, db.s, {}),
    "costs --since (7 days)": () => costsReport(db, db.s, { since }),
    "costs --user": () => costsReport(db, db.s, { userId: "u4242" }),
  };
  const times = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
  for (const run of Object.values(cases)) await run(); // warm-up
  for (let r = 0; r < RUNS; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      await run();
      times.get(name)!.push(ms(t0));
    }
  }
  const bare = median(times.get("bare sum() of generations + trainings")!);
  console.log(`${GENERATIONS.toLocaleString()} generations, ${USERS.toLocaleString()} trainings, ${RUNS} runs each (medians):`);
  for (const [name, xs] of times) console.log(`  ${name.padEnd(40)} ${median(xs).toFixed(1).padStart(9)} ms  ${(median(xs) / bare).toFixed(2)}x`);
  const report = await costsReport(db, db.s, {});
  console.log(`  report: total ${report.total} USD, ${report.generations.count} generations, ${report.users.length} users`);
  const plan = await db.query<{ "QUERY PLAN": string }>(
    `EXPLAIN SELECT user_id, sum(cost_usd) FROM ${db.s}.generations WHERE price_per_second IS NOT NULL GROUP BY user_id`,
  );
  console.log(plan.rows.map((r) => `    ${r["QUERY PLAN"]}`).join("\n"));
} finally {
  await pool.end();
}
