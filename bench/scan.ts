/**
 * `sselfie scan` on a tree of 10,000 files against the floor: reading the same files and parsing
 * each with oxc-parser (the same options) and doing nothing else, on one thread and on as many
 * worker threads as the scan uses. Each run is a fresh process (its peak RSS, threads included,
 * is the memory figure); variants alternate round by round; medians.
 *
 * Two trees of the same 10,000 files:
 *   mixed:    real published code from node_modules (files up to 256 KB) plus 1,000 backend files
 *             built from the scan corpus; the prefilter lets only the files that name Replicate through.
 *   all-hits: the same files, each ending in a comment naming Replicate, so the prefilter passes
 *             every one: the scan parses and checks them all (its rules and pool against the floor).
 *
 *   npm run build && npx tsx bench/scan.ts [rounds]
 *
 * The trees are generated under bench/.tmp/ and reused; BENCH_FRESH=1 rebuilds them.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { listSourceFiles } from "./scan-tree.js";
import { median } from "./stats.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TMP = join(ROOT, "bench/.tmp/scan");
const FILES = 10_000;
const BACKEND_FILES = 1_000;
const MAX_BYTES = 256 * 1024;
const rounds = Number(process.argv[2] ?? 3);
const workers = Math.min(availableParallelism(), 4);

function buildTrees(): { mixed: string; allHits: string } {
  const mixed = join(TMP, "mixed");
  const allHits = join(TMP, "all-hits");
  if (existsSync(join(TMP, "done")) && !process.env.BENCH_FRESH) return { mixed, allHits };
  rmSync(TMP, { recursive: true, force: true });
  const real = listSourceFiles(join(ROOT, "node_modules")).filter((f) => statSync(f).size <= MAX_BYTES);
  const corpus = listSourceFiles(join(ROOT, "test/fixtures/scan-corpus"));
  const written: Array<{ rel: string; text: string }> = [];
  for (let i = 0; written.length < FILES - BACKEND_FILES; i++) {
    const src = real[i % real.length]!;
    // node_modules/<pkg>/... -> copy-<n>/<pkg>/..., with node_modules, dist and build renamed so the scan enters them
    const rel = join(`copy-${Math.floor(i / real.length)}`, relative(join(ROOT, "node_modules"), src).replaceAll("node_modules", "nm").replace(/(^|\/)(dist|build)(\/|$)/g, "$1$2-out$3"));
    written.push({ rel, text: readFileSync(src, "utf8") });
  }
  for (let i = 0; written.length < FILES; i++) {
    const src = corpus[i % corpus.length]!;
    written.push({ rel: join("backend", `service-${Math.floor(i / corpus.length)}`, `${i}-${basename(src)}`), text: readFileSync(src, "utf8") });
  }
  for (const [dir, suffix] of [[mixed, ""], [allHits, "\n// replicate\n"]] as const) {
    for (const f of written) {
      const path = join(dir, f.rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.text + suffix);
    }
  }
  writeFileSync(join(TMP, "done"), "");
  return { mixed, allHits };
}

/**
 * Child programs, written next to the trees as plain .mjs (tree path in argv[2]); each prints
 * `{"ms","files","parsed","rss"}` with its peak RSS (KB, threads included) from resourceUsage.
 */
const PROGRAMS: Record<string, string> = {
  "common.mjs": `
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
const { parseSync } = createRequire(${JSON.stringify(join(ROOT, "package.json"))})("oxc-parser");
const SKIP = new Set(["node_modules", "dist", "build", ".git"]);
export function list(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) { if (!SKIP.has(e.name)) list(join(dir, e.name), out); }
    else if (e.isFile() && /\\.(?:[cm]?[jt]s|[jt]sx)$/.test(e.name)) out.push(join(dir, e.name));
  }
  return out;
}
export function parseAll(paths) {
  let n = 0;
  for (const p of paths) {
    const lang = /\\.tsx$/.test(p) ? "tsx" : /\\.[cm]?ts$/.test(p) ? "ts" : "jsx";
    n += parseSync(p, readFileSync(p, "utf8"), { lang, preserveParens: false }).program.body.length;
  }
  return n;
}
export const done = (t, files, parsed, extra = {}) =>
  console.log(JSON.stringify({ ms: performance.now() - t, files, parsed, rss: process.resourceUsage().maxRSS, ...extra }));
`,
  "floor-1.mjs": `
import { done, list, parseAll } from "./common.mjs";
const t = performance.now();
const files = list(process.argv[2]);
parseAll(files);
done(t, files.length, files.length);
`,
  "floor-thread.mjs": `
import { parentPort, workerData } from "node:worker_threads";
import { parseAll } from "./common.mjs";
parentPort.postMessage(parseAll(workerData));
`,
  "floor-pool.mjs": `
import { Worker } from "node:worker_threads";
import { done, list } from "./common.mjs";
const t = performance.now();
const files = list(process.argv[2]);
const n = Number(process.argv[3]);
const per = Math.ceil(files.length / n);
await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve, reject) => {
  const w = new Worker(new URL("./floor-thread.mjs", import.meta.url), { workerData: files.slice(i * per, (i + 1) * per) });
  w.once("message", () => w.terminate().then(resolve)).once("error", reject);
})));
done(t, files.length, files.length);
`,
  "scan.mjs": `
import { createSselfie } from ${JSON.stringify(join(ROOT, "dist/index.js"))};
import { done } from "./common.mjs";
const t = performance.now();
const sselfie = await createSselfie({ database: false });
const r = await sselfie.scan({ paths: [process.argv[2]] });
await sselfie.close();
done(t, r.scanned, r.parsed, { findings: r.findings.length });
`,
};

const VARIANTS: Array<[string, string, string[]]> = [
  ["floor, 1 thread", "floor-1.mjs", []],
  [`floor, ${workers} worker threads`, "floor-pool.mjs", [String(workers)]],
  ["sselfie scan", "scan.mjs", []],
];

function run(program: string, tree: string, args: string[]): { ms: number; files: number; parsed: number; rss: number; findings?: number } {
  const out = execFileSync(process.execPath, [join(TMP, program), tree, ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split("\n").pop()!);
}

if (!existsSync(join(ROOT, "dist/index.js")) || !existsSync(join(ROOT, "dist/scan-worker.js"))) throw new Error("run `npm run build` first");
const trees = buildTrees();
for (const [name, text] of Object.entries(PROGRAMS)) writeFileSync(join(TMP, name), text);
for (const [name, tree] of Object.entries(trees)) {
  const results: Record<string, Array<ReturnType<typeof run>>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [variant, program, args] of VARIANTS) (results[variant] ??= []).push(run(program, tree, args));
  }
  const floorMs = median(results["floor, 1 thread"]!.map((r) => r.ms));
  const poolFloorMs = median(results[`floor, ${workers} worker threads`]!.map((r) => r.ms));
  const floorRss = median(results["floor, 1 thread"]!.map((r) => r.rss));
  console.log(`\ntree ${name}: ${results["sselfie scan"]![0]!.files} files, ${results["sselfie scan"]![0]!.parsed} parsed by the scan, ${results["sselfie scan"]![0]!.findings} findings`);
  console.log("| run | wall (median) | vs 1-thread floor | vs pool floor | peak RSS (median) | vs 1-thread floor |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [variant, rs] of Object.entries(results)) {
    const ms = median(rs.map((r) => r.ms));
    const rss = median(rs.map((r) => r.rss));
    console.log(
      `| ${variant} | ${(ms / 1000).toFixed(2)} s | ${(ms / floorMs).toFixed(2)}x | ${(ms / poolFloorMs).toFixed(2)}x | ${(rss / 1024).toFixed(0)} MB | ${(rss / floorRss).toFixed(2)}x |`,
    );
  }
}
