/**
 * `scan`: walk the paths and hand the source files, in batches, to a pool of worker threads that
 * read each one, skip it by a text prefilter when it cannot hold a finding, and parse and check the
 * rest. A small tree is checked on the calling thread without starting any. Needs no token,
 * database or network.
 */
import { availableParallelism } from "node:os";
import { relative, resolve, sep } from "node:path";
import { checkPath, type FileOutcome } from "./check-path.js";
import { checkPaths, sourceFiles } from "./files.js";
import { createPool, type Pool } from "./pool.js";
import type { ScanFinding, ScanOptions, ScanParams, ScanParseError, ScanReport } from "./types.js";

/** Files before threads are worth starting (a worker costs ~30 ms to load the parser). */
const POOL_THRESHOLD = 200;
const BATCH = 48;

/** Rejects when `signal` aborts (never settles without one). */
function abortion(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.throwIfAborted();
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

export async function scanCode(params: ScanParams = {}, options: ScanOptions = {}): Promise<ScanReport> {
  const started = performance.now();
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const cwd = resolve(params.cwd ?? process.cwd());
  const roots = await checkPaths(params.paths && params.paths.length > 0 ? params.paths : ["."], cwd);
  const workers = options.workers ?? Math.min(availableParallelism(), 4);

  const findings: ScanFinding[] = [];
  const parseErrors: ScanParseError[] = [];
  const progress = { files: 0, parsed: 0, done: 0 };
  const report = () => onProgress?.({ ...progress });
  const display = (abs: string) => relative(cwd, abs).split(sep).join("/") || ".";
  const record = (path: string, outcome: FileOutcome) => {
    progress.done++;
    if (!outcome.parsed) return;
    progress.parsed++;
    const file = display(path);
    for (const f of outcome.findings) findings.push({ rule: f.rule, file, line: f.line, column: f.column, message: f.message });
    if (outcome.parseError) parseErrors.push({ file, ...outcome.parseError });
  };

  let pool: Pool | null = null;
  let poolTried = false;
  let batch: string[] = [];
  const checks: Array<Promise<void>> = [];
  const flush = () => {
    if (batch.length === 0 || !pool) return;
    const paths = batch;
    batch = [];
    const check = pool.check(paths).then((outcomes) => {
      outcomes.forEach((o, i) => record(paths[i]!, o));
      report();
    });
    check.catch(() => {}); // awaited below; keeps an early failure from being "unhandled"
    checks.push(check);
  };

  try {
    for await (const path of sourceFiles(roots, signal)) {
      progress.files++;
      batch.push(path);
      if (!poolTried && workers > 0 && progress.files >= POOL_THRESHOLD) {
        poolTried = true;
        pool = createPool(workers);
      }
      if (pool && batch.length >= BATCH) flush();
    }
    if (pool) {
      flush();
      await Promise.race([Promise.all(checks), abortion(signal)]);
    } else {
      // A small tree (or running from TypeScript sources, without the worker bundle): this thread.
      for (const path of batch) {
        signal?.throwIfAborted();
        record(path, checkPath(path));
        if (progress.done % 50 === 0) report();
      }
    }
    signal?.throwIfAborted();
  } finally {
    await (pool as Pool | null)?.close();
  }
  report();

  findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1)));
  parseErrors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return {
    ok: findings.length === 0,
    scanned: progress.files,
    findings,
    parsed: progress.parsed,
    parseErrors,
    durationMs: Math.round(performance.now() - started),
  };
}
