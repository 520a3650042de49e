/**
 * `generation.unfinished`: generations that a killed or interrupted process left without a final
 * state or without their images (see src/generation/finish.ts), found through the partial index of
 * migration 0003. Whether the process making one is still at work is decided here, in JavaScript,
 * from the holder recorded on the row: a live one is work in progress, not a finding.
 */
import { listUnfinishedGenerations } from "../db/generations.js";
import type { Queryable } from "../db/types.js";
import { isLeftBehind, needsFinishing } from "../generation/finish.js";
import { describeHolder } from "../process-holder.js";
import type { FindingFields } from "./sql-check.js";

type Finding = { rule: string } & FindingFields;

export const UNFINISHED_RULE = "generation.unfinished";

/** Reads at most this many unfinished rows: they are few, and a backlog beyond it is reported as such. */
const READ_LIMIT = 10_000;

export async function unfinishedGenerationFindings(
  db: Queryable,
  s: string,
  scope: { userId: string | null },
): Promise<{ count: number; findings: Finding[] }> {
  const rows = (await listUnfinishedGenerations(db, s, { userId: scope.userId, limit: READ_LIMIT })).filter((r) => needsFinishing(r) && isLeftBehind(r));
  const findings = rows.map((r): Finding => {
    const what = r.replicate_prediction_id
      ? r.status === "succeeded"
        ? `prediction ${r.replicate_prediction_id} succeeded but its images were not all saved`
        : `prediction ${r.replicate_prediction_id} was last seen ${r.status}, and nobody is following it`
      : `its create call got no answer naming a prediction (status ${r.status}: unanswered, cut off, or a 5xx), so its prediction may exist unrecorded`;
    return {
      rule: UNFINISHED_RULE,
      userId: r.user_id,
      generationId: r.id,
      message:
        `Generation #${r.id} is unfinished: ${what} (left by ${describeHolder(r.holder)}). ` +
        `Run \`sselfie status --user ${r.user_id}\` to finish it${r.out_dir ? ` (its images go to ${r.out_dir})` : ""}.`,
      ...(r.replicate_prediction_id ? { predictionId: r.replicate_prediction_id } : {}),
    };
  });
  return { count: findings.length, findings };
}
