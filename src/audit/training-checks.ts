/** Rules over `trainings`: locked trainer, own destination, own trigger word, recorded output. */
import { TRAINER_REF } from "../locked.js";
import { expectedModelSql, hex64Sql, type AuditScope } from "./scope-sql.js";
import { SqlParams, type TableCheck } from "./sql-check.js";

interface TrainingRow {
  user_id: string;
  id: number;
  replicate_training_id: string | null;
  trainer_version: string;
  destination: string;
  trigger_word: unknown;
  status: string;
  output_version: string | null;
  identity_check: string | null;
  expected_destination: string | null;
  shared_with: string[] | null;
}

/**
 * `uniqueOutputVersionIndex`: a unique index on output_version makes a version recorded for two
 * trainings impossible, which spares the self-join that looks for it.
 * `outputVersionHexChecked`: 0002's validated check makes every recorded output version 64 hex.
 */
export function trainingsCheck(
  scope: AuditScope,
  opts: { uniqueOutputVersionIndex: boolean; outputVersionHexChecked?: boolean },
): TableCheck<TrainingRow> {
  const p = new SqlParams();
  const { s } = scope;
  const expected = expectedModelSql(p, scope, "x.user_id");
  const where = scope.userId === null ? "true" : `x.user_id = ${p.add(scope.userId, "text")}`;
  // The first user to record a version keeps it; every later training of another user naming
  // it is a finding.
  const earlierElsewhere = `EXISTS (SELECT 1 FROM ${s}.trainings o WHERE o.output_version = x.output_version
      AND o.status = 'completed' AND o.user_id <> x.user_id AND (o.created_at, o.id) < (x.created_at, x.id))`;
  return {
    with: "",
    from: `${s}.trainings x`,
    where,
    detail: `x.user_id, x.id, x.replicate_training_id, x.trainer_version, x.destination, x.input -> 'trigger_word' AS trigger_word,
      x.status, x.output_version, x.identity_check, ${expected} AS expected_destination,
      ARRAY(SELECT DISTINCT o.user_id FROM ${s}.trainings o
        WHERE o.output_version = x.output_version AND o.status = 'completed' AND o.user_id <> x.user_id ORDER BY 1) AS shared_with`,
    order: "x.user_id, x.id",
    params: p,
    rules: [
      { id: "training.trainer", when: `x.trainer_version IS DISTINCT FROM ${p.add(TRAINER_REF, "text")}` },
      { id: "training.destination", when: `x.destination IS DISTINCT FROM ${expected}` },
      // As text: no JSON value but the string "user{id}" renders as user{id}.
      { id: "training.trigger-word", when: `x.input ->> 'trigger_word' IS DISTINCT FROM 'user' || x.user_id` },
      {
        id: "training.output-version",
        when: opts.outputVersionHexChecked
          ? `x.status = 'completed' AND x.output_version IS NULL`
          : `x.status = 'completed' AND (x.output_version IS NULL OR NOT ${hex64Sql("x.output_version")})`,
      },
      { id: "training.identity-checked", when: `x.identity_check IS NULL` },
      ...(opts.uniqueOutputVersionIndex
        ? []
        : [{ id: "version.shared", when: `x.status = 'completed' AND x.output_version IS NOT NULL AND ${earlierElsewhere}`, alone: true }]),
    ],
    describe: (rule, row) => {
      const base = {
        userId: row.user_id,
        trainingId: row.id,
        ...(row.replicate_training_id ? { replicateTrainingId: row.replicate_training_id } : {}),
      };
      const which = `Training #${row.id}${row.replicate_training_id ? ` (${row.replicate_training_id})` : ""}`;
      switch (rule) {
        case "training.trainer":
          return { ...base, message: `${which} used trainer ${JSON.stringify(row.trainer_version)}, not ${TRAINER_REF}.` };
        case "training.destination":
          return {
            ...base,
            modelId: row.destination,
            message: `${which} trained into ${JSON.stringify(row.destination)}, not ${row.expected_destination ?? "the user's own model"}.`,
          };
        case "training.trigger-word":
          return {
            ...base,
            message: `${which} was started with trigger_word ${JSON.stringify(row.trigger_word ?? null)}, not "user${row.user_id}".`,
          };
        case "training.output-version":
          return {
            ...base,
            message:
              row.output_version === null
                ? `${which} is completed but records no output version.`
                : `${which} records output version ${JSON.stringify(row.output_version)}, which is not 64 hex characters.`,
          };
        case "training.identity-checked":
          return { ...base, message: `${which} records no identity check of its photos: nothing says they show one person, and that it is user ${row.user_id}.` };
        default:
          return {
            ...base,
            message: `${which} records output version ${row.output_version}, which is also recorded for users ${(row.shared_with ?? [])
              .filter((u) => u !== row.user_id)
              .join(", ")}.`,
          };
      }
    },
  };
}
