/** The scan report as SARIF 2.1.0 for GitHub code scanning: each finding at its file, line and column. */
import { sarifLog, uriForPath } from "../sarif.js";
import { SCAN_RULES } from "./rules.js";
import type { ScanReport } from "./types.js";

export interface ScanSarifOptions {
  /** sselfie's version, shown as the tool's version. */
  toolVersion?: string;
}

export function toScanSarif(report: ScanReport, opts: ScanSarifOptions = {}): Record<string, unknown> {
  return sarifLog({
    tool: "sselfie scan",
    toolVersion: opts.toolVersion,
    rules: SCAN_RULES.map((r) => ({ id: r.id, shortDescription: r.description, fullDescription: r.description, help: r.help })),
    results: report.findings.map((f) => ({
      ruleId: f.rule,
      message: f.message,
      uri: uriForPath(f.file),
      line: f.line,
      column: f.column,
      partialFingerprints: { "sselfieFinding/v1": [f.rule, f.file, f.message].join("|") },
    })),
    invocationProperties: { scanned: report.scanned, parsed: report.parsed, parseErrors: report.parseErrors, durationMs: report.durationMs },
    runProperties: { ok: report.ok },
  });
}
