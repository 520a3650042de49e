import type { Queryable } from "./types.js";

export interface VersionSchemaRow {
  version_id: string;
  model_id: string;
  /** `components.schemas.Input` with its `$ref`s inlined (src/generation/input-schema.ts). */
  input_schema: Record<string, unknown>;
  fetched_at: Date;
}

/** A version's input schema as cached; versions are immutable on Replicate, so it never goes stale. */
export async function getVersionSchema(db: Queryable, s: string, versionId: string): Promise<VersionSchemaRow | null> {
  const { rows } = await db.query<VersionSchemaRow>(`SELECT * FROM ${s}.model_version_schemas WHERE version_id = $1`, [versionId]);
  return rows[0] ?? null;
}

/** Keeps the first schema stored for a version (concurrent first generations race here harmlessly). */
export async function saveVersionSchema(
  db: Queryable,
  s: string,
  row: { versionId: string; modelId: string; inputSchema: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `INSERT INTO ${s}.model_version_schemas (version_id, model_id, input_schema) VALUES ($1, $2, $3)
     ON CONFLICT (version_id) DO NOTHING`,
    [row.versionId, row.modelId, JSON.stringify(row.inputSchema)],
  );
}
