/**
 * The audit at scale.
 *
 *   db:     `runAudit` (database checks) on 100,000 and 1,000,000 users generated on the server
 *           with generate_series, against bare full scans of the same tables (count(*) of users,
 *           user_models, trainings, generations; a read of only the columns the audit reads; a
 *           read of every column), alternating, medians and the median ratios.
 *   remote: `runAudit --remote` of N models (default 10,000) against the emulator at its rate
 *           limit (3,000 requests a minute), against the limit's floor for the requests it made.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/audit.ts db [sizes] [runs]
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx --import ./test/support/sql-loader.mjs bench/audit.ts remote [models]
 *
 * Generated schemas (`bench_audit_<users>`) are kept between runs and rebuilt when their recipe
 * changes; BENCH_FRESH=1 rebuilds them.
 */
import pg from "pg";
import { runAudit } from "../src/audit/index.js";
import { canonicalParts } from "./locked-sql.js";
import { median } from "./stats.js";
import type { SselfieContext } from "../src/context.js";
import { createPgDatabase } from "../src/db/pg.js";
import type { Database, Transaction } from "../src/db/types.js";
import { extractInputSchema } from "../src/generation/input-schema.js";
import {
  LOCKED_GENERATION_INPUT,
  TRAINER_REF,
  buildGenerationInput,
  canonicalJson,
  hashInput,
} from "../src/locked.js";
import { createReplicateGateway } from "../src/replicate/index.js";
import { startEmulator, trainedModelInputSchema, TRAINER_VERSION } from "../test/support/emulator/index.js";

// Run with `--import ./test/support/sql-loader.mjs`: src/audit imports migration SQL statically.
const { migrate } = await import("../src/db/migrate.js");

const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
if (!databaseUrl && process.argv[2] !== "embedded") throw new Error("Set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server.");
const OWNER = "bench";
/** Bump when the generated data changes, so kept schemas are rebuilt. */
const RECIPE = "v4: 1 completed training each (identity checked), a failed retraining every 10th user, 2 generations, 1 cached schema, the owner's capacity";

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Kept schemas predate later migrations (0002: the audit's index, constraint and unique index;
 * 0010: each generation's training, backfilled). A migration that rewrote rows leaves the old
 * versions behind: the tables are compacted, so that they are laid out as a fresh seed's.
 */
async function applyAuditIndexes(db: Database, kept = false): Promise<void> {
  // Earlier benchmark runs created 0002's first index by hand, before the migration shipped.
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.migrations WHERE version = 2`);
  if (rows[0]!.n === 0) await db.exec(`DROP INDEX IF EXISTS ${db.s}.model_version_schemas_usual_inputs`);
  const t0 = process.hrtime.bigint();
  const { applied } = await migrate(db);
  const tables = `${db.s}.users, ${db.s}.user_models, ${db.s}.trainings, ${db.s}.model_version_schemas, ${db.s}.generations`;
  // Migrations up to 0010 rewrote rows; 0011 and 0012 only add indexes.
  if (kept && applied.some((version) => version <= 10)) {
    console.log(`migrated the kept schema ${db.schema} (${applied.join(", ")}) in ${(ms(t0) / 1000).toFixed(0)} s; compacting…`);
    await db.exec(`VACUUM FULL ${tables}`);
  } else if (kept && applied.length > 0) {
    console.log(`migrated the kept schema ${db.schema} (${applied.join(", ")}) in ${(ms(t0) / 1000).toFixed(0)} s`);
  }
  // A compacted table has no page marked all-visible (VACUUM FULL does not mark them), so an
  // index-only scan would read the rows after all. A live database's autovacuum marks them; a
  // plain VACUUM does so here (cheap when nothing changed: it skips pages already marked).
  if (kept) {
    const t1 = process.hrtime.bigint();
    await db.exec(`VACUUM ANALYZE ${tables}`);
    console.log(`vacuumed ${db.schema} in ${(ms(t1) / 1000).toFixed(0)} s`);
  }
}

/** The canonical JSON of a locked input around its prompt and seed, to hash in SQL while seeding. */
async function seed(pool: pg.Pool, users: number): Promise<Database> {
  const schema = `bench_audit_${users}`;
  const db = createPgDatabase(pool, schema, { ownsPool: false });
  const marker = await db
    .query<{ recipe: string }>(`SELECT recipe FROM ${db.s}.bench_marker`)
    .then((r) => r.rows[0]?.recipe)
    .catch(() => undefined);
  if (marker === RECIPE && !process.env.BENCH_FRESH) {
    await applyAuditIndexes(db, true);
    return db;
  }
  console.log(`seeding ${schema} (${users.toLocaleString()} users)…`);
  await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
  await migrate(db);
  await applyAuditIndexes(db);
  await seedRows(db, users);
  return db;
}

/** The recipe's rows, into a migrated schema. */
async function seedRows(db: Database, users: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  const c = canonicalParts();
  const schemaJson = JSON.stringify(extractInputSchema({ components: { schemas: { Input: trainedModelInputSchema() } } }));
  const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const model = `${lit(`${OWNER}/u`)} || i || '-selfie-lora'`;
  const version = `encode(sha256(('v' || i)::bytea), 'hex')`;
  const statements = [
    `INSERT INTO ${db.s}.users (id, created_at) SELECT 'u' || i, '2024-01-01' FROM generate_series(1, ${users}) i`,
    `INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, current_training_id, version_updated_at, created_at)
       SELECT 'u' || i, ${model}, ${version}, 'useru' || i, 'completed', 'tr' || i, '2024-01-02', '2024-01-01' FROM generate_series(1, ${users}) i`,
    `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status,
       output_version, created_at, started_at, finished_at, updated_at, identity_check)
       SELECT 'u' || i, 'tr' || i, ${lit(TRAINER_REF)}, ${model},
         jsonb_build_object('input_images', 'https://api.replicate.com/v1/files/f' || i, 'trigger_word', 'useru' || i, 'steps', 1000),
         'https://api.replicate.com/v1/files/f' || i, 'completed', 'succeeded', ${version},
         '2024-01-01', '2024-01-01', '2024-01-01 01:00', '2024-01-01 01:00', 'passed' FROM generate_series(1, ${users}) i`,
    `INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status,
       error, created_at, started_at, finished_at, updated_at, identity_check)
       SELECT 'u' || i, 'trf' || i, ${lit(TRAINER_REF)}, ${model},
         jsonb_build_object('input_images', 'https://api.replicate.com/v1/files/g' || i, 'trigger_word', 'useru' || i, 'steps', 1000),
         'https://api.replicate.com/v1/files/g' || i, 'failed', 'failed', 'CUDA out of memory',
         '2024-01-03', '2024-01-03', '2024-01-03 01:00', '2024-01-03 01:00', 'passed' FROM generate_series(10, ${users}, 10) i`,
    // One owner holds every user (the owner-count trigger is off while seeding): its capacity is theirs.
    `INSERT INTO ${db.s}.owners (name, token_env, capacity, used, implicit) VALUES (${lit(OWNER)}, 'REPLICATE_API_TOKEN', ${users}, ${users}, true)`,
    `INSERT INTO ${db.s}.model_version_schemas (version_id, model_id, input_schema, fetched_at)
       SELECT ${version}, ${model}, ${lit(schemaJson)}::jsonb, '2024-01-02' FROM generate_series(1, ${users}) i`,
    `INSERT INTO ${db.s}.generations (user_id, version_ref, prompt, input, input_hash, seed, status, replicate_prediction_id, outputs, created_at, finished_at, updated_at,
       training_id)
       SELECT u, ref, p, ${lit(JSON.stringify(LOCKED_GENERATION_INPUT))}::jsonb || jsonb_build_object('guidance_scale', 2.8, 'prompt', p, 'seed', sd),
         encode(sha256(convert_to(${lit(c.before)} || to_json(p)::text || ${lit(c.between)} || sd || ${lit(c.after)}, 'UTF8')), 'hex'),
         sd, 'succeeded', 'p' || i || 'x' || g,
         jsonb_build_array(jsonb_build_object('url', 'https://replicate.delivery/x/' || i || '/' || g || '.png', 'file', '/out/' || i || '_' || g || '.png',
           'size', 1234567, 'sha256', encode(sha256(('o' || i || g)::bytea), 'hex'))),
         '2024-01-05', '2024-01-05', '2024-01-05', (SELECT t.id FROM ${db.s}.trainings t WHERE t.replicate_training_id = 'tr' || i)
       FROM (SELECT i, g, 'u' || i AS u, ${model} || ':' || ${version} AS ref,
               'useru' || i || ' portrait, studio light #' || g AS p, ((i::bigint * 7919 + g) % 1000000)::int AS sd
             FROM generate_series(1, ${users}) i, generate_series(1, 2) g) x`,
  ];
  await db.transaction(async (tx) => {
    // Skips the per-row foreign-key triggers (the rows are consistent by construction); needs a
    // superuser, and is only an optimisation.
    await tx.query("SET LOCAL session_replication_role = replica").catch(() => undefined);
    for (const sql of statements) await tx.exec(sql);
  });
  await db.exec(`VACUUM ANALYZE ${db.s}.users, ${db.s}.user_models, ${db.s}.trainings, ${db.s}.model_version_schemas, ${db.s}.generations`);
  // The seeding SQL hashes inputs with the audit's own formula; check a sample with locked.ts.
  const sample = await db.query<{ input: Record<string, unknown>; input_hash: string; prompt: string; seed: number }>(
    `SELECT input, input_hash, prompt, seed FROM ${db.s}.generations TABLESAMPLE SYSTEM (1) LIMIT 500`,
  );
  for (const r of sample.rows) {
    if (hashInput(r.input) !== r.input_hash || canonicalJson(r.input) !== canonicalJson(buildGenerationInput(r.prompt, r.seed, "guidance_scale"))) {
      throw new Error(`seeded generation is not locked: ${JSON.stringify(r)}`);
    }
  }
  await db.exec(`CREATE TABLE ${db.s}.bench_marker (recipe text); INSERT INTO ${db.s}.bench_marker VALUES (${lit(RECIPE)})`);
  console.log(`seeded in ${(ms(t0) / 1000).toFixed(0)} s; ${sample.rows.length} sampled generations verified with locked.ts`);
}

function dbContext(db: Database): SselfieContext {
  return {
    db,
    webhookUrl: undefined,
    tmpDir: "/tmp",
    implicitOwner: async () => OWNER,
    gatewayForOwner: async () => {
      throw new Error("no Replicate in the database benchmark");
    },
    gatewayForUser: async () => {
      throw new Error("no Replicate in the database benchmark");
    },
  };
}

/** The database, with each statement of the audit's transaction timed and labelled. */
function timed(db: Database, log: Map<string, number[]>): Database {
  const label = (sql: string) => {
    if (sql.startsWith("SET")) return "settings";
    const table = /FROM\s+"[^"]+"\.(\w+)\s+x/.exec(sql)?.[1] ?? "other";
    const kind = /row_number\(\)/.test(sql) ? "list" : /NOT EXISTS|EXISTS \(SELECT 1 FROM "[^"]+"\.(trainings|user_models) o/.test(sql) && !/FILTER/.test(sql) ? "join rule" : "rules pass";
    return `${table} ${kind}`;
  };
  const wrap = (tx: Transaction): Transaction => ({
    ...tx,
    async query(sql, params) {
      const t0 = process.hrtime.bigint();
      try {
        return await tx.query(sql, params);
      } finally {
        const key = label(sql);
        log.set(key, [...(log.get(key) ?? []), ms(t0)]);
      }
    },
  });
  return { ...db, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
}

const TABLES = ["users", "user_models", "trainings", "generations"];

/**
 * count(*) of each table: every page read, no column looked at. With the visibility map set the
 * planner counts a table from its smallest index instead (a few percent of its pages): `heap`
 * keeps the floor what it says, a scan of every page of the rows; `heap: false` is the planner's
 * own count(*), measured beside it.
 */
async function bareScan(db: Database, heap = true): Promise<number> {
  return db.transaction(async (tx) => {
    if (heap) await tx.exec("SET LOCAL enable_indexonlyscan = off; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off");
    const t0 = process.hrtime.bigint();
    for (const table of TABLES) await tx.query(`SELECT count(*) FROM ${db.s}.${table}`);
    return ms(t0);
  });
}

/** Every row formed whole (pg_column_size of the row): every byte of every column touched once. */
async function bareRead(db: Database): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const table of TABLES) await db.query(`SELECT sum(pg_column_size(t.*)) FROM ${db.s}.${table} t`);
  return ms(t0);
}

/**
 * Only the columns the audit reads, each value touched once (pg_column_size): the honest floor for
 * a single pass over the same tables, without the joins and tests.
 */
const AUDITED_COLUMNS: Record<string, string[]> = {
  users: ["id"],
  user_models: ["user_id", "replicate_model_id", "replicate_version_id", "training_status"],
  trainings: ["user_id", "trainer_version", "destination", "input", "status", "output_version", "version_ref", "finished_at", "updated_at", "identity_check"],
  generations: ["training_id", "user_id", "version_ref", "input", "created_at"],
};
async function bareColumns(db: Database): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const table of TABLES) {
    const size = AUDITED_COLUMNS[table]!.map((c) => `coalesce(pg_column_size(t.${c}), 0)`).join(" + ");
    await db.query(`SELECT sum(${size}) FROM ${db.s}.${table} t`);
  }
  return ms(t0);
}

async function benchDatabase(sizes: number[], runs: number): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  try {
    for (const users of sizes) {
      const db = await seed(pool, users);
      const perQuery = new Map<string, number[]>();
      const thisRun = new Map<string, number[]>();
      const audited = timed(db, thisRun);
      const ctx = dbContext(audited);
      // Warm the cache once, unmeasured.
      await bareScan(db);
      const warm = await runAudit(ctx);
      if (!warm.ok) throw new Error(`benchmark data is not clean: ${JSON.stringify(warm.counts)}`);
      thisRun.clear();
      const bare: number[] = [];
      const bareAny: number[] = [];
      const read: number[] = [];
      const audit: number[] = [];
      const ratios: number[] = [];
      const readRatios: number[] = [];
      const cols: number[] = [];
      const colRatios: number[] = [];
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? ["bare", "cols", "read", "audit"] : ["audit", "read", "cols", "bare"];
        const t: Record<string, number> = {};
        for (const which of order) {
          if (which === "bare") {
            t.bare = await bareScan(db);
            t.bareAny = await bareScan(db, false);
          }
          else if (which === "read") t.read = await bareRead(db);
          else if (which === "cols") t.cols = await bareColumns(db);
          else {
            const t0 = process.hrtime.bigint();
            await runAudit(ctx);
            t.audit = ms(t0);
            // Each label's queries of this run, added up (a pass may be more than one query).
            for (const [key, xs] of thisRun) perQuery.set(key, [...(perQuery.get(key) ?? []), xs.reduce((a, b) => a + b, 0)]);
            thisRun.clear();
          }
        }
        bare.push(t.bare!);
        bareAny.push(t.bareAny!);
        read.push(t.read!);
        audit.push(t.audit!);
        ratios.push(t.audit! / t.bare!);
        readRatios.push(t.audit! / t.read!);
        cols.push(t.cols!);
        colRatios.push(t.audit! / t.cols!);
      }
      const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
      console.log(
        `\n${users.toLocaleString()} users (${warm.checked.trainings.toLocaleString()} trainings, ${warm.checked.generations.toLocaleString()} generations), ${runs} runs, load ${load}`,
      );
      console.log(`  bare scan, count(*)        median ${median(bare).toFixed(0)} ms (every page of the rows)`);
      console.log(`  count(*), planner's choice median ${median(bareAny).toFixed(0)} ms (from an index where the visibility map allows)`);
      console.log(`  bare read, audited columns median ${median(cols).toFixed(0)} ms`);
      console.log(`  bare read, every column    median ${median(read).toFixed(0)} ms`);
      console.log(
        `  audit                      median ${median(audit).toFixed(0)} ms   ratio to scan ${median(ratios).toFixed(2)}x, to audited columns ${median(colRatios).toFixed(2)}x, to read ${median(readRatios).toFixed(2)}x`,
      );
      for (const [key, xs] of perQuery) {
        if (key !== "settings") console.log(`    ${key.padEnd(26)} median ${median(xs).toFixed(0)} ms (its queries in one audit, added up)`);
      }
    }
  } finally {
    await pool.end();
  }
}

async function benchRemote(models: number): Promise<void> {
  const PER_MINUTE = 3_000;
  const emu = await startEmulator();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const db = createPgDatabase(pool, "bench_audit_remote", { ownsPool: false });
  try {
    await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`);
    await migrate(db);
    await applyAuditIndexes(db);
    const gateway = createReplicateGateway({ apiToken: emu.token, baseUrl: emu.url, maxConcurrency: 8 });
    console.log(`creating ${models.toLocaleString()} models and trainings at the emulator…`);
    const rows: Array<{ user: string; model: string; version: string; training: string }> = [];
    for (let i = 0; i < models; i++) {
      // Seeding is not measured: move the emulator's clock past its rate window as needed.
      if (i % 2_500 === 0) emu.advance(61_000);
      const user = `m${i}`;
      const model = `${emu.owner}/${user}-selfie-lora`;
      emu.createModel(model, { visibility: "private", hardware: "gpu-h100" });
      const t = await gateway.createTraining({
        trainerOwner: "ostris",
        trainerName: "flux-dev-lora-trainer",
        trainerVersion: TRAINER_VERSION,
        destination: model,
        input: { input_images: `https://example.invalid/${user}.zip`, trigger_word: `user${user}` },
      });
      emu.finishTraining(t.id, "succeeded");
      rows.push({ user, model, version: emu.trainings.get(t.id)!.output!.version.split(":")[1]!, training: t.id });
    }
    // The emulator's owner holds every model: room for them all.
    await db.query(`INSERT INTO ${db.s}.owners (name, token_env, capacity, implicit) VALUES ($1, 'REPLICATE_API_TOKEN', $2, true)`, [emu.owner, models]);
    await db.query(
      `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r("user" text, model text, version text, training text)),
       u AS (INSERT INTO ${db.s}.users (id) SELECT "user" FROM r),
       m AS (INSERT INTO ${db.s}.user_models (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, current_training_id)
             SELECT "user", model, version, 'user' || "user", 'completed', training FROM r)
       INSERT INTO ${db.s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, status, replicate_status, output_version, finished_at,
         identity_check)
       SELECT "user", training, $2, model, jsonb_build_object('input_images', 'https://example.invalid/' || "user" || '.zip', 'trigger_word', 'user' || "user"),
              'completed', 'succeeded', version, now(), 'passed' FROM r`,
      [JSON.stringify(rows), TRAINER_REF],
    );
    emu.advance(61_000);
    emu.clearRequests();
    const ctx: SselfieContext = {
      db,
      webhookUrl: undefined,
      tmpDir: "/tmp",
      implicitOwner: async () => emu.owner,
      gatewayForOwner: async () => gateway,
      gatewayForUser: async () => gateway,
    };
    console.log(`auditing at ${PER_MINUTE} requests a minute…`);
    const t0 = process.hrtime.bigint();
    const report = await runAudit(ctx, { remote: true, ratePerMinute: PER_MINUTE, concurrency: 8 });
    const took = ms(t0) / 1000;
    if (!report.ok) throw new Error(`remote benchmark data is not clean: ${JSON.stringify(report.counts)}`);
    const answered = emu.requests.filter((r) => r.status !== 429);
    const throttled = emu.requests.length - answered.length;
    const calls = answered.length;
    // A sliding one-minute window lets PER_MINUTE through at once and the next PER_MINUTE a minute
    // after the first: the last of `calls` requests cannot start before this.
    const floor = (Math.ceil(calls / PER_MINUTE) - 1) * 60;
    const byKind = new Map<string, number>();
    for (const r of answered) {
      const kind = r.path.replace(/\/v1\/models\/[^/]+\/[^/]+\/versions\/.+/, "GET version").replace(/\/v1\/models\/.+/, "GET model").replace(/\/v1\/trainings\/.+/, "GET training");
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    }
    console.log(`\n${models.toLocaleString()} models, load ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`);
    console.log(`  requests: ${calls.toLocaleString()} answered (${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}), ${throttled} throttled (429)`);
    console.log(`  audit ${took.toFixed(1)} s; the limit's floor for ${calls} requests ${floor} s; ratio ${(took / Math.max(floor, 1)).toFixed(3)}`);
    console.log(`  checked ${report.checked.remoteModels} models, unverified ${report.unverified.length}`);
  } finally {
    await db.exec(`DROP SCHEMA IF EXISTS ${db.s} CASCADE`).catch(() => undefined);
    await pool.end();
    await emu.close();
  }
}

/**
 * The audit on the embedded database (PGlite, a data directory made from the package's pre-built
 * one and seeded with the same recipe, kept in bench/.tmp), opened with PGlite's default 128 MB of
 * shared buffers and with sselfie's 16 MB (src/db/pglite.ts), alternating; each open also times
 * count(*) of every page of the four tables, as the floor.
 */
async function benchEmbedded(users: number, runs: number): Promise<void> {
  const { existsSync, mkdirSync } = await import("node:fs");
  const { PGlite } = await import("@electric-sql/pglite");
  const { createPgliteDatabase, EMBEDDED_SHARED_BUFFERS } = await import("../src/db/pglite.js");
  const { unpackDataDir } = await import("../src/db/unpack-data-dir.js");
  const dir = new URL(`./.tmp/audit-embedded-${users}`, import.meta.url).pathname;
  const open = async (buffers: string) => {
    const pglite = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${buffers}`] });
    return { pglite, db: createPgliteDatabase(pglite, "sselfie") };
  };
  if (!existsSync(`${dir}/PG_VERSION`)) {
    mkdirSync(new URL("./.tmp/", import.meta.url), { recursive: true });
    await unpackDataDir(new URL("../dist/embedded-db.tar.gz", import.meta.url).pathname, dir);
    const { pglite, db } = await open("128MB");
    console.log(`seeding ${dir} (${users.toLocaleString()} users)…`);
    await seedRows(db, users);
    await pglite.close();
  }
  const settings = ["128MB", EMBEDDED_SHARED_BUFFERS];
  const times = new Map<string, { floor: number[]; audit: number[] }>(settings.map((b) => [b, { floor: [], audit: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const buffers of i % 2 === 0 ? settings : [...settings].reverse()) {
      const { pglite, db } = await open(buffers);
      try {
        const t0 = process.hrtime.bigint();
        for (const table of TABLES) await db.query(`SELECT count(*) FROM ${db.s}.${table}`);
        const floor = ms(t0);
        const t1 = process.hrtime.bigint();
        const report = await runAudit(dbContext(db));
        if (!report.ok) throw new Error(`benchmark data is not clean: ${JSON.stringify(report.counts)}`);
        times.get(buffers)!.floor.push(floor);
        times.get(buffers)!.audit.push(ms(t1));
      } finally {
        await pglite.close();
      }
    }
  }
  console.log(`\nembedded, ${users.toLocaleString()} users, ${runs} runs, load ${(await import("node:os")).loadavg()[0]!.toFixed(1)}`);
  for (const [buffers, t] of times) {
    console.log(`  shared_buffers ${buffers.padEnd(6)} count(*) median ${median(t.floor).toFixed(0)} ms, audit median ${median(t.audit).toFixed(0)} ms (${(median(t.audit) / median(t.floor)).toFixed(2)}x)`);
  }
}

const [mode = "db", arg1, arg2] = process.argv.slice(2);
if (mode === "db") {
  const sizes = (arg1 ?? "100000,1000000").split(",").map(Number);
  await benchDatabase(sizes, Number(arg2 ?? 5));
} else if (mode === "remote") {
  await benchRemote(Number(arg1 ?? 10_000));
} else if (mode === "embedded") {
  await benchEmbedded(Number(arg1 ?? 50_000), Number(arg2 ?? 3));
} else {
  throw new Error(`Unknown mode ${mode}: use db, remote or embedded`);
}
