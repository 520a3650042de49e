/**
 * A small pool of worker threads that read, parse and check batches of files. The worker is a separate
 * bundle (`scan-worker.js`) next to the module that loads it; when it is not there (running from
 * TypeScript sources), `createPool` returns null and the caller checks files on its own thread.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { FileOutcome } from "./check-path.js";

export interface BatchRequest {
  id: number;
  paths: string[];
}
export type BatchResponse = { id: number; results: FileOutcome[] } | { id: number; error: string };

export interface Pool {
  check(paths: string[]): Promise<FileOutcome[]>;
  close(): Promise<void>;
}

export function workerUrl(): URL | null {
  const url = new URL("./scan-worker.js", import.meta.url);
  return url.protocol === "file:" && existsSync(fileURLToPath(url)) ? url : null;
}

export function createPool(size: number): Pool | null {
  const url = workerUrl();
  if (!url || size < 1) return null;
  const workers: Worker[] = [];
  const idle: Worker[] = [];
  const queue: Array<{ req: BatchRequest; resolve: (r: FileOutcome[]) => void; reject: (e: Error) => void }> = [];
  const running = new Map<Worker, (typeof queue)[number]>();
  let nextId = 0;
  let failure: Error | null = null;

  const pump = () => {
    while (idle.length > 0 && queue.length > 0) {
      const w = idle.pop()!;
      const task = queue.shift()!;
      running.set(w, task);
      w.postMessage(task.req);
    }
  };
  const fail = (err: Error) => {
    failure ??= err;
    for (const t of [...queue.splice(0), ...running.values()]) t.reject(failure);
    running.clear();
  };

  for (let i = 0; i < size; i++) {
    const w = new Worker(url);
    w.on("message", (res: BatchResponse) => {
      const task = running.get(w);
      running.delete(w);
      idle.push(w);
      if (task) "error" in res ? task.reject(new Error(res.error)) : task.resolve(res.results);
      pump();
    });
    w.on("error", fail);
    w.on("exit", (code) => code !== 0 && fail(new Error(`A scan worker stopped (exit code ${code}).`)));
    workers.push(w);
    idle.push(w);
  }

  return {
    check(paths) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        queue.push({ req: { id: nextId++, paths }, resolve, reject });
        pump();
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
