/**
 * Benchmark: preparing phone photos (src/datasets) against a bare sharp/heic-decode script doing
 * the same decode-rotate-resize-encode with the same concurrency (2), for sets of 12-megapixel
 * photos, half HEIC and half JPEG. Each run is a fresh child process; its peak RSS is the kernel's
 * high-water mark (VmHWM, reset after the modules are loaded), so WebAssembly and libvips memory
 * count too. See bench/README.md.
 *
 *   npx tsx bench/prepare.ts                    # 3 runs per mode and size, sizes 20,60
 *   npx tsx bench/prepare.ts --runs 1 --warmup 0 --sizes 20,60   # quick
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, ".tmp", "prepare");
const IPHONE_HEIC = join(HERE, "..", "test", "fixtures", "photos", "heic-iphone7.heic");
const MODES = ["bare", "pipeline", "prepare-command"] as const;
type Mode = (typeof MODES)[number];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/**
 * A distinct iPhone HEIC: the fixture's 48 tiles (a 8x6 grid of 512 px HEVC tiles) listed in
 * another order in the grid's `dimg` reference. Same size, same codec, different pixels; no HEVC
 * encoder needed (sharp's prebuilt libvips has none).
 */
function heicVariant(source: Buffer, shift: number): Buffer {
  const b = Buffer.from(source);
  const at = b.indexOf("dimg", 0, "latin1");
  const count = b.readUInt16BE(at + 6);
  const ids = Array.from({ length: count }, (_, i) => b.readUInt16BE(at + 8 + 2 * i));
  for (let i = 0; i < count; i++) b.writeUInt16BE(ids[(i + shift) % count]!, at + 8 + 2 * i);
  return b;
}

/**
 * A 4000x3000 phone-like JPEG of about 4.5 MB (a seeded pattern with noise, so it does not
 * compress like a flat picture), GPS and a device in EXIF, every other one flagged orientation 6.
 * Cached in bench/.tmp/prepare/pool/, so the sets of 20 and 60 share their files.
 */
async function phoneJpeg(seed: number): Promise<Buffer> {
  const cached = join(ROOT, "pool", `jpeg-${seed}.jpg`);
  if (statSafe(cached)) return readFileSync(cached);
  const sharp = (await import("sharp")).default;
  const width = 4000;
  const height = 3000;
  const px = Buffer.alloc(width * height * 3);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < px.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const p = (i / 3) | 0;
    px[i] = (((p % width) >> 3) + ((((p / width) | 0) >> 3) * 3) + (i % 3) * 60 + seed * 17 + ((x >>> 0) & 31)) & 255;
  }
  const jpeg = await sharp(px, { raw: { width, height, channels: 3 } })
    .withExif({
      IFD0: { Make: "BenchPhone", Model: `Model ${seed}`, ...(seed % 2 ? { Orientation: "6" } : {}) },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: `48/1 ${seed}/1 0/1`, GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 0/1" },
    })
    .jpeg({ quality: 88 })
    .toBuffer();
  mkdirSync(join(ROOT, "pool"), { recursive: true });
  writeFileSync(cached, jpeg);
  return jpeg;
}

async function photoSet(size: number): Promise<string> {
  const dir = join(ROOT, `set-${size}`);
  if (statSafe(dir) && readdirSync(dir).length === size) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const heic = readFileSync(IPHONE_HEIC);
  for (let i = 0; i < size; i++) {
    const name = `IMG_${String(1000 + i)}`;
    if (i % 2 === 0) writeFileSync(join(dir, `${name}.HEIC`), heicVariant(heic, i / 2 + 1));
    else writeFileSync(join(dir, `${name}.JPG`), await phoneJpeg(i));
  }
  return dir;
}

function statSafe(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The peak RSS since the last reset, in bytes (Linux: VmHWM). */
function peakRss(): number {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("VmHWM:"))!;
  return Number(line.replace(/\D+/g, "")) * 1024;
}

/** The bare work: read, decode, upright, resize inside 1440, JPEG q95, write; 2 at a time. */
async function bare(dir: string, out: string): Promise<void> {
  const sharp = (await import("sharp")).default;
  const { default: decode } = await import("heic-decode");
  const files = readdirSync(dir).sort();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const name = files[next++]!;
      const bytes = await readFile(join(dir, name));
      let image;
      if (name.endsWith(".HEIC")) {
        const { width, height, data } = await decode({ buffer: bytes });
        image = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 4 } });
      } else {
        image = sharp(bytes, { autoOrient: true });
      }
      const jpeg = await image
        .resize({ width: 1440, height: 1440, fit: "inside", withoutEnlargement: true })
        .flatten({ background: "#ffffff" })
        .jpeg({ quality: 95 })
        .toBuffer();
      await writeFile(join(out, `${name}.jpg`), jpeg);
    }
  };
  await Promise.all([worker(), worker()]);
}

/** One measured run, in this (child) process. Prints one JSON line. */
async function measure(mode: Mode, dir: string): Promise<void> {
  const work = await mkdtemp(join(ROOT, "out-"));
  const { prepareImageSet, createDatasetsResource } = await import("../src/datasets/index.js");
  await import("sharp");
  await import("heic-decode");
  // Reset the high-water mark: what follows is the work's own peak.
  writeFileSync("/proc/self/clear_refs", "5");
  const baseline = peakRss();
  const started = performance.now();
  let zipBytes = 0;
  if (mode === "bare") await bare(dir, work);
  else if (mode === "pipeline") zipBytes = (await prepareImageSet(dir, { dir: work, limits: { maxZipBytes: Infinity } })).summary.zipBytes;
  else zipBytes = (await createDatasetsResource({ tmpDir: work }).prepare({ images: dir, outDir: join(work, "out") })).summary.zipBytes;
  const ms = performance.now() - started;
  const peak = peakRss();
  await rm(work, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ ms, peakMb: peak / 1e6, aboveMb: (peak - baseline) / 1e6, zipBytes })}\n`);
}

async function main(): Promise<void> {
  if (process.argv[2] === "--measure") return measure(process.argv[3] as Mode, process.argv[4]!);
  const runs = Number(arg("--runs", "3"));
  const warmup = Number(arg("--warmup", "1"));
  const sizes = arg("--sizes", "20,60").split(",").map(Number);
  mkdirSync(ROOT, { recursive: true });
  console.log("| photos | mode | set MB | zip MB | wall ms | vs bare | peak RSS above baseline MB | peak RSS MB |");
  console.log("|---:|---|---:|---:|---:|---:|---:|---:|");
  for (const size of sizes) {
    const dir = await photoSet(size);
    const setBytes = readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    const results = new Map<Mode, { ms: number; peakMb: number; aboveMb: number; zipBytes: number }[]>(MODES.map((m) => [m, []]));
    // One warm-up run fills the page cache; then the modes alternate, so machine load hits them alike.
    for (let r = 1 - warmup; r <= runs; r++) {
      for (const mode of MODES) {
        const child = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--measure", mode, dir], {
          encoding: "utf8",
          maxBuffer: 1 << 20,
        });
        if (child.status !== 0) throw new Error(`${mode} failed: ${child.stderr}`);
        if (r > 0) results.get(mode)!.push(JSON.parse(child.stdout.trim().split("\n").pop()!));
      }
    }
    const bareMs = median(results.get("bare")!.map((x) => x.ms));
    for (const mode of MODES) {
      const xs = results.get(mode)!;
      const ms = median(xs.map((x) => x.ms));
      console.log(
        `| ${size} | ${mode} | ${(setBytes / 1e6).toFixed(1)} | ${mode === "bare" ? "-" : (xs[0]!.zipBytes / 1e6).toFixed(1)} | ${Math.round(ms)} | ${(ms / bareMs).toFixed(2)}x | ${median(xs.map((x) => x.aboveMb)).toFixed(0)} | ${median(xs.map((x) => x.peakMb)).toFixed(0)} |`,
      );
    }
  }
}

await main();
