/**
 * `erase`: removes everything sselfie and Replicate hold about one user, resumably. Each step can
 * be run again: its state is re-read from the database and Replicate, and what is already gone
 * counts as deleted. Order: mark (train/generate refuse), cancel a running training, delete the
 * model's versions and wait until they are no longer listed, delete the model, delete the training
 * uploads, delete the recorded local outputs, then the rows in one transaction (tombstone + event).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, unlink } from "node:fs/promises";
import { abortableSleep } from "../abortable-sleep.js";
import type { SselfieContext } from "../context.js";
import {
  deleteUserRows,
  openErasure,
  saveErasureProgress,
  type ErasureDeleted,
  type ErasureRemaining,
} from "../db/erasures.js";
import { appendEvent } from "../db/operator-events.js";
import { getActiveTraining } from "../db/trainings.js";
import type { ReplicateError } from "../errors.js";
import { validateUserId } from "../locked.js";
import { cancelTraining } from "../training/cancel-training.js";

export interface EraseUserParams {
  userId: string;
}

export type EraseProgress =
  | { phase: "marked"; resumed: boolean }
  | { phase: "training-canceled"; trainingId: string | null }
  | { phase: "versions"; listed: number; deleted: number }
  | { phase: "model"; deleted: boolean }
  | { phase: "files"; deleted: number }
  | { phase: "local-files"; deleted: number }
  | { phase: "rows"; deleted: number };

export interface EraseUserOptions {
  signal?: AbortSignal;
  onProgress?: (p: EraseProgress) => void;
  /** How long to wait for Replicate's asynchronous version deletions. Default 10 minutes. */
  waitMs?: number;
  /** Between two listings of the versions still there. Default 2 000 ms. */
  pollIntervalMs?: number;
  /** Tests: called before each step by name; a throw there stops the erasure like a crash would. */
  beforeStep?: (step: EraseStep) => void | Promise<void>;
}

export type EraseStep = "cancel" | "versions" | "model" | "files" | "local-files" | "rows";

export interface EraseUserResult {
  userId: string;
  /** `in_progress`: Replicate still lists versions after the wait; run erase again. */
  status: "erased" | "in_progress";
  deleted: { versions: number; model: boolean; files: number; localFiles: number; rows: number };
  remaining: ErasureRemaining[];
}

export const DEFAULT_ERASE_WAIT_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 2000;

const isCode = (err: unknown, code: string): boolean => (err as ReplicateError | undefined)?.code === code;

/** The file id of a Replicate file URL (`.../v1/files/<id>`), or null for any other URL. */
export function replicateFileId(url: string): string | null {
  const m = /\/files\/([A-Za-z0-9_-]+)\/?$/.exec(url);
  return m ? m[1]! : null;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function summary(userId: string, status: EraseUserResult["status"], d: ErasureDeleted, remaining: ErasureRemaining[]): EraseUserResult {
  return {
    userId,
    status,
    deleted: { versions: d.versions.length, model: d.model, files: d.files.length, localFiles: d.localFiles.length, rows: d.rows },
    remaining,
  };
}

export async function eraseUser(
  ctx: SselfieContext,
  actor: string | null,
  params: EraseUserParams,
  opts: EraseUserOptions = {},
): Promise<EraseUserResult> {
  const userId = validateUserId(params.userId);
  const { db } = ctx;
  const s = db.s;
  const step = async (name: EraseStep) => {
    opts.signal?.throwIfAborted();
    await opts.beforeStep?.(name);
  };

  // 1. Mark: from this commit on, train and generate refuse the user (USER_ERASING).
  const opened = await db.transaction(async (tx) => {
    const erasure = await openErasure(tx, s, userId, actor);
    if (erasure && !erasure.resumed) await appendEvent(tx, s, { operator: actor, action: "erase", userId, details: { erasureId: erasure.row.id, step: "started" } });
    return erasure;
  });
  const nothing: ErasureDeleted = { versions: [], model: false, files: [], localFiles: [], rows: 0 };
  // Nothing of the user is recorded (erased before, or never trained): no second, empty tombstone.
  if (!opened) return summary(userId, "erased", nothing, []);
  const { row, resumed } = opened;
  opts.onProgress?.({ phase: "marked", resumed });
  const deleted: ErasureDeleted = {
    versions: [...(row.deleted.versions ?? [])],
    model: row.deleted.model ?? false,
    files: [...(row.deleted.files ?? [])],
    localFiles: [...(row.deleted.localFiles ?? [])],
    rows: row.deleted.rows ?? 0,
  };
  const modelId = row.model_id;
  const save = () => saveErasureProgress(db, s, row.id, deleted, modelId);

  // 2. A running training is canceled, so that it cannot add a version after the versions went.
  await step("cancel");
  if (await getActiveTraining(db, s, userId)) {
    try {
      const status = await cancelTraining(ctx, actor, userId);
      opts.onProgress?.({ phase: "training-canceled", trainingId: status.trainingId });
    } catch (err) {
      // Ended by itself between the look and the cancel: nothing runs any more.
      if (!isCode(err, "NO_ACTIVE_TRAINING")) throw err;
    }
  }

  const remaining: ErasureRemaining[] = [];
  if (modelId) {
    const [owner, name] = modelId.split("/") as [string, string];
    const gateway = await ctx.gatewayForOwner(owner); // the owner's own token

    // 3. Every version, then wait until Replicate lists none.
    await step("versions");
    const recorded = await db.query<{ v: string }>(
      `SELECT output_version AS v FROM ${s}.trainings WHERE user_id = $1 AND output_version IS NOT NULL
       UNION SELECT replicate_version_id FROM ${s}.user_models WHERE user_id = $1 AND replicate_version_id IS NOT NULL`,
      [userId],
    );
    const deadline = Date.now() + (opts.waitMs ?? DEFAULT_ERASE_WAIT_MS);
    const asked = new Set<string>();
    for (const { v } of recorded.rows) {
      if (asked.has(v)) continue;
      asked.add(v);
      await gateway.deleteVersion(owner, name, v);
      if (!deleted.versions.includes(v)) deleted.versions.push(v);
    }
    for (;;) {
      const listed = (await gateway.listVersions(owner, name)) ?? [];
      opts.onProgress?.({ phase: "versions", listed: listed.length, deleted: deleted.versions.length });
      if (listed.length === 0) break;
      for (const v of listed) {
        if (asked.has(v.id)) continue;
        asked.add(v.id);
        await gateway.deleteVersion(owner, name, v.id);
        if (!deleted.versions.includes(v.id)) deleted.versions.push(v.id);
      }
      await save();
      if (Date.now() >= deadline) {
        return summary(userId, "in_progress", deleted, [
          ...listed.map((v) => ({ kind: "version", id: `${modelId}:${v.id}`, why: "Replicate is still deleting it; run erase again" })),
        ]);
      }
      await abortableSleep(opts.pollIntervalMs ?? DEFAULT_POLL_MS, opts.signal);
    }
    await save();

    // 4. The model, now without versions.
    await step("model");
    try {
      await gateway.deleteModel(owner, name);
      deleted.model = true;
    } catch (err) {
      if (!isCode(err, "REPLICATE_CONFLICT")) throw err;
      // A version appeared after the listing (a training that finished meanwhile): next run.
      return summary(userId, "in_progress", deleted, [{ kind: "model", id: modelId, why: "it has versions again; run erase again" }]);
    }
    opts.onProgress?.({ phase: "model", deleted: true });
    await save();
  }

  // 5. The training uploads still at Replicate.
  await step("files");
  const trainings = await db.query<{ replicate_training_id: string | null; input_images_url: string | null; destination: string }>(
    `SELECT replicate_training_id, input_images_url, destination FROM ${s}.trainings WHERE user_id = $1 ORDER BY id`,
    [userId],
  );
  for (const t of trainings.rows) {
    const fileId = t.input_images_url ? replicateFileId(t.input_images_url) : null;
    if (!fileId || deleted.files.includes(fileId)) continue;
    const gateway = await ctx.gatewayForOwner(t.destination.split("/")[0]!);
    await gateway.deleteFile(fileId);
    deleted.files.push(fileId);
  }
  opts.onProgress?.({ phase: "files", deleted: deleted.files.length });
  await save();

  // 6. The output files sselfie wrote for the user: by recorded path and hash, one file at a time.
  await step("local-files");
  const outputs = await db.query<{ file: string; sha256: string | null }>(
    `SELECT o->>'file' AS file, o->>'sha256' AS sha256
       FROM ${s}.generations g, jsonb_array_elements(COALESCE(g.outputs, '[]'::jsonb)) o
      WHERE g.user_id = $1 AND o->>'file' IS NOT NULL`,
    [userId],
  );
  for (const { file, sha256 } of outputs.rows) {
    if (deleted.localFiles.includes(file)) continue;
    const stat = await lstat(file).catch(() => null);
    if (!stat) {
      deleted.localFiles.push(file); // already gone
      continue;
    }
    if (!stat.isFile()) {
      remaining.push({ kind: "localFile", id: file, why: "not a regular file any more; sselfie deletes only files it wrote" });
      continue;
    }
    if (!sha256 || (await sha256Of(file)) !== sha256) {
      remaining.push({ kind: "localFile", id: file, why: "its content is not what sselfie wrote (hash differs); left alone" });
      continue;
    }
    await unlink(file);
    deleted.localFiles.push(file);
  }
  opts.onProgress?.({ phase: "local-files", deleted: deleted.localFiles.length });
  await save();

  // 7. Rows, in one transaction, leaving the tombstone and an event.
  await step("rows");
  for (const t of trainings.rows) {
    if (t.replicate_training_id) {
      remaining.push({ kind: "training", id: t.replicate_training_id, why: "Replicate offers no way to delete a training's record (input URL, logs)" });
    }
  }
  const rows = await db.transaction(async (tx) => {
    const n = await deleteUserRows(tx, s, { id: row.id, userId, modelId, deleted, remaining });
    await appendEvent(tx, s, {
      operator: actor,
      action: "erase",
      userId,
      details: {
        erasureId: row.id,
        step: "erased",
        deleted: summary(userId, "erased", { ...deleted, rows: deleted.rows + n }, remaining).deleted,
        remaining: remaining.length,
      },
    });
    return n;
  });
  deleted.rows += rows;
  opts.onProgress?.({ phase: "rows", deleted: rows });
  return summary(userId, "erased", deleted, remaining);
}
