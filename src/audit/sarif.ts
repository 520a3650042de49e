/**
 * The audit report as SARIF 2.1.0, the format CI systems (GitHub code scanning, GitLab, Azure
 * DevOps) display. Findings are about data, not source files, so each result is located by a
 * logical location: the user, and the training or generation row where there is one.
 */
import { AUDIT_RULES } from "./rules.js";
import type { AuditReport, Violation } from "./types.js";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
export const SARIF_VERSION = "2.1.0";

export interface SarifOptions {
  /** sselfie's version, shown as the tool's version. */
  toolVersion?: string;
}

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
  const ruleIndex = new Map(AUDIT_RULES.map((r, i) => [r.id, i]));
  // `version` first, so that readers can sniff it (SARIF 2.1.0, 3.13.2).
  return {
    version: SARIF_VERSION,
    $schema: SARIF_SCHEMA,
    runs: [
      {
        tool: {
          driver: {
            name: "sselfie audit",
            ...(opts.toolVersion ? { version: opts.toolVersion, semanticVersion: opts.toolVersion } : {}),
            informationUri: "https://www.npmjs.com/package/sselfie",
            rules: AUDIT_RULES.map((r) => ({
              id: r.id,
              name: r.id.replace(/[.-](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()),
              shortDescription: { text: r.explanation },
              fullDescription: { text: `${r.explanation} (${r.scope} check)` },
              help: { text: r.fix },
              defaultConfiguration: { level: "error" },
              properties: { scope: r.scope },
            })),
          },
        },
        invocations: [
          {
            executionSuccessful: true,
            properties: { scope: report.scope, owner: report.owner, checked: report.checked, durationMs: report.durationMs },
          },
        ],
        results: report.violations.map((v) => {
          const { rule, userId, message, ...details } = v;
          return {
            ruleId: rule,
            ...(ruleIndex.has(rule) ? { ruleIndex: ruleIndex.get(rule) } : {}),
            level: "error",
            message: { text: message },
            locations: [{ logicalLocations: logicalLocations(v) }],
            partialFingerprints: { "sselfieFinding/v1": [rule, userId, v.generationId ?? v.trainingId ?? v.modelId ?? ""].join("|") },
            properties: { userId, ...details },
          };
        }),
        properties: { ok: report.ok, counts: report.counts, truncated: report.truncated, unverified: report.unverified },
      },
    ],
  };
}
