import { validateSince, validateUserId, type CostsReport } from "../../index.js";
import type { CliCommand } from "../command.js";
import { dollars } from "../dollars.js";
import type { Output } from "../output.js";

interface CostsOptions {
  userId?: string;
  since?: string;
}


export function describeCosts(r: CostsReport, out: Output): string {
  const line = (label: string, k: CostsReport["trainings"]) =>
    `${label.padEnd(12)} ${String(k.count).padStart(8)}  ${k.seconds.toFixed(1).padStart(12)} s  ${dollars(k.usd).padStart(14)}`;
  const lines = [
    out.bold(`${"".padEnd(12)} ${"COUNT".padStart(8)}  ${"GPU SECONDS".padStart(14)}  ${"USD".padStart(14)}`),
    line("Trainings", r.trainings),
    line("Generations", r.generations),
    `${"Total".padEnd(12)} ${"".padStart(8)}  ${"".padStart(14)}  ${out.bold(dollars(r.total).padStart(14))}`,
  ];
  if (r.users.length > 0) {
    lines.push("", out.bold(`${"USER".padEnd(30)} ${"USD".padStart(14)}`));
    for (const u of r.users) lines.push(`${u.userId.padEnd(30)} ${dollars(u.usd).padStart(14)}`);
  }
  return lines.join("\n");
}

export const costsCommand: CliCommand<CostsOptions> = {
  scope: "read",
  action: "costs",
  parse: (o) => {
    const userId = o.user === undefined ? undefined : validateUserId(o.user);
    const since = o.since === undefined ? undefined : String(o.since);
    if (since !== undefined) validateSince(since);
    return { ...(userId ? { userId } : {}), ...(since ? { since } : {}) };
  },
  userId: (o) => o.userId,
  async run({ sselfie, principal, out }, o) {
    const report = await sselfie.costs.report(o, { actor: principal?.name ?? null });
    return { payload: report, text: () => describeCosts(report, out) };
  },
};
