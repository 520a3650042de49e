/**
 * Erasure rules: an erased user leaves no row from before the erasure (`erasure.rows`), and with
 * --remote their model is gone from Replicate (`erasure.remote-model`).
 */
import type { Queryable } from "../db/types.js";
import type { ReplicateGateway } from "../replicate/index.js";
import type { AuditScope } from "./scope-sql.js";
import { SqlParams, type TableCheck } from "./sql-check.js";
import type { Violation } from "./types.js";

interface ErasureRow {
  user_id: string;
  finished_at: Date;
}

export function erasuresCheck(scope: AuditScope): TableCheck<ErasureRow> {
  const p = new SqlParams();
  const s = scope.s;
  const before = (table: string, column: string) =>
    `EXISTS (SELECT 1 FROM ${s}.${table} r WHERE r.${column} = x.user_id AND r.created_at <= x.finished_at)`;
  return {
    with: "",
    from: `${s}.erasures x`,
    where: `x.status = 'erased'${scope.userId === null ? "" : ` AND x.user_id = ${p.add(scope.userId, "text")}`}`,
    detail: "x.user_id, x.finished_at",
    order: "x.user_id, x.finished_at",
    params: p,
    rules: [
      {
        id: "erasure.rows",
        alone: true,
        when: `(${before("users", "id")} OR ${before("user_models", "user_id")} OR ${before("trainings", "user_id")} OR ${before("generations", "user_id")})`,
      },
    ],
    describe: (_rule, row) => ({
      userId: row.user_id,
      message: `User ${row.user_id} was erased at ${new Date(row.finished_at).toISOString()}, but rows from before the erasure remain: run \`sselfie erase --user ${row.user_id}\` again.`,
    }),
  };
}

export interface ErasedModel {
  userId: string;
  modelId: string;
}

/** Models of erased users who were not trained again since (no user_models row now). */
export async function loadErasedModels(db: Queryable, s: string, userId: string | null): Promise<ErasedModel[]> {
  const { rows } = await db.query<{ user_id: string; model_id: string }>(
    `SELECT DISTINCT e.user_id, e.model_id FROM ${s}.erasures e
      WHERE e.status = 'erased' AND e.model_id IS NOT NULL AND ($1::text IS NULL OR e.user_id = $1)
        AND NOT EXISTS (SELECT 1 FROM ${s}.user_models m WHERE m.user_id = e.user_id)
      ORDER BY e.user_id`,
    [userId],
  );
  return rows.map((r) => ({ userId: r.user_id, modelId: r.model_id }));
}

/** One GET per erased model, with its owner's token: a model still there is a finding. */
export async function auditErasedModels(
  gatewayForOwner: (owner: string) => Promise<ReplicateGateway>,
  erased: readonly ErasedModel[],
): Promise<Violation[]> {
  const findings: Violation[] = [];
  for (const e of erased) {
    const [owner, name] = e.modelId.split("/") as [string, string];
    if (await (await gatewayForOwner(owner)).getModel(owner, name)) {
      findings.push({
        rule: "erasure.remote-model",
        userId: e.userId,
        modelId: e.modelId,
        message: `User ${e.userId} was erased, but the model ${e.modelId} still exists on Replicate: run \`sselfie erase --user ${e.userId}\` again.`,
      });
    }
  }
  return findings;
}
