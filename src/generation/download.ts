/**
 * Downloads a prediction's outputs at once (Replicate deletes them an hour later), all in
 * parallel, each streamed to a temporary file beside its target, checked to be a whole PNG, then
 * renamed into place. A failed output is retried and then reported without affecting the others.
 * Output URLs are plain delivery URLs: the Replicate token is never sent with them.
 *
 * A temporary file never outlives its download: it is removed when the try ends (an abort
 * included), and synchronously when the process exits during one. Only SIGKILL can leave one,
 * named after its prediction, and the next download of that prediction removes it.
 */
import { createHash, randomBytes } from "node:crypto";
import { close, open, rmSync, writev } from "node:fs";
import { readdir, rename, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { basename, dirname, join } from "node:path";
import type { GenerationOutput } from "../db/generations.js";
import { ensureDirectory } from "../fs-safety.js";
import { PNG_HEAD_BYTES, PNG_TAIL_BYTES, checkPngEnds } from "./png-check.js";

export interface DownloadOptions {
  /** Tries per output. Default 3. */
  attempts?: number;
  /** Per try, body included. Default 60 000. */
  timeoutMs?: number;
  /** An output larger than this is refused. Default 64 MiB. */
  maxBytes?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Stops every download: their partial files are removed and downloadOutputs rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export const DEFAULT_DOWNLOAD_ATTEMPTS = 3;
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const WRITE_BATCH_BYTES = 1024 * 1024;

// Plain descriptors: a FileHandle per image costs more than the write itself for small files.
const openFd = promisify(open);
const writevFd = promisify(writev);
const closeFd = promisify(close);

/** writev may write less than asked (a full disk, a signal); the rest is written after it. */
async function writeAll(fd: number, chunks: Uint8Array[], total: number): Promise<void> {
  let { bytesWritten } = await writevFd(fd, chunks);
  if (bytesWritten === total) return;
  const rest = Buffer.concat(chunks).subarray(bytesWritten);
  for (let off = 0; off < rest.length; off += bytesWritten) {
    ({ bytesWritten } = await writevFd(fd, [rest.subarray(off)]));
    if (bytesWritten === 0) throw new Error("the disk accepted no more bytes");
  }
}

/** Temporary files being written now, removed if the process exits meanwhile. */
const partFiles = new Set<string>();
let exitHookInstalled = false;

function trackPart(path: string): void {
  partFiles.add(path);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const part of partFiles) rmSync(part, { force: true });
  });
}

/** A try that may succeed when repeated (network, 5xx, 429, a truncated body). */
class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** File name of output `index` of `predictionId`: unique across runs because prediction ids are. */
export function outputFileName(predictionId: string, index: number): string {
  return `${predictionId}-${index}.png`;
}

/** Keeps the first and last few bytes, the size and the sha256 of what streams through. */
class Inspector {
  readonly hash = createHash("sha256");
  size = 0;
  head = Buffer.alloc(0);
  tail = Buffer.alloc(0);

  constructor(private readonly maxBytes: number) {}

  take(chunk: Uint8Array): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) throw new DownloadError(`larger than ${this.maxBytes} bytes`, false);
    this.hash.update(chunk);
    if (this.head.length < PNG_HEAD_BYTES) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, PNG_HEAD_BYTES - this.head.length)]);
    }
    this.tail =
      chunk.length >= PNG_TAIL_BYTES
        ? Buffer.from(chunk.subarray(-PNG_TAIL_BYTES))
        : Buffer.concat([this.tail, chunk]).subarray(-PNG_TAIL_BYTES);
  }
}

type TryOptions = Required<Omit<DownloadOptions, "sleep" | "signal">> & { signal: AbortSignal | undefined };

/** `.{predictionId}-{index}.{random}.part` beside the target `{predictionId}-{index}.png`. */
function partFileName(target: string): string {
  return `.${basename(target, ".png")}.${randomBytes(6).toString("hex")}.part`;
}

async function downloadOnce(url: string, target: string, opts: TryOptions): Promise<GenerationOutput> {
  const temp = join(dirname(target), partFileName(target));
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout.signal, opts.signal]) : timeout.signal;
  let renamed = false;
  trackPart(temp);
  try {
    let response: Response;
    try {
      response = await opts.fetch(url, { signal, redirect: "follow" });
    } catch (err) {
      if (opts.signal?.aborted) throw new DownloadError("interrupted", false);
      throw new DownloadError(signal.aborted ? `timed out after ${opts.timeoutMs} ms` : `request failed (${(err as Error).message})`, true);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      const retryable = response.status === 429 || response.status >= 500 || response.status === 408;
      const hint = response.status === 404 || response.status === 410 ? " (Replicate removes outputs an hour after the prediction)" : "";
      throw new DownloadError(`HTTP ${response.status}${hint}`, retryable);
    }
    const inspector = new Inspector(opts.maxBytes);
    // Written as it arrives, in batches of up to WRITE_BATCH_BYTES: memory stays bounded and a
    // small image costs a single write.
    const fd = await openFd(temp, "wx");
    try {
      let batch: Uint8Array[] = [];
      let batched = 0;
      for await (const chunk of response.body) {
        inspector.take(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH_BYTES) {
          await writeAll(fd, batch, batched);
          batch = [];
          batched = 0;
        }
      }
      if (batch.length) await writeAll(fd, batch, batched);
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      if (opts.signal?.aborted) throw new DownloadError("interrupted", false);
      throw new DownloadError(signal.aborted ? `timed out after ${opts.timeoutMs} ms` : `transfer failed (${(err as Error).message})`, true);
    } finally {
      await closeFd(fd);
    }
    const problem = checkPngEnds(inspector.head, inspector.tail);
    // A body cut short also ends without IEND, so a bad PNG is worth one more try.
    if (problem) throw new DownloadError(`not a complete PNG: ${problem}`, true);
    await rename(temp, target);
    renamed = true;
    return { url, file: target, size: inspector.size, sha256: inspector.hash.digest("hex") };
  } finally {
    clearTimeout(timer);
    if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
    partFiles.delete(temp);
  }
}

async function downloadWithRetries(url: string, target: string, options: DownloadOptions): Promise<GenerationOutput> {
  const opts = {
    attempts: Math.max(1, options.attempts ?? DEFAULT_DOWNLOAD_ATTEMPTS),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
    fetch: options.fetch ?? globalThis.fetch,
    signal: options.signal,
  };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last = "";
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    try {
      return await downloadOnce(url, target, opts);
    } catch (err) {
      options.signal?.throwIfAborted();
      last = err instanceof Error ? err.message : String(err);
      if (!(err instanceof DownloadError) || !err.retryable || options.signal?.aborted) break;
      if (attempt < opts.attempts) await sleep(250 * 2 ** (attempt - 1) + Math.floor(Math.random() * 100));
      options.signal?.throwIfAborted();
    }
  }
  return { url, file: null, size: null, sha256: null, error: last };
}

/**
 * Every output, in the order given; a failed one has `file: null` and an `error`. When
 * `options.signal` aborts, every download stops, nothing this call wrote stays on disk (partial or
 * whole: none of it is recorded), and the call rejects with `signal.reason`.
 */
export async function downloadOutputs(
  urls: readonly string[],
  dir: string,
  predictionId: string,
  options: DownloadOptions = {},
): Promise<GenerationOutput[]> {
  options.signal?.throwIfAborted();
  await ensureDirectory(dir);
  // Left by a process killed (SIGKILL) while downloading this very prediction.
  const leftovers = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(`.${predictionId}-`) && n.endsWith(".part"));
  await Promise.all(leftovers.map((n) => rm(join(dir, n), { force: true })));
  const settled = await Promise.allSettled(
    urls.map((url, i) => downloadWithRetries(url, join(dir, outputFileName(predictionId, i)), options)),
  );
  const outputs = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  if (options.signal?.aborted || outputs.length < settled.length) {
    await Promise.all(outputs.map((o) => (o.file ? rm(o.file, { force: true }) : undefined)));
    options.signal?.throwIfAborted();
    throw (settled.find((s) => s.status === "rejected") as PromiseRejectedResult).reason;
  }
  return outputs;
}
