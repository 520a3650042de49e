/**
 * The audit report as SARIF 2.1.0, the format CI systems (GitHub code scanning, GitLab, Azure
 * DevOps) display. Findings are about data, not source files, but code scanning shows only results
 * with a physical location, so each result points at a pseudo file per user,
 * `sselfie-audit/users/<userId>`, line 1: alerts group by user in the code scanning UI and keep
 * their identity from run to run, and no source file is blamed for what the database holds (a real
 * file such as package.json would look like the cause and put every alert in one place). The
 * logical locations (the user, and the training, generation or model row) say exactly where.
 */
import { sarifLog } from "../sarif.js";
import { AUDIT_RULES } from "./rules.js";
import type { AuditReport, Violation } from "./types.js";

export { SARIF_SCHEMA, SARIF_VERSION } from "../sarif.js";

export interface SarifOptions {
  /** sselfie's version, shown as the tool's version. */
  toolVersion?: string;
}

/** The pseudo file a user's violations are reported against. */
export const auditArtifactUri = (userId: string) => `sselfie-audit/users/${encodeURIComponent(userId)}`;

function logicalLocations(v: Violation) {
  const user = { name: v.userId, fullyQualifiedName: `users/${v.userId}`, kind: "object" };
  const locations: Array<Record<string, string>> = [user];
  if (v.generationId !== undefined) {
    locations.push({ name: String(v.generationId), fullyQualifiedName: `users/${v.userId}/generations/${v.generationId}`, kind: "object" });
  } else if (v.trainingId !== undefined) {
    locations.push({ name: String(v.trainingId), fullyQualifiedName: `users/${v.userId}/trainings/${v.trainingId}`, kind: "object" });
  } else if (v.modelId !== undefined) {
    locations.push({ name: v.modelId, fullyQualifiedName: `users/${v.userId}/model/${v.modelId}`, kind: "resource" });
  }
  return locations;
}

export function toSarif(report: AuditReport, opts: SarifOptions = {}): Record<string, unknown> {
  return sarifLog({
    tool: "sselfie audit",
    toolVersion: opts.toolVersion,
    rules: AUDIT_RULES.map((r) => ({
      id: r.id,
      shortDescription: r.explanation,
      fullDescription: `${r.explanation} (${r.scope} check)`,
      help: r.fix,
      properties: { scope: r.scope },
    })),
    results: report.violations.map((v) => {
      const { rule, userId, message, ...details } = v;
      return {
        ruleId: rule,
        message,
        uri: auditArtifactUri(userId),
        line: 1,
        column: 1,
        logicalLocations: logicalLocations(v),
        partialFingerprints: { "sselfieFinding/v1": [rule, userId, v.generationId ?? v.trainingId ?? v.modelId ?? ""].join("|") },
        properties: { userId, ...details },
      };
    }),
    invocationProperties: { scope: report.scope, owner: report.owner, checked: report.checked, durationMs: report.durationMs },
    runProperties: { ok: report.ok, counts: report.counts, truncated: report.truncated, unverified: report.unverified },
  });
}
