/**
 * Placing a new user on an owner, at scale: 10 owners holding 100,000 placed users between them.
 * Each placement is the claim transaction's placement part: the users row, then the one INSERT of
 * src/db/owners.ts (placeNewUser) that chooses the owner with the most free places, locks it and
 * inserts the model row, whose trigger counts the user on the owner. It is compared with the
 * plain INSERT of a model row under a fixed owner (what placing cost before owners existed), one
 * after the other, alternating; then the same placements from 8 connections at once (they all
 * want the owner with the most room, so they queue on its row). The plan (EXPLAIN ANALYZE) shows
 * that no statement reads user_models beyond the row it inserts.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/placement.ts [users] [placements]
 *
 * The generated schema (`bench_placement_<users>`) is kept between runs; BENCH_FRESH=1 rebuilds it.
 */
import pg from "pg";
import { placeNewUser, placementStatement, type PlacementCandidates } from "../src/db/owners.js";
import { createPgDatabase } from "../src/db/pg.js";
import type { Database } from "../src/db/types.js";
import { median } from "./stats.js";

const { migrate } = await import("../src/db/migrate.js");

const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!databaseUrl) throw new Error("Set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server.");
const USERS = Number(process.argv[2] ?? 100_000);
const PLACEMENTS = Number(process.argv[3] ?? 2_000);
const OWNERS = 10;
const CONCURRENCY = 8;
const ADDED: PlacementCandidates = { added: true };

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function seeded(pool: pg.Pool): Promise<Database> {
  const db = createPgDatabase(pool, `bench_placement_${USERS}`, { ownsPool: false });
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'owners'`,
    [db.schema],
  );
  if (rows[0]!.n === 1 && !process.env.BENCH_FRESH) {
    await db.exec(`DELETE FROM ${db.s}.user_models WHERE user_id LIKE 'new%'; DELETE FROM ${db.s}.users WHERE id LIKE 'new%'`);
    return db;
  }
  await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
  await migrate(db);
  const t0 = process.hrtime.bigint();
  // Room for every placed user and every placement of the runs, spread unevenly.
  await db.query(
    `INSERT INTO ${db.s}.owners (name, token_env, capacity)
     SELECT 'owner' || i, 'REPLICATE_TOKEN_OWNER' || i, $1::int + i * 1000 FROM generate_series(1, $2::int) i`,
    [Math.ceil(USERS / OWNERS) + 4 * PLACEMENTS, OWNERS],
  );
  await db.query(`INSERT INTO ${db.s}.users (id) SELECT 'user' || i FROM generate_series(1, $1::int) i`, [USERS]);
  // Through the trigger, as placements do: the owners' counters are the users' true counts.
  await db.query(
    `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status)
     SELECT 'user' || i, 'owner' || (1 + i % $2::int) || '/user' || i || '-selfie-lora', 'useruser' || i, 'failed'
     FROM generate_series(1, $1::int) i`,
    [USERS, OWNERS],
  );
  for (const table of ["owners", "user_models", "users"]) await db.query(`VACUUM ANALYZE ${db.s}.${table}`);
  console.log(`seeded ${USERS} users on ${OWNERS} owners in ${(ms(t0) / 1000).toFixed(1)} s`);
  return db;
}

let seq = 0;
/** One placement as the claim does it: users row, then the placement statement, in one transaction. */
async function place(db: Database): Promise<number> {
  const userId = `new${++seq}`;
  return db.transaction(async (tx) => {
    await tx.query(`INSERT INTO ${db.s}.users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
    const t0 = process.hrtime.bigint();
    const owner = await placeNewUser(tx, db.s, { userId, triggerWord: `user${userId}`, candidates: ADDED });
    const took = ms(t0);
    if (owner === null) throw new Error("no owner had room");
    return took;
  });
}

/** The same transaction with the model row inserted under a fixed owner (no choice, no lock). */
async function fixed(db: Database): Promise<number> {
  const userId = `new${++seq}`;
  return db.transaction(async (tx) => {
    await tx.query(`INSERT INTO ${db.s}.users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
    const t0 = process.hrtime.bigint();
    await tx.query(
      `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, trigger_word, training_status) VALUES ($1, $2, $3, 'pending')`,
      [userId, `owner1/${userId}-selfie-lora`, `user${userId}`],
    );
    return ms(t0);
  });
}

const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY });
try {
  const db = await seeded(pool);
  for (let i = 0; i < 50; i++) await place(db); // warm-up

  const placing: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < PLACEMENTS; i++) {
    placing.push(await place(db));
    plain.push(await fixed(db));
  }

  const t0 = process.hrtime.bigint();
  const concurrent: number[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = 0; i < PLACEMENTS / CONCURRENCY; i++) concurrent.push(await place(db));
    }),
  );
  const wall = ms(t0);

  const userId = `new${++seq}`;
  await db.query(`INSERT INTO ${db.s}.users (id) VALUES ($1)`, [userId]);
  const plan = await db.transaction(async (tx) => {
    const statement = placementStatement(db.s, { userId, triggerWord: `user${userId}`, candidates: ADDED });
    const { rows } = await tx.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) ${statement.text}`,
      statement.values,
    );
    return rows.map((r) => r["QUERY PLAN"]);
  });

  const held = await db.query<{ name: string; used: number; capacity: number; counted: number }>(
    `SELECT o.name, o.used, o.capacity, (SELECT count(*)::int FROM ${db.s}.user_models m WHERE m.owner = o.name) AS counted
     FROM ${db.s}.owners o ORDER BY o.name`,
  );
  const drift = held.rows.filter((r) => r.used !== r.counted || r.used > r.capacity);
  const f = (x: number) => `${x.toFixed(3)} ms`;
  console.log(`\n${OWNERS} owners, ${USERS} placed users, ${PLACEMENTS} placements each way (PostgreSQL ${(await db.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v})`);
  console.log(`placement statement (choose, lock, insert, count): median ${f(median(placing))}, p95 ${f(pct(placing, 0.95))}`);
  console.log(`plain insert under a fixed owner:                  median ${f(median(plain))}, p95 ${f(pct(plain, 0.95))}`);
  console.log(`${CONCURRENCY} connections at once: ${PLACEMENTS} placements in ${(wall / 1000).toFixed(2)} s = ${((PLACEMENTS / wall) * 1000).toFixed(0)}/s; statement median ${f(median(concurrent))}, p95 ${f(pct(concurrent, 0.95))}`);
  console.log(`counters equal to the users counted, none over capacity: ${drift.length === 0 ? "yes" : `NO: ${JSON.stringify(drift)}`}`);
  console.log(`\nEXPLAIN ANALYZE of one placement:\n${plan.join("\n")}`);
} finally {
  await pool.end();
}
