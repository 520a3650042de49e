/** A thread of the scan's pool: batches of paths in, each file's outcome out. */
import { parentPort } from "node:worker_threads";
import { checkPath } from "./check-path.js";
import type { BatchRequest, BatchResponse } from "./pool.js";

parentPort!.on("message", (req: BatchRequest) => {
  let res: BatchResponse;
  try {
    res = { id: req.id, results: req.paths.map(checkPath) };
  } catch (err) {
    res = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(res);
});
