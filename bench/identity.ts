/**
 * The identity check on 20 prepared images: model load, per-image time, peak memory.
 *
 * Each run is a fresh process (so the first pass is cold: import, WebAssembly start, weights,
 * first-call kernels) over 20 images shaped like `prepare`'s output: upright baseline JPEGs,
 * quality 95, longer side 1440 px, five photos (variants) each of four people. Then a warm pass
 * over re-encoded copies (other bytes, so nothing is remembered), then decoding and the model at
 * working sizes 640, 800 and 1024. Wall times and CPU times (the face model runs on one thread, so
 * on a busy machine the CPU time is the closer estimate of an idle machine's wall time). Figures
 * are medians over the runs.
 *
 *   npx tsx bench/identity.ts [runs=3]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { checkImageFaces, checkSetIdentity, loadFaceModel, readFacePixels, type ImageFaces } from "../src/identity/index.js";
import { median } from "./stats.js";
import { personSet } from "../test/support/face-photos.js";

const SIZES = [640, 800, 1024];

interface RunResult {
  loadMs: number;
  loadCpuMs: number;
  coldCpuMs: number;
  warmCpuMs: number;
  coldMs: number[];
  warmMs: number[];
  bySize: Record<number, number>;
  baseRssMb: number;
  peakRssMb: number;
  problems: number;
}

async function preparedImages(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const person of ["alex", "biden", "kit", "rose"] as const) {
    for (const img of await personSet(person, 5)) {
      out.push(await sharp(img.bytes).resize(1440, 1440, { fit: "inside" }).jpeg({ quality: 95 }).toBuffer());
    }
  }
  return out;
}

async function child(): Promise<RunResult> {
  const images = await preparedImages();
  const baseRssMb = process.memoryUsage().rss / 2 ** 20;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let c = cpu();
  let t = performance.now();
  await loadFaceModel();
  const loadMs = performance.now() - t;
  const loadCpuMs = cpu() - c;
  c = cpu();
  const cold: ImageFaces[] = [];
  const coldMs: number[] = [];
  for (const img of images) {
    t = performance.now();
    cold.push(await checkImageFaces(img));
    coldMs.push(performance.now() - t);
  }
  const coldCpuMs = cpu() - c;
  // Per person (five images each): the set rule as train applies it.
  let problems = 0;
  for (let p = 0; p < 20; p += 5) problems += checkSetIdentity(cold.slice(p, p + 5)).images.filter((i) => i.problems.length).length;
  const again = await Promise.all(images.map((img) => sharp(img).jpeg({ quality: 94 }).toBuffer()));
  const warmMs: number[] = [];
  c = cpu();
  for (const img of again) {
    t = performance.now();
    await checkImageFaces(img);
    warmMs.push(performance.now() - t);
  }
  const warmCpuMs = cpu() - c;
  const model = await loadFaceModel();
  const bySize: Record<number, number> = {};
  for (const size of SIZES) {
    c = cpu();
    for (const img of images.slice(0, 10)) await model.detect((await readFacePixels(img, size)).pixels);
    bySize[size] = (cpu() - c) / 10;
  }
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  return { loadMs, loadCpuMs, coldCpuMs, warmCpuMs, coldMs, warmMs, bySize, baseRssMb, peakRssMb, problems };
}

if (process.argv[2] === "child") {
  process.stdout.write(JSON.stringify(await child()));
} else {
  const runs = Number(process.argv[2] ?? 3);
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "child"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`run ${i + 1} failed: ${r.stderr}`);
    results.push(JSON.parse(r.stdout) as RunResult);
  }
  const m = (f: (r: RunResult) => number) => median(results.map(f)).toFixed(0);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(`runs: ${runs}, node ${process.version}, 20 images of 1440 px; images with a problem (sets of 5 per person): ${results.map((r) => r.problems).join(", ")}`);
  console.log(`model load (cold process)        ${m((r) => r.loadMs)} ms wall, ${m((r) => r.loadCpuMs)} ms cpu`);
  console.log(`first image (cold kernels)       ${m((r) => r.coldMs[0]!)} ms`);
  console.log(`per image, cold pass (median)    ${m((r) => median(r.coldMs))} ms`);
  console.log(`per image, warm pass (median)    ${m((r) => median(r.warmMs))} ms`);
  console.log(`20 images cold, load included    ${m((r) => r.loadMs + sum(r.coldMs))} ms wall, ${m((r) => r.loadCpuMs + r.coldCpuMs)} ms cpu`);
  console.log(`20 images warm                   ${m((r) => sum(r.warmMs))} ms wall, ${m((r) => r.warmCpuMs)} ms cpu`);
  for (const size of SIZES) console.log(`decode + model at ${String(size).padEnd(4)} px        ${m((r) => r.bySize[size]!)} ms cpu per image`);
  console.log(`rss before load ${m((r) => r.baseRssMb)} MB, peak rss ${m((r) => r.peakRssMb)} MB`);
}
