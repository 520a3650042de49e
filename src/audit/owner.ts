/**
 * The owner model ids are checked against. A database-only audit must run in CI without a
 * Replicate token, so when neither REPLICATE_OWNER nor the token's account can tell it, the owner
 * of most models in the data stands in: every model under another owner is then a `model.id`
 * finding (one architecture, one owner), and the report says the owner was inferred. With
 * --remote the owner must be known: checking Replicate needs the token anyway.
 */
import type { SselfieContext } from "../context.js";
import type { Queryable } from "../db/types.js";
import { ConfigError, ReplicateError } from "../errors.js";
import type { AuditOwner } from "./types.js";

export async function configuredOwner(ctx: SselfieContext): Promise<AuditOwner | { error: ConfigError | ReplicateError }> {
  try {
    return { name: await ctx.implicitOwner(), source: "configured" };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ReplicateError) return { error: err };
    throw err;
  }
}

/** The most common owner among recorded model ids and training destinations (ties: by name). */
export async function inferOwner(db: Queryable, s: string, reason: string): Promise<AuditOwner> {
  const { rows } = await db.query<{ owner: string }>(
    `SELECT owner FROM (
       SELECT split_part(replicate_model_id, '/', 1) AS owner FROM ${s}.user_models
       UNION ALL
       SELECT split_part(destination, '/', 1) FROM ${s}.trainings
     ) o
     WHERE owner <> ''
     GROUP BY owner ORDER BY count(*) DESC, owner LIMIT 1`,
  );
  return { name: rows[0]?.owner ?? null, source: "inferred", reason };
}
