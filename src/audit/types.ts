/** The audit's options and its report (the CLI's JSON document is the report itself). */

export interface AuditOptions {
  /** Audit one user; default: every user. */
  userId?: string;
  /** Also check each model, version and training at Replicate. */
  remote?: boolean;
  /** Requests to Replicate in flight at once (default 8). */
  concurrency?: number;
  /**
   * Requests a minute sent to Replicate (default 2,400: 80% of the 3,000 Replicate allows, so a
   * service running on the same account keeps room for its own calls).
   */
  ratePerMinute?: number;
  /** Findings listed per rule (default 1,000); `counts` always has every one. */
  maxPerRule?: number;
  /** Called as remote checks progress (for a spinner). */
  onProgress?: (progress: AuditProgress) => void;
}

export interface AuditProgress {
  phase: "database" | "remote";
  done: number;
  total: number;
}

export interface Violation {
  rule: string;
  userId: string;
  message: string;
  /** The row the finding is about, when it is not the user's model row. */
  generationId?: number;
  /** Replicate's prediction id of an unfinished generation. */
  predictionId?: string;
  /**
   * With `remote`, what Replicate reports of an unfinished generation's prediction: its status
   * (`starting`, `processing`, `succeeded`, `failed`, `canceled`, `aborted`), `missing`, or
   * `unknown` when it could not be read.
   */
  remoteStatus?: string;
  trainingId?: number;
  replicateTrainingId?: string;
  modelId?: string;
  versionRef?: string;
}

export interface UnverifiedModel {
  userId: string;
  modelId: string;
  /** The error code that stopped the check (e.g. REPLICATE_UNAVAILABLE). */
  code: string;
  message: string;
}

export interface AuditOwner {
  /** The owner model ids were checked against; null when there was nothing to infer it from. */
  name: string | null;
  /** "configured": REPLICATE_OWNER or the token's account; "inferred": the owner of most models in the data. */
  source: "configured" | "inferred";
  /** Why the owner was inferred (no Replicate token, or the account lookup failed). */
  reason?: string;
}

export interface AuditReport {
  /** True only when nothing was violated and nothing was left unverified. */
  ok: boolean;
  checked: {
    users: number;
    models: number;
    trainings: number;
    generations: number;
    /** Models checked at Replicate (with --remote); unverified ones are not counted. */
    remoteModels?: number;
  };
  /** Findings, at most `maxPerRule` for each rule, ordered by rule, user and row. */
  violations: Violation[];
  /** Every finding counted, by rule id (rules with none are absent). */
  counts: Record<string, number>;
  /** True when some rule had more findings than were listed. */
  truncated: boolean;
  /** Models that could not be checked at Replicate; each also appears as a `remote.unverified` violation. */
  unverified: UnverifiedModel[];
  owner: AuditOwner;
  scope: { userId: string | null; remote: boolean };
  durationMs: number;
}
