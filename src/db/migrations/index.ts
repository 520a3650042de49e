/**
 * Every migration, in order. Each is a plain SQL file bundled as text, so the package needs no
 * files beside its JavaScript. Add a file NNNN_name.sql and one line here; never edit a shipped one
 * (its checksum is recorded and checked).
 */
import initial from "./0001_initial.sql";
import auditSupport from "./0002_audit_support.sql";
import reconcile from "./0003_reconcile.sql";
import datasetPreparation from "./0004_dataset_preparation.sql";
import erasures from "./0005_erasures.sql";
import owners from "./0006_owners.sql";
import costs from "./0007_costs.sql";
import faceIdentity from "./0008_face_identity.sql";
import workHolders from "./0009_work_holders.sql";
import generationTraining from "./0010_generation_training.sql";
import auditIndexOnly from "./0011_audit_index_only.sql";
import auditMergeJoins from "./0012_audit_merge_joins.sql";

export interface Migration {
  version: number;
  /** The file name without `.sql`, e.g. `0001_initial`. */
  name: string;
  /** The file's text; `:SCHEMA` stands for the quoted schema name. */
  sql: string;
}

function migration(name: string, sql: string): Migration {
  return { version: Number(name.slice(0, 4)), name, sql };
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  migration("0001_initial", initial),
  migration("0002_audit_support", auditSupport),
  migration("0003_reconcile", reconcile),
  migration("0004_dataset_preparation", datasetPreparation),
  migration("0005_erasures", erasures),
  migration("0006_owners", owners),
  migration("0007_costs", costs),
  migration("0008_face_identity", faceIdentity),
  migration("0009_work_holders", workHolders),
  migration("0010_generation_training", generationTraining),
  migration("0011_audit_index_only", auditIndexOnly),
  migration("0012_audit_merge_joins", auditMergeJoins),
]);
