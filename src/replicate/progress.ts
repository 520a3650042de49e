/**
 * Training progress from the trainer's logs. The client's parseProgressFromLogs wants the bar at
 * the start of a line, but ostris/flux-dev-lora-trainer prefixes its bar with
 * `flux_train_replicate:`, and other bars (captioning, loading shards) share the same logs.
 */
export const TRAINING_PROGRESS_PREFIX = "flux_train_replicate:";

export interface TrainingProgress {
  step: number;
  total: number;
  /** 0..100, one decimal. */
  percent: number;
  /** tqdm's remaining-time estimate, when it has one. */
  etaSeconds?: number;
}

// `  10%|█         | 100/1000 [01:23<11:07,  1.35it/s, ...]`; requiring the `[` skips a line cut
// off in the middle of its numbers.
const BAR = /\|\s*(\d+)\/(\d+)\s*\[\s*([0-9:]+|\?)\s*<\s*([0-9:]+|\?)/;

export function parseTrainingProgress(logs: string | null | undefined): TrainingProgress | null {
  if (!logs) return null;
  // tqdm redraws a bar with \r inside one line; every redraw counts as its own line.
  const lines = logs.split(/\r\n|\n|\r/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trimStart();
    if (!line.startsWith(TRAINING_PROGRESS_PREFIX)) continue;
    const m = BAR.exec(line.slice(TRAINING_PROGRESS_PREFIX.length));
    if (!m) continue;
    const step = Number(m[1]);
    const total = Number(m[2]);
    if (total <= 0 || step > total) continue;
    const progress: TrainingProgress = { step, total, percent: Math.round((step / total) * 1000) / 10 };
    const eta = parseClock(m[4]!);
    if (eta !== undefined) progress.etaSeconds = eta;
    return progress;
  }
  return null;
}

/** `ss`, `mm:ss` or `h:mm:ss` to seconds; tqdm prints `?` when it cannot tell yet. */
function parseClock(text: string): number | undefined {
  if (text === "?") return undefined;
  const parts = text.split(":").map(Number);
  if (parts.length > 3 || parts.some((n) => !Number.isFinite(n))) return undefined;
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}
