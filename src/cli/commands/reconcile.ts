import type { ReconcileReport } from "../../index.js";
import type { CliCommand } from "../command.js";
import type { Output } from "../output.js";
import { count } from "../plural.js";

/** The contract's reconcile document: exactly these fields. */
export function reconcilePayload(r: ReconcileReport) {
  return { trainings: r.trainings, generations: r.generations, errors: r.errors };
}

export function describeReconcile(r: ReconcileReport, out: Output): string {
  const lines = [
    `Trainings:   ${r.trainings.checked} checked, ${r.trainings.changed} changed`,
    `Generations: ${r.generations.checked} checked, ${r.generations.changed} changed`,
  ];
  if (r.errors.length === 0) lines.push(`${out.green("✓")} Nothing else is left unfinished that can be finished now.`);
  else {
    lines.push(`${out.red("✗")} ${count(r.errors.length, "item")} could not be finished (the next run tries again):`);
    for (const e of r.errors) lines.push(`  ${e.kind} #${e.id} (user ${e.userId}) [${e.code}] ${e.message}`);
  }
  return lines.join("\n");
}

export const reconcileCommand: CliCommand<Record<string, never>> = {
  scope: "train",
  action: "reconcile",
  parse: () => ({}),
  // SIGTERM/SIGINT: the items in progress finish, the ones claimed but not begun are released at
  // once for the next run, then the process exits 143/130.
  abortable: true,
  async run({ sselfie, principal, out, signal }) {
    const progress = out.interactive ? await out.progress("Reconciling unfinished work…") : null;
    try {
      const report = await sselfie.reconcile(
        {},
        {
          actor: principal?.name ?? null,
          signal,
          onProgress: (p) =>
            progress?.update(`Reconciling… ${count(p.trainings.checked, "training")}, ${count(p.generations.checked, "generation")} checked`),
        },
      );
      if (signal.aborted) throw signal.reason;
      // Items that failed are listed; the run itself succeeded (exit 0), so cron keeps calm.
      return { payload: reconcilePayload(report), text: () => describeReconcile(report, out) };
    } finally {
      progress?.stop();
    }
  },
};
