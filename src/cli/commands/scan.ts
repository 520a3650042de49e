import { SCAN_RULES, USE_THE_SDK, toScanSarif, type ScanReport } from "../../index.js";
import type { CliCommand } from "../command.js";
import type { Output } from "../output.js";
import { count } from "../plural.js";
import { parseReportFormat, type ReportFormat } from "../report-format.js";

declare const __SSELFIE_VERSION__: string;

export interface ScanCliOptions {
  paths: string[];
  format: ReportFormat;
}

function renderText(report: ScanReport, out: Output): string {
  const lines = report.findings.map((f) => `${f.file}:${f.line}:${f.column} ${out.bold(f.rule)} ${f.message}`);
  for (const e of report.parseErrors) lines.push(out.yellow(`${e.file}:${e.line}:${e.column} could not be parsed completely: ${e.message}`));
  const scanned = `${count(report.scanned, "file")} scanned, ${report.parsed.toLocaleString("en-US")} parsed`;
  if (report.ok) {
    lines.push(`${out.green("✓")} No Replicate calls around sselfie (${scanned}).`);
    return lines.join("\n");
  }
  const files = new Set(report.findings.map((f) => f.file)).size;
  lines.push("", `${out.red("✗")} ${count(report.findings.length, "finding")} in ${count(files, "file")} (${scanned}).`);
  const found = new Set(report.findings.map((f) => f.rule));
  for (const rule of SCAN_RULES) if (found.has(rule.id)) lines.push(`  ${out.bold(rule.id)}: ${rule.fix}`);
  lines.push(out.dim(USE_THE_SDK));
  return lines.join("\n");
}

export const scanCommand: CliCommand<ScanCliOptions> = {
  scope: null,
  database: false,
  abortable: true,
  action: "scan",
  parse(o, args) {
    return { paths: args.length > 0 ? args : ["."], format: parseReportFormat(o.format) };
  },
  async run({ sselfie, out, signal }, o) {
    const showProgress = o.format === "text" && out.interactive;
    const progress = showProgress ? await out.progress("Scanning…") : { update() {}, stop() {} };
    let report: ScanReport;
    try {
      report = await sselfie.scan(
        { paths: o.paths },
        { signal, onProgress: (p) => progress.update(`Scanning: ${count(p.files, "file")}, ${p.done.toLocaleString("en-US")} checked…`) },
      );
    } finally {
      progress.stop();
    }
    const version = typeof __SSELFIE_VERSION__ === "string" ? __SSELFIE_VERSION__ : undefined;
    const { durationMs: _ms, parsed: _p, parseErrors, ...contract } = report;
    const payload =
      o.format === "sarif" ? toScanSarif(report, version ? { toolVersion: version } : {}) : { ...contract, parseErrors };
    return {
      payload,
      exitCode: report.ok ? 0 : 1,
      text: () => (o.format === "text" ? renderText(report, out) : JSON.stringify(payload, null, o.format === "sarif" ? 2 : undefined)),
    };
  },
};
