/**
 * Benchmark: inspecting and packaging training photos (src/training/dataset).
 *
 *   npx tsx bench/packaging.ts [--runs 5] [--sizes 10,30,60]
 *
 * Generates ~4 MB JPEG photos once into bench/.tmp/ (gitignored), then for each set size runs
 * inspectImageSet + packageImageSet in a fresh child process per run, so each peak is clean, and
 * prints medians: wall time, peak RSS above the process's baseline, and the peak of
 * `process.memoryUsage().arrayBuffers` (where stream buffers live). Memory that stays flat while
 * the set grows from 40 to 240 MB is the point: nothing is held whole in memory.
 *
 * Sets of 30 and 60 such photos are over Replicate's 100 MB upload limit, so the child lifts that
 * limit (and the read budget) to measure the mechanics at scale.
 *
 * `--measure <folder> <outDir>` is the child's mode (also used by the dataset memory test): one
 * inspect + package of <folder>, one JSON line on stdout.
 */
import { spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const WORK = join(HERE, ".tmp", "packaging");
const PHOTO_WIDTH = 1800;
const PHOTO_HEIGHT = 1400;

export interface Measurement {
  images: number;
  setBytes: number;
  zipBytes: number;
  inspectMs: number;
  packageMs: number;
  baselineRss: number;
  peakRss: number;
  peakArrayBuffers: number;
}

async function measure(folder: string, outDir: string): Promise<Measurement> {
  const { inspectImageSet, packageImageSet } = await import("../src/training/dataset/index.js");
  // Load the lazily imported zip libraries before the baseline, so it counts data, not code.
  await Promise.all([import("yazl"), import("yauzl")]);
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  let peakArrayBuffers = 0;
  // Sampled rather than read from getrusage: a spawned child's ru_maxrss starts from its parent's
  // RSS at fork time, so it would report the parent's peak, not ours.
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  };
  const timer = setInterval(sample, 2);
  const t0 = performance.now();
  // 30 and 60 photos of 4 MB exceed Replicate's 100 MB upload limit, which inspection enforces
  // (a 30-photo set is refused: "the upload zip would be 119.5 MB"); lifted here to time the work.
  const set = await inspectImageSet(folder, { limits: { maxZipBytes: Infinity, maxBytesRead: Infinity } });
  const t1 = performance.now();
  const packaged = await packageImageSet(set, { dir: outDir });
  const t2 = performance.now();
  clearInterval(timer);
  sample();
  rmSync(packaged.zipPath, { force: true });
  return {
    images: set.images.length,
    setBytes: set.totalBytes,
    zipBytes: packaged.zipSize,
    inspectMs: t1 - t0,
    packageMs: t2 - t1,
    baselineRss,
    peakRss,
    peakArrayBuffers,
  };
}

/** Runs one measurement in a fresh Node process (with tsx), as the benchmark and the tests do. */
export function measureInChild(folder: string, outDir: string, script = fileURLToPath(import.meta.url)): Measurement {
  const child = spawnSync(process.execPath, ["--import", "tsx", script, "--measure", folder, outDir], {
    encoding: "utf8",
    maxBuffer: 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`measurement failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").pop()!) as Measurement;
}

/** `count` distinct ~4 MB JPEGs: one noisy photo-sized JPEG, each copy with its own comment segment. */
async function ensurePhotos(count: number): Promise<string> {
  const dir = join(WORK, "photos");
  mkdirSync(dir, { recursive: true });
  const have = readdirSync(dir).filter((n) => n.endsWith(".jpg")).length;
  if (have >= count) return dir;
  const { makeJpeg } = await import("../test/support/images.js");
  process.stderr.write(`generating ${count} photos of ${PHOTO_WIDTH}x${PHOTO_HEIGHT} in ${dir} (once)...\n`);
  const base = makeJpeg({ width: PHOTO_WIDTH, height: PHOTO_HEIGHT, seed: 1, quality: 85, noise: true });
  for (let i = 1; i <= count; i++) {
    const text = Buffer.from(`bench photo ${i}`);
    const comment = Buffer.alloc(4 + text.length);
    comment.set([0xff, 0xfe], 0);
    comment.writeUInt16BE(2 + text.length, 2);
    comment.set(text, 4);
    writeFileSync(join(dir, `photo-${String(i).padStart(3, "0")}.jpg`), Buffer.concat([base.subarray(0, 2), comment, base.subarray(2)]));
  }
  return dir;
}

/** A folder of the first `count` photos, hard-linked (regular files, no copies). */
function setFolder(photos: string, count: number): string {
  const dir = join(WORK, `set-${count}`);
  if (existsSync(dir) && readdirSync(dir).length === count) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const names = readdirSync(photos).filter((n) => n.endsWith(".jpg")).sort().slice(0, count);
  for (const name of names) linkSync(join(photos, name), join(dir, name));
  return dir;
}


const mb = (bytes: number) => (bytes / 1_000_000).toFixed(1);

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--measure") {
    process.stdout.write(`${JSON.stringify(await measure(argv[1]!, argv[2]!))}\n`);
    return;
  }
  const option = (name: string, fallback: string) => {
    const at = argv.indexOf(name);
    return at >= 0 && argv[at + 1] ? argv[at + 1]! : fallback;
  };
  const runs = Number(option("--runs", "5"));
  const sizes = option("--sizes", "10,30,60").split(",").map(Number);
  const photos = await ensurePhotos(Math.max(...sizes));
  const outDir = join(WORK, "out");

  console.log(`| photos | set MB | zip MB | inspect ms | package ms | total ms | peak RSS above baseline MB | peak arrayBuffers MB |`);
  console.log(`|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const size of sizes) {
    const folder = setFolder(photos, size);
    measureInChild(folder, outDir); // warm the page cache; not counted
    const results = Array.from({ length: runs }, () => measureInChild(folder, outDir));
    const first = results[0]!;
    console.log(
      `| ${size} | ${mb(first.setBytes)} | ${mb(first.zipBytes)} | ${median(results.map((r) => r.inspectMs)).toFixed(0)} | ` +
        `${median(results.map((r) => r.packageMs)).toFixed(0)} | ${median(results.map((r) => r.inspectMs + r.packageMs)).toFixed(0)} | ` +
        `${mb(median(results.map((r) => r.peakRss - r.baselineRss)))} | ${mb(median(results.map((r) => r.peakArrayBuffers)))} |`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
