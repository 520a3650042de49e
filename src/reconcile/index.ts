/** Finishing work unattended: one pass over everything unfinished. */
export {
  reconcile,
  DEFAULT_RECHECK_AFTER_MS,
  DEFAULT_RECONCILE_CONCURRENCY,
  DEFAULT_LEASE_MS,
  type ReconcileCallOptions,
  type ReconcileItemError,
  type ReconcileProgress,
  type ReconcileReport,
} from "./run-reconcile.js";
