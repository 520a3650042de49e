/** The compliance audit (CONTRACT.md, "Audit rules"): database checks, remote checks, SARIF. */
export { runAudit, validateAuditOptions, DEFAULT_MAX_PER_RULE } from "./run-audit.js";
export { AUDIT_RULES, auditRule, type AuditRule, type AuditRuleScope } from "./rules.js";
export { toSarif, SARIF_SCHEMA, SARIF_VERSION, type SarifOptions } from "./sarif.js";
export { DEFAULT_CONCURRENCY, DEFAULT_RATE_PER_MINUTE } from "./remote-audit.js";
export type { AuditOptions, AuditProgress, AuditReport, AuditOwner, UnverifiedModel, Violation } from "./types.js";
