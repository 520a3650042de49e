/**
 * The identity check's share of `train` before the upload: `startTraining` on 20 photos of one
 * person (the embedded database, the Replicate emulator over HTTP), in a fresh process, first with
 * the identity check off (another user: preparation alone, which also warms sharp), then on (the
 * face model's cold load included). "Before the upload" ends when the gateway's upload starts.
 *
 *   npx tsx bench/identity-train.ts [runs=3]
 */
import "../test/support/sql-loader.mjs";
import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

interface Phase {
  beforeUploadMs: number;
  totalMs: number;
  /** CPU time of this process (all threads) over the whole call. */
  cpuMs: number;
}

async function child(): Promise<{ off: Phase; on: Phase }> {
  const { openDatabase } = await import("../src/db/connect.js");
  const { migrate } = await import("../src/db/migrate.js");
  const { startTraining } = await import("../src/training/index.js");
  const { makeContext } = await import("../test/support/context.js");
  const { startEmulator } = await import("../test/support/emulator/index.js");
  const { personSet, writeImages } = await import("../test/support/face-photos.js");
  const home = await mkdtemp(join(tmpdir(), "sselfie-bench-id-"));
  const db = await openDatabase({ home });
  await migrate(db);
  const emu = await startEmulator({ training: { startingMs: 60_000, processingMs: 60_000 } });
  const images = join(home, "photos");
  // Shaped like phone photos after preparation's resize: JPEG, longer side 1440.
  const { default: sharp } = await import("sharp");
  const photos = await personSet("alex", 20);
  for (const p of photos) p.bytes = await sharp(p.bytes).resize(1440, 1440, { fit: "inside" }).jpeg({ quality: 95 }).toBuffer();
  writeImages(images, photos);
  const phase = async (userId: string, identityCheck: boolean): Promise<Phase> => {
    const ctx = makeContext(db, emu, { identityCheck });
    const upload = ctx.gateway.uploadFile.bind(ctx.gateway);
    let uploadAt = 0;
    ctx.gateway.uploadFile = (...args: Parameters<typeof upload>) => {
      uploadAt ||= performance.now();
      return upload(...args);
    };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await startTraining(ctx, "bench", { userId, images });
    const c = process.cpuUsage(c0);
    return { beforeUploadMs: uploadAt - t0, totalMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
  const off = await phase("bench-off", false);
  const on = await phase("bench-on", true);
  await emu.close();
  await db.close();
  return { off, on };
}

if (process.argv[2] === "child") {
  process.stdout.write(JSON.stringify(await child()));
} else {
  const runs = Number(process.argv[2] ?? 3);
  const results: { off: Phase; on: Phase }[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "child"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`run ${i + 1} failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { off: Phase; on: Phase });
  }
  const m = (f: (r: { off: Phase; on: Phase }) => number) => median(results.map(f));
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`runs: ${runs}, node ${process.version}, 20 photos of one person, embedded database, emulator`);
  console.log(`identity off: before upload ${s(m((r) => r.off.beforeUploadMs))} of ${s(m((r) => r.off.totalMs))} wall; ${s(m((r) => r.off.cpuMs))} cpu`);
  console.log(`identity on:  before upload ${s(m((r) => r.on.beforeUploadMs))} of ${s(m((r) => r.on.totalMs))} wall; ${s(m((r) => r.on.cpuMs))} cpu`);
  console.log(`face checks: ${s(m((r) => r.on.beforeUploadMs - r.off.beforeUploadMs))}, ${(100 * m((r) => (r.on.beforeUploadMs - r.off.beforeUploadMs) / r.on.totalMs)).toFixed(0)}% of train's total time (to the training's creation)`);
}
