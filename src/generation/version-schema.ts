/**
 * The input schema of the user's active version: from the cache (model_version_schemas), else
 * read once from Replicate under the user's own model. Reading it under that model also proves
 * the version belongs to it: Replicate answers 404 for a version of any other model.
 */
import type { SselfieContext } from "../context.js";
import type { Database } from "../db/types.js";
import { getVersionSchema, type VersionSchemaRow } from "../db/version-schemas.js";
import { StateError } from "../errors.js";
import { extractInputSchema, type InputSchema } from "./input-schema.js";
import { integrityViolation, type UserModelRef } from "./resolve-model.js";

export interface LoadedInputSchema {
  schema: InputSchema;
  /** False when it was just read from Replicate (and is cached only once it passes the check). */
  cached: boolean;
}

/**
 * Rows already read from the cache table, per database: a version never changes, so a process
 * reads each one once. Only rows read back from the table are kept, never a schema still unchecked.
 */
const seen = new WeakMap<Database, Map<string, Pick<VersionSchemaRow, "model_id" | "input_schema">>>();

export async function loadInputSchema(ctx: SselfieContext, model: UserModelRef): Promise<LoadedInputSchema> {
  let memo = seen.get(ctx.db);
  if (!memo) seen.set(ctx.db, (memo = new Map()));
  let row = memo.get(model.versionId) ?? null;
  if (!row) {
    row = await getVersionSchema(ctx.db, ctx.db.s, model.versionId);
    if (row) memo.set(model.versionId, { model_id: row.model_id, input_schema: row.input_schema });
  }
  if (row) {
    if (row.model_id !== model.modelId) {
      throw integrityViolation(`Version ${model.versionId} is cached as a version of ${row.model_id}, not of ${model.modelId}.`, {
        userId: model.userId,
        versionId: model.versionId,
        cachedModelId: row.model_id,
        expectedModelId: model.modelId,
      });
    }
    return { schema: row.input_schema as InputSchema, cached: true };
  }
  const [owner, name] = model.modelId.split("/") as [string, string];
  const gateway = await ctx.gatewayForOwner(owner);
  const version = await gateway.getVersion(owner, name, model.versionId);
  if (!version) {
    throw integrityViolation(`Replicate has no version ${model.versionId} under ${model.modelId}.`, {
      userId: model.userId,
      versionId: model.versionId,
      modelId: model.modelId,
    });
  }
  const schema = extractInputSchema(version.openapi_schema);
  if (!schema) {
    throw new StateError(
      "LOCKED_INPUT_UNSUPPORTED",
      `Version ${model.ref} publishes no input schema, so sselfie cannot check that the locked input would take effect. ` +
        `Nothing was sent. Retrain the user's model (sselfie train --user ${model.userId} --images <folder>).`,
      { userId: model.userId, version: model.ref, problems: ["no openapi_schema.components.schemas.Input"] },
    );
  }
  return { schema, cached: false };
}
