/**
 * Overhead of one SDK generation against a bare `replicate` client doing the same request, both
 * against the emulator with no simulated model time (predictions complete at once), so what is
 * measured is client-side work, HTTP and (for the SDK) the database.
 *
 *   bare: replicate.predictions.create({version, input, wait: 60}), then fetch the 3 outputs and
 *         write them to files.
 *   sdk:  generate(ctx, ...): validation, resolution, the cached schema check, the record before
 *         the call, the same create, streamed and verified downloads, the record after, the event.
 *
 * Runs interleaved, reports medians, the median of per-pair ratios, and the target
 * sdk <= 1.2 x (bare + the SDK's database round trips).
 * Run: npx tsx bench/generation.ts [runs]   (BENCH_DATABASE_URL or TEST_DATABASE_URL: PostgreSQL; else embedded)
 */
// Migrations are imported as `.sql` text (tsup and vitest do this at build time); teach tsx the same.
import "../test/support/sql-loader.mjs";
import { median } from "./stats.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Replicate from "replicate";
import { openDatabase } from "../src/db/connect.js";
import type { Database } from "../src/db/types.js";
import { generate } from "../src/generation/generate.js";
import { buildGenerationInput } from "../src/locked.js";
import { makeContext } from "../test/support/context.js";
import { startEmulator } from "../test/support/emulator/index.js";
import { plantUser } from "../test/generation/plant.js";

const { migrate } = await import("../src/db/migrate.js");

const runs = Number(process.argv[2] ?? 60);
const databaseUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;


async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Counts the SDK's statements and commits and the time it spends waiting on them: the price of
 * its database round trips (writes include the server's commit flush).
 */
function timed(db: Database): Database & { statements: number; commits: number; ms: number } {
  const wrapped = Object.create(db) as Database & { statements: number; commits: number; ms: number };
  wrapped.statements = 0;
  wrapped.commits = 0;
  wrapped.ms = 0;
  const clock = async <T>(fn: () => Promise<T>): Promise<T> => {
    const start = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      wrapped.ms += Number(process.hrtime.bigint() - start) / 1e6;
    }
  };
  wrapped.query = ((sql: string, params?: readonly unknown[]) => {
    wrapped.statements++;
    if (!/^\s*SELECT/i.test(sql)) wrapped.commits++;
    return clock(() => db.query(sql, params));
  }) as Database["query"];
  wrapped.transaction = ((fn: Parameters<Database["transaction"]>[0]) => {
    wrapped.commits++;
    return clock(() =>
      db.transaction((tx) => {
        const counted = Object.create(tx) as typeof tx;
        counted.query = ((sql: string, params?: readonly unknown[]) => {
          wrapped.statements++;
          return tx.query(sql, params);
        }) as typeof tx.query;
        return fn(counted);
      }),
    );
  }) as Database["transaction"];
  return wrapped;
}

const emulator = await startEmulator({ prediction: { durationMs: 0 }, rateLimit: { predictionsPerMinute: 1e6, otherPerMinute: 1e6 } });
const home = await mkdtemp(join(tmpdir(), "sselfie-bench-"));
const schema = `bench_${process.pid}`;
const raw = await openDatabase({ databaseUrl, home, schema });
await migrate(raw);
const db = timed(raw);
const out = await mkdtemp(join(tmpdir(), "sselfie-bench-out-"));
try {
  const model = await plantUser(raw, emulator, "bench1");
  const ctx = makeContext(db, emulator);
  const client = new Replicate({ auth: emulator.token, baseUrl: emulator.url });

  let n = 0;
  const bare = async () => {
    const i = n++;
    const input = buildGenerationInput("userbench1, portrait", i % 1_000_000, "guidance_scale");
    const prediction = await client.predictions.create({ version: model.ref, input, wait: 60 });
    const urls = prediction.output as string[];
    await Promise.all(
      urls.map(async (url, k) => {
        const res = await fetch(url);
        await writeFile(join(out, `bare-${prediction.id}-${k}.png`), Buffer.from(await res.arrayBuffer()));
      }),
    );
  };
  const sdk = () => generate(ctx, "bench", { userId: "bench1", prompt: "userbench1, portrait", outDir: out });

  for (let i = 0; i < 5; i++) {
    await bare();
    await sdk();
  }
  const before = { statements: db.statements, commits: db.commits };
  await sdk();
  const statements = db.statements - before.statements;
  const commits = db.commits - before.commits;

  const samples = { bare: [] as number[], sdk: [] as number[], db: [] as number[] };
  const ratios: number[] = [];
  const targetRatios: number[] = [];
  for (let i = 0; i < runs; i++) {
    let bareMs = 0;
    let sdkMs = 0;
    let dbMs = 0;
    const runSdk = async () => {
      const start = db.ms;
      sdkMs = await time(sdk);
      dbMs = db.ms - start;
    };
    // Alternate the order so neither side always runs on a warmer connection.
    if (i % 2) {
      await runSdk();
      bareMs = await time(bare);
    } else {
      bareMs = await time(bare);
      await runSdk();
    }
    samples.bare.push(bareMs);
    samples.sdk.push(sdkMs);
    samples.db.push(dbMs);
    ratios.push(sdkMs / bareMs);
    targetRatios.push(sdkMs / (bareMs + dbMs));
  }
  const b = median(samples.bare);
  const s = median(samples.sdk);
  const d = median(samples.db);
  console.log(`runs: ${runs} pairs, interleaved; node ${process.version}; database: ${databaseUrl ? "PostgreSQL" : "embedded PGlite"}`);
  console.log(`bare replicate client        median ${b.toFixed(2)} ms`);
  console.log(`sselfie generate()           median ${s.toFixed(2)} ms`);
  console.log(`  of which database waits    median ${d.toFixed(2)} ms (${statements} statements, ${commits} commits per generation)`);
  console.log(`median ratio sdk/bare        ${median(ratios).toFixed(2)}x`);
  console.log(`median ratio sdk/(bare + db) ${median(targetRatios).toFixed(2)}x  (target <= 1.20x)`);
} finally {
  await raw.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await raw.close();
  await emulator.close();
  await rm(out, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
}
