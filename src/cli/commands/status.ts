import { validateUserId, type Sselfie, type TrainingStatusResult } from "../../index.js";
import type { CliCommand } from "../command.js";
import { bar, type Output } from "../output.js";

export interface StatusCliOptions {
  userId: string;
  watch: boolean;
}

/** The contract's status document (CONTRACT.md), exactly these fields. */
export function statusPayload(s: TrainingStatusResult) {
  return {
    userId: s.userId,
    status: s.status,
    modelId: s.modelId,
    versionId: s.versionId,
    trainingId: s.trainingId,
    progress: s.progress,
    error: s.error,
  };
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** One line for a live bar: `Training user 42 [#####...] 50% 500/1000 · about 2m 10s left`. */
export function progressLine(s: TrainingStatusResult): string {
  if (s.status === "pending") return `Starting user ${s.userId}'s training…`;
  if (s.status === "training" && s.progress) {
    const eta = s.etaSeconds === null ? "" : ` · about ${formatDuration(s.etaSeconds)} left`;
    return `Training user ${s.userId} ${bar(s.progress.step, s.progress.total)}${eta}`;
  }
  if (s.status === "training") return `Training user ${s.userId}: ${s.replicateStatus ?? "starting"} at Replicate…`;
  return `User ${s.userId}: ${s.status}`;
}

export function describeStatus(s: TrainingStatusResult, out: Output): string {
  const headline: Record<TrainingStatusResult["status"], string> = {
    none: `User ${s.userId} has never been trained. Start with \`sselfie train --user ${s.userId} --images <dir>\`.`,
    pending: `${out.yellow("…")} User ${s.userId}: training is being started.`,
    training: `${out.yellow("…")} User ${s.userId}: training${s.progress ? ` — step ${s.progress.step} of ${s.progress.total} (${s.percent ?? 0}%)` : ""}` +
      `${s.etaSeconds !== null ? `, about ${formatDuration(s.etaSeconds)} left` : ""}.`,
    completed: `${out.green("✓")} User ${s.userId}: training completed; the model is ready for generation.`,
    failed: `${out.red("✗")} User ${s.userId}: the latest training failed.`,
    canceled: `${out.red("✗")} User ${s.userId}: the latest training was canceled.`,
  };
  if (s.status === "none") return headline.none;
  const lines = [headline[s.status]];
  lines.push(`  Model:     ${s.modelId ?? "-"}`);
  lines.push(`  Version:   ${s.versionId ? `${s.versionId} (active)` : "none yet"}`);
  lines.push(`  Training:  ${s.trainingId ?? "(not created at Replicate yet)"}${s.replicateStatus ? ` [${s.replicateStatus}]` : ""}`);
  if (s.predictTime !== null && s.status !== "training" && s.status !== "pending") lines.push(`  Compute:   ${s.predictTime.toFixed(1)} s`);
  if (s.error) lines.push(`  Error:     ${out.red(s.error)}`);
  if ((s.status === "failed" || s.status === "canceled") && s.versionId) {
    lines.push(`  The previous version stays active; generation keeps using it.`);
  }
  return lines.join("\n");
}

/** Follows the training with a live bar (on a TTY), returning its final status. */
export async function followTraining(
  sselfie: Sselfie,
  actor: string | null,
  userId: string,
  out: Output,
  signal?: AbortSignal,
): Promise<TrainingStatusResult> {
  const progress = await out.progress(`Following user ${userId}'s training…`);
  try {
    return await sselfie.trainings.wait(userId, {
      actor,
      onProgress: (s) => {
        if (s.status === "pending" || s.status === "training") progress.update(progressLine(s));
      },
      ...(signal ? { signal } : {}),
    });
  } finally {
    // The final status is the command's result: a persisted last line would say it twice.
    progress.stop();
  }
}

export const statusCommand: CliCommand<StatusCliOptions> = {
  scope: "read",
  action: "status",
  parse: (o) => ({ userId: validateUserId(o.user), watch: Boolean(o.watch) }),
  userId: (o) => o.userId,
  abortable: true,
  async run({ sselfie, principal, out, signal }, o) {
    const actor = principal?.name ?? null;
    // Generations a killed `generate` left unfinished are finished here (their images saved where they were asked for).
    const generations = await sselfie.generations.finish({ userId: o.userId }, { actor, signal });
    const result = o.watch
      ? await followTraining(sselfie, actor, o.userId, out, signal)
      : await sselfie.trainings.refresh(o.userId, { actor });
    return {
      payload: { ...statusPayload(result), ...(generations.length ? { unfinishedGenerations: generations } : {}) },
      text: () => [describeStatus(result, out), ...generations.map((g) => `  ${g.message}`)].join("\n"),
    };
  },
};
