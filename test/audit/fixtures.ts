/**
 * Clean data for the audit tests, built with the locked rules of src/locked.ts (never with the
 * audit's own SQL), in the shapes the training and generation code leave behind (design.md,
 * "Data conventions"): first trainings, retrainings that succeeded, failed or were canceled,
 * trainings still running, users with no model, versions whose schema names guidance `guidance`,
 * versions with no cached schema, awkward prompts, and a Replicate clock a little ahead of ours.
 */
import { createHash } from "node:crypto";
import type { SselfieContext } from "../../src/context.js";
import type { Database } from "../../src/db/types.js";
import { extractInputSchema } from "../../src/generation/input-schema.js";
import { TRAINER_REF, buildGenerationInput, destinationModelId, hashInput, triggerWord, type GuidanceKey } from "../../src/locked.js";
import type { ReplicateGateway } from "../../src/replicate/index.js";
import { TRAINER_VERSION, trainedModelInputSchema, type Emulator } from "../support/emulator/index.js";

export const T0 = Date.parse("2024-03-01T00:00:00Z");
export const HOUR = 3_600_000;
export const iso = (ms: number) => new Date(ms).toISOString();

/** A 64-hex id derived from a label, so fixtures are the same on every run. */
export function hexId(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}

export const TRAINED_SCHEMA = extractInputSchema({ components: { schemas: { Input: trainedModelInputSchema() } } })!;
/** A version that names its guidance input `guidance` (as base models do). */
export const GUIDANCE_SCHEMA = (() => {
  const { guidance_scale, ...rest } = TRAINED_SCHEMA.properties;
  return { ...TRAINED_SCHEMA, properties: { ...rest, guidance: guidance_scale! } };
})();

export const AWKWARD_PROMPTS = [
  'user{id} in a "quoted" \\ backslash studio',
  "user{id}\nnew line\ttab\r\u0001\u001f control",
  "user{id} ünïcödé 写真 🙂 \u2028\u2029 / slash",
  "user{id} </script> & 'apostrophes'",
];

export interface Rows {
  users: Array<{ id: string }>;
  models: Array<Record<string, unknown>>;
  trainings: Array<Record<string, unknown>>;
  schemas: Array<Record<string, unknown>>;
  generations: Array<Record<string, unknown>>;
}

function emptyRows(): Rows {
  return { users: [], models: [], trainings: [], schemas: [], generations: [] };
}

export type UserKind =
  | "trained"
  | "retrained"
  | "retrain-failed"
  | "training"
  | "no-model"
  | "guidance-key"
  | "uncached-schema"
  | "awkward-prompts"
  | "failed-then-trained"
  | "clock-skew";

export const KINDS: UserKind[] = [
  "trained",
  "retrained",
  "retrain-failed",
  "training",
  "no-model",
  "guidance-key",
  "uncached-schema",
  "awkward-prompts",
  "failed-then-trained",
  "clock-skew",
];

export interface FixtureUser {
  id: string;
  kind: UserKind;
  modelId: string;
  /** Versions made by its completed trainings, oldest first. */
  versions: string[];
}

/** The rows one user of `kind` has; ids are unique per `userId`. */
export function userRows(owner: string, userId: string, kind: UserKind, rows: Rows = emptyRows()): FixtureUser {
  const modelId = destinationModelId(owner, userId);
  const trigger = triggerWord(userId);
  const versions: string[] = [];
  rows.users.push({ id: userId });
  if (kind === "no-model") return { id: userId, kind, modelId, versions };

  let n = 0;
  const training = (status: string, at: number, opts: { version?: string; finishedAt?: number; updatedAt?: number } = {}) => {
    n++;
    const rid = `t${hexId(`${userId}/${n}`).slice(0, 24)}`;
    const done = status !== "training";
    rows.trainings.push({
      user_id: userId,
      replicate_training_id: rid,
      trainer_version: TRAINER_REF,
      destination: modelId,
      input: { input_images: `https://api.replicate.com/v1/files/${rid}`, trigger_word: trigger, steps: 1000 },
      input_images_url: `https://api.replicate.com/v1/files/${rid}`,
      status,
      replicate_status: { completed: "succeeded", failed: "failed", canceled: "canceled", training: "processing" }[status],
      output_version: opts.version ?? null,
      error: status === "failed" ? "CUDA out of memory" : null,
      created_at: iso(at),
      started_at: iso(at),
      finished_at: done ? iso(opts.finishedAt ?? at + HOUR) : null,
      updated_at: iso(opts.updatedAt ?? opts.finishedAt ?? at + HOUR),
    });
    if (opts.version) versions.push(opts.version);
    return rid;
  };
  const schemaFor = (version: string, schema: object | null) => {
    if (schema) rows.schemas.push({ version_id: version, model_id: modelId, input_schema: schema });
  };
  let g = 0;
  const generation = (version: string, at: number, key: GuidanceKey = "guidance_scale", prompt?: string) => {
    g++;
    const text = prompt ?? `${trigger} portrait, studio light #${g}`;
    const seed = Number.parseInt(hexId(`${userId}/g${g}`).slice(0, 8), 16) % 1_000_000;
    const input = buildGenerationInput(text, seed, key);
    rows.generations.push({
      user_id: userId,
      version_ref: `${modelId}:${version}`,
      prompt: text,
      input,
      input_hash: hashInput(input),
      seed,
      status: "succeeded",
      replicate_prediction_id: `p${hexId(`${userId}/p${g}`).slice(0, 24)}`,
      outputs: [{ url: `https://replicate.delivery/${userId}/${g}.png`, file: `/out/${userId}-${g}.png`, size: 1000, sha256: hexId(`${userId}/o${g}`) }],
      created_at: iso(at),
      finished_at: iso(at + 60_000),
      updated_at: iso(at + 60_000),
    });
  };
  const model = (status: string, version: string | null, current: string | null, versionAt: number | null) =>
    rows.models.push({
      user_id: userId,
      replicate_model_id: modelId,
      replicate_version_id: version,
      trigger_word: trigger,
      training_status: status,
      current_training_id: current,
      error: status === "failed" ? "CUDA out of memory" : null,
      version_updated_at: versionAt === null ? null : iso(versionAt),
      created_at: iso(T0),
      updated_at: iso(T0 + 10 * HOUR),
    });

  const v1 = hexId(`${userId}/v1`);
  const v2 = hexId(`${userId}/v2`);
  switch (kind) {
    case "trained":
    case "awkward-prompts": {
      const rid = training("completed", T0, { version: v1 });
      schemaFor(v1, TRAINED_SCHEMA);
      model("completed", v1, rid, T0 + HOUR);
      if (kind === "trained") {
        generation(v1, T0 + 2 * HOUR);
        generation(v1, T0 + 3 * HOUR);
      } else {
        AWKWARD_PROMPTS.forEach((p, i) => generation(v1, T0 + (2 + i) * HOUR, "guidance_scale", p.replaceAll("{id}", userId)));
      }
      break;
    }
    case "retrained": {
      training("completed", T0, { version: v1 });
      const rid = training("completed", T0 + 4 * HOUR, { version: v2 });
      schemaFor(v1, TRAINED_SCHEMA);
      schemaFor(v2, TRAINED_SCHEMA);
      model("completed", v2, rid, T0 + 5 * HOUR);
      generation(v1, T0 + 2 * HOUR);
      generation(v1, T0 + 4.5 * HOUR);
      generation(v2, T0 + 6 * HOUR);
      break;
    }
    case "retrain-failed": {
      training("completed", T0, { version: v1 });
      const rid = training("failed", T0 + 4 * HOUR);
      schemaFor(v1, TRAINED_SCHEMA);
      model("failed", v1, rid, T0 + HOUR);
      generation(v1, T0 + 6 * HOUR);
      break;
    }
    case "training": {
      const rid = training("training", T0);
      model("training", null, rid, null);
      break;
    }
    case "guidance-key": {
      const rid = training("completed", T0, { version: v1 });
      schemaFor(v1, GUIDANCE_SCHEMA);
      model("completed", v1, rid, T0 + HOUR);
      generation(v1, T0 + 2 * HOUR, "guidance");
      break;
    }
    case "uncached-schema": {
      const rid = training("completed", T0, { version: v1 });
      model("completed", v1, rid, T0 + HOUR);
      generation(v1, T0 + 2 * HOUR, "guidance_scale");
      generation(v1, T0 + 3 * HOUR, "guidance");
      break;
    }
    case "failed-then-trained": {
      training("failed", T0);
      const rid = training("completed", T0 + 2 * HOUR, { version: v1 });
      schemaFor(v1, TRAINED_SCHEMA);
      model("completed", v1, rid, T0 + 3 * HOUR);
      generation(v1, T0 + 4 * HOUR);
      break;
    }
    case "clock-skew": {
      // Replicate's completed_at is 5 s ahead of our clock: the generation recorded 2 s after we
      // stored the outcome looks earlier than the training's finished_at.
      const rid = training("completed", T0, { version: v1, finishedAt: T0 + HOUR + 5_000, updatedAt: T0 + HOUR });
      schemaFor(v1, TRAINED_SCHEMA);
      model("completed", v1, rid, T0 + HOUR);
      generation(v1, T0 + HOUR + 2_000);
      // and a retraining canceled at Replicate, the version kept
      training("canceled", T0 + 3 * HOUR);
      break;
    }
  }
  return { id: userId, kind, modelId, versions };
}

/** `count` users cycling through every kind; ids mix the separators a user id may use. */
export function cleanRows(owner: string, count: number): { rows: Rows; users: FixtureUser[] } {
  const rows = emptyRows();
  const users: FixtureUser[] = [];
  for (let i = 0; i < count; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const id = i % 7 === 3 ? `user.${i}_x-${i}` : `u${i}`;
    users.push(userRows(owner, id, kind, rows));
  }
  return { rows, users };
}

/** Writes the rows with one statement per table (jsonb_to_recordset), as the SDK would have. */
export async function insertRows(db: Database, rows: Rows): Promise<void> {
  const s = db.s;
  const put = (sql: string, data: unknown[]) => (data.length ? db.query(sql, [JSON.stringify(data)]) : Promise.resolve());
  await put(`INSERT INTO ${s}.users (id) SELECT id FROM jsonb_to_recordset($1::jsonb) AS r(id text)`, rows.users);
  await put(
    `INSERT INTO ${s}.user_models (user_id, replicate_model_id, replicate_version_id, trigger_word, training_status, current_training_id, error, version_updated_at, created_at, updated_at)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, replicate_model_id text, replicate_version_id text, trigger_word text,
       training_status text, current_training_id text, error text, version_updated_at timestamptz, created_at timestamptz, updated_at timestamptz)`,
    rows.models,
  );
  await put(
    `INSERT INTO ${s}.trainings (user_id, replicate_training_id, trainer_version, destination, input, input_images_url, status, replicate_status,
       output_version, error, created_at, started_at, finished_at, updated_at, identity_check)
     SELECT *, 'passed' FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, replicate_training_id text, trainer_version text, destination text, input jsonb,
       input_images_url text, status text, replicate_status text, output_version text, error text, created_at timestamptz, started_at timestamptz,
       finished_at timestamptz, updated_at timestamptz)`,
    rows.trainings,
  );
  await put(
    `INSERT INTO ${s}.model_version_schemas (version_id, model_id, input_schema)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(version_id text, model_id text, input_schema jsonb)`,
    rows.schemas,
  );
  // Each generation names the user's completed training that made its version (migration 0010),
  // as generate records it.
  await put(
    `INSERT INTO ${s}.generations (user_id, version_ref, prompt, input, input_hash, seed, status, replicate_prediction_id, outputs, created_at, finished_at,
       updated_at, training_id)
     SELECT r.*, (SELECT min(t.id) FROM ${s}.trainings t WHERE t.user_id = r.user_id AND t.version_ref = r.version_ref)
     FROM jsonb_to_recordset($1::jsonb) AS r(user_id text, version_ref text, prompt text, input jsonb, input_hash text, seed int,
       status text, replicate_prediction_id text, outputs jsonb, created_at timestamptz, finished_at timestamptz, updated_at timestamptz)`,
    rows.generations,
  );
}

/** A context for database-only audits: the owner is configured, Replicate is never reached. */
export function dbOnlyContext(db: Database, owner: string | null = "alice"): SselfieContext {
  const noReplicate = async (): Promise<never> => {
    throw Object.assign(new Error("no Replicate in this test"), { code: "MISSING_REPLICATE_TOKEN" });
  };
  return {
    db,
    webhookUrl: undefined,
    tmpDir: "/tmp",
    gatewayForOwner: noReplicate,
    gatewayForUser: noReplicate,
    implicitOwner: async () => {
      if (owner === null) {
        const { ConfigError } = await import("../../src/errors.js");
        throw new ConfigError("REPLICATE_API_TOKEN is not set", {}, "MISSING_REPLICATE_TOKEN");
      }
      return owner;
    },
  };
}

/** Drops the CHECK constraints of `table` whose definition mentions `text` (a throwaway schema). */
export async function dropChecks(db: Database, table: string, text: string): Promise<string[]> {
  const { rows } = await db.query<{ conname: string }>(
    `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('c', 'u') AND pg_get_constraintdef(oid) LIKE $2`,
    [`${db.s}.${table}`, `%${text}%`],
  );
  for (const r of rows) await db.query(`ALTER TABLE ${db.s}.${table} DROP CONSTRAINT "${r.conname}"`);
  if (rows.length === 0) throw new Error(`no constraint of ${table} mentions ${text}`);
  return rows.map((r) => r.conname);
}

/** Drops 0006's trigger that refuses to move a trained user to another model, so a plant can. */
export async function dropOwnerGuard(db: Database): Promise<void> {
  await db.query(`DROP TRIGGER user_models_keep_trained_owner ON ${db.s}.user_models`);
}

/** Drops 0002's locked-input constraint on generations, so a plant can store what it refuses. */
export async function dropLockedInputCheck(db: Database): Promise<void> {
  await dropChecks(db, "generations", "generation_input_locked");
}

/**
 * A user trained at the emulator for real (its model private, a training created over HTTP and
 * finished there), and the rows sselfie records for it, with one generation.
 */
export async function trainedAtEmulator(db: Database, emulator: Emulator, gateway: ReplicateGateway, userId: string): Promise<FixtureUser & { trainingId: string }> {
  const owner = emulator.owner;
  const modelId = destinationModelId(owner, userId);
  if (!emulator.models.has(modelId)) emulator.createModel(modelId, { visibility: "private", hardware: "gpu-h100" });
  const input = { input_images: `https://example.invalid/${userId}.zip`, trigger_word: triggerWord(userId) };
  const t = await gateway.createTraining({
    trainerOwner: "ostris",
    trainerName: "flux-dev-lora-trainer",
    trainerVersion: TRAINER_VERSION,
    destination: modelId,
    input,
  });
  emulator.finishTraining(t.id, "succeeded");
  const versionId = emulator.trainings.get(t.id)!.output!.version.split(":")[1]!;
  const rows = emptyRows();
  rows.users.push({ id: userId });
  rows.models.push({
    user_id: userId,
    replicate_model_id: modelId,
    replicate_version_id: versionId,
    trigger_word: triggerWord(userId),
    training_status: "completed",
    current_training_id: t.id,
    error: null,
    version_updated_at: iso(T0 + HOUR),
    created_at: iso(T0),
    updated_at: iso(T0 + HOUR),
  });
  rows.trainings.push({
    user_id: userId,
    replicate_training_id: t.id,
    trainer_version: TRAINER_REF,
    destination: modelId,
    input,
    input_images_url: input.input_images,
    status: "completed",
    replicate_status: "succeeded",
    output_version: versionId,
    error: null,
    created_at: iso(T0),
    started_at: iso(T0),
    finished_at: iso(T0 + HOUR),
    updated_at: iso(T0 + HOUR),
  });
  rows.schemas.push({ version_id: versionId, model_id: modelId, input_schema: TRAINED_SCHEMA });
  const gen = buildGenerationInput(`${triggerWord(userId)} portrait`, 42, "guidance_scale");
  rows.generations.push({
    user_id: userId,
    version_ref: `${modelId}:${versionId}`,
    prompt: `${triggerWord(userId)} portrait`,
    input: gen,
    input_hash: hashInput(gen),
    seed: 42,
    status: "succeeded",
    replicate_prediction_id: null,
    outputs: null,
    created_at: iso(T0 + 2 * HOUR),
    finished_at: null,
    updated_at: iso(T0 + 2 * HOUR),
  });
  await insertRows(db, rows);
  return { id: userId, kind: "trained", modelId, versions: [versionId], trainingId: t.id };
}
