import { AUDIT_RULES, InvalidInputError, toSarif, validateUserId, type AuditProgress, type AuditReport } from "../../index.js";
import type { CliCommand } from "../command.js";
import type { Output } from "../output.js";
import { count } from "../plural.js";
import { parseReportFormat, type ReportFormat } from "../report-format.js";

declare const __SSELFIE_VERSION__: string;

export type AuditFormat = ReportFormat;

export interface AuditCliOptions {
  userId: string | undefined;
  remote: boolean;
  format: AuditFormat;
}

const number = (n: number) => n.toLocaleString("en-US");

function describeProgress(p: AuditProgress): string {
  return p.phase === "database" ? "Checking the database…" : `Checking models at Replicate: ${number(p.done)} of ${number(p.total)}…`;
}

/** Every 5% of the models (a log in CI gets 20 lines, not one per model). */
function worthShowing(p: AuditProgress): boolean {
  if (p.phase === "database" || p.done === p.total) return true;
  const step = Math.max(1, Math.floor(p.total / 20));
  return p.done % step === 0;
}

function renderText(report: AuditReport, out: Output): string {
  const c = report.checked;
  const what =
    `${report.scope.userId ? `user ${report.scope.userId}` : count(c.users, "user")} ` +
    `(${count(c.models, "model")}, ${count(c.trainings, "training")}, ${count(c.generations, "generation")}` +
    `${c.remoteModels === undefined ? "" : `; ${count(c.remoteModels, "model")} checked at Replicate`})`;
  const lines: string[] = [];
  if (report.ok) {
    lines.push(`${out.green("✓")} Compliant: ${what}.`);
  } else {
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    lines.push(`${out.red("✗")} ${count(total, "violation")} in ${what}.`);
    for (const rule of AUDIT_RULES) {
      const n = report.counts[rule.id];
      if (!n) continue;
      const listed = report.violations.filter((v) => v.rule === rule.id);
      lines.push("", `${out.bold(rule.id)} ${out.dim(`(${number(n)})`)} ${rule.explanation}`);
      for (const v of listed) lines.push(`  ${out.red("•")} user ${v.userId}: ${v.message}`);
      if (listed.length < n) lines.push(`  … and ${number(n - listed.length)} more (use --format json for counts, or --user to narrow).`);
      lines.push(`  ${out.dim(`fix: ${rule.fix}`)}`);
    }
  }
  if (report.owner.source === "inferred") {
    lines.push(
      "",
      out.yellow(
        report.owner.name
          ? `Model ids were checked against owner "${report.owner.name}", the owner of most models in the data, because ${report.owner.reason}. Set REPLICATE_OWNER to check against the real owner.`
          : `No owner could be determined (${report.owner.reason}); set REPLICATE_OWNER.`,
      ),
    );
  }
  return lines.join("\n");
}

export const auditCommand: CliCommand<AuditCliOptions> = {
  scope: "read",
  action: "audit",
  parse(o) {
    if (o.user !== undefined && o.all) {
      throw new InvalidInputError("Use either --user <id> or --all, not both.");
    }
    const format = parseReportFormat(o.format);
    return { userId: o.user === undefined ? undefined : validateUserId(o.user), remote: o.remote === true, format };
  },
  userId: (o) => o.userId,
  async run({ sselfie, out }, o) {
    const progress = o.format === "text" ? await out.progress("Checking the database…") : { update() {}, stop() {} };
    let report: AuditReport;
    try {
      report = await sselfie.audit.run(
        { ...(o.userId === undefined ? {} : { userId: o.userId }), remote: o.remote },
        { onProgress: (p) => worthShowing(p) && progress.update(describeProgress(p)) },
      );
    } finally {
      progress.stop();
    }
    const version = typeof __SSELFIE_VERSION__ === "string" ? __SSELFIE_VERSION__ : undefined;
    const payload = o.format === "sarif" ? toSarif(report, version ? { toolVersion: version } : {}) : report;
    return {
      payload,
      exitCode: report.ok ? 0 : 1,
      text: () => (o.format === "text" ? renderText(report, out) : JSON.stringify(payload, null, o.format === "sarif" ? 2 : undefined)),
    };
  },
};
