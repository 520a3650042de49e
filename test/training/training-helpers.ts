/** Shared helpers of the training tests: image folders, row and event reads, zip reading. */
import yauzl from "yauzl";
import type { TrainingRow } from "../../src/db/trainings.js";
import type { Database } from "../../src/db/types.js";
import type { UserModelRow } from "../../src/db/user-models.js";
import { goodImages, writeFiles } from "../support/images.js";
import { tempDir } from "../support/temp-dirs.js";

export const HEX64 = /^[0-9a-f]{64}$/;

/** A folder of `count` distinct real images (PNG, JPEG, WebP in turn); returns the folder and the files. */
export function imageFolder(count = 12, seed = 0): { dir: string; files: Map<string, Buffer> } {
  const files = goodImages(count, { mixed: true, seed });
  const dir = writeFiles(tempDir("sselfie-images-"), files);
  return { dir, files };
}

export async function trainingRows(db: Database, userId?: string): Promise<TrainingRow[]> {
  const { rows } = userId
    ? await db.query<TrainingRow>(`SELECT * FROM ${db.s}.trainings WHERE user_id = $1 ORDER BY id`, [userId])
    : await db.query<TrainingRow>(`SELECT * FROM ${db.s}.trainings ORDER BY id`);
  return rows;
}

export async function userModel(db: Database, userId: string): Promise<UserModelRow | null> {
  const { rows } = await db.query<UserModelRow>(`SELECT * FROM ${db.s}.user_models WHERE user_id = $1`, [userId]);
  return rows[0] ?? null;
}

export interface EventRow {
  operator: string | null;
  action: string;
  user_id: string | null;
  outcome: string;
  details: Record<string, unknown>;
}

export async function events(db: Database, userId?: string): Promise<EventRow[]> {
  const { rows } = userId
    ? await db.query<EventRow>(`SELECT operator, action, user_id, outcome, details FROM ${db.s}.operator_events WHERE user_id = $1 ORDER BY id`, [userId])
    : await db.query<EventRow>(`SELECT operator, action, user_id, outcome, details FROM ${db.s}.operator_events ORDER BY id`);
  return rows;
}

export async function count(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${db.s}.${table}`);
  return rows[0]!.n;
}

/** Makes a pending row look abandoned: last touched an hour ago. */
export async function ageTraining(db: Database, id: number, minutes = 60): Promise<void> {
  await db.query(`UPDATE ${db.s}.trainings SET updated_at = now() - $2::int * interval '1 minute', created_at = now() - $2::int * interval '1 minute' WHERE id = $1`, [
    id,
    minutes,
  ]);
}

/** Every entry of a zip held in memory: name -> bytes. */
export function readZip(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("end", () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          stream.on("error", reject);
        });
      });
      zip.on("end", () => resolve(out));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}
