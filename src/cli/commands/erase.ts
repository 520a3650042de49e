import { validateUserId, type EraseProgress, type EraseUserResult } from "../../index.js";
import type { CliCommand } from "../command.js";
import { EXIT } from "../exit-codes.js";
import type { Output } from "../output.js";
import { count } from "../plural.js";

/** The contract's erase document: exactly these fields. */
export function erasePayload(r: EraseUserResult) {
  return { userId: r.userId, status: r.status, deleted: r.deleted, remaining: r.remaining };
}

function progressText(p: EraseProgress): string {
  switch (p.phase) {
    case "marked":
      return p.resumed ? "Resuming the erasure…" : "Marked for erasure; new work for the user is refused…";
    case "training-canceled":
      return "Canceled the running training…";
    case "versions":
      return `Waiting for Replicate to delete the versions: ${p.listed} still listed…`;
    case "model":
      return "Deleted the model…";
    case "files":
      return `Deleted ${count(p.deleted, "training upload")}…`;
    case "local-files":
      return `Deleted ${count(p.deleted, "local output file")}…`;
    case "rows":
      return `Deleted ${count(p.deleted, "row")}…`;
  }
}

export function describeErase(r: EraseUserResult, out: Output): string {
  const d = r.deleted;
  const lines = [
    r.status === "erased"
      ? `${out.green("✓")} User ${r.userId} is erased.`
      : `${out.red("…")} User ${r.userId} is not erased yet: Replicate is still deleting. Run \`sselfie erase --user ${r.userId} --yes\` again.`,
    `Deleted: ${count(d.versions, "version")}, ${d.model ? "the model" : "no model"}, ${count(d.files, "upload")}, ${count(d.localFiles, "local file")}, ${count(d.rows, "row")}.`,
  ];
  if (r.remaining.length > 0) {
    lines.push("Remaining (sselfie cannot remove these):");
    for (const x of r.remaining) lines.push(`  ${x.kind} ${x.id}: ${x.why}`);
  }
  return lines.join("\n");
}

export const eraseCommand: CliCommand<{ userId: string }> = {
  scope: "admin",
  action: "erase",
  parse: (o) => ({ userId: validateUserId(o.user) }),
  userId: (o) => o.userId,
  confirmation: (o) =>
    `Erase user ${o.userId}: their model and versions at Replicate, uploads, local output files and every row? This cannot be undone.`,
  abortable: true,
  async run({ sselfie, principal, out, signal }, o) {
    const progress = out.interactive ? await out.progress(`Erasing user ${o.userId}…`) : null;
    try {
      const result = await sselfie.users.erase(
        { userId: o.userId },
        { actor: principal?.name ?? null, signal, onProgress: (p) => progress?.update(progressText(p)) },
      );
      return {
        payload: erasePayload(result),
        text: () => describeErase(result, out),
        ...(result.status === "in_progress" ? { exitCode: EXIT.STATE } : {}),
      };
    } finally {
      progress?.stop();
    }
  },
};
