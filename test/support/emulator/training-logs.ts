/**
 * The trainer's `logs` as tqdm writes them, one redraw a line: a captioning bar, a checkpoint
 * loading bar, then `flux_train_replicate:  10%|█         | 100/1000 [01:23<11:07,  1.35it/s, lr: 4.0e-04 loss: 3.1e-01]`.
 */
const PARTIALS = " ▏▎▍▌▋▊▉";
const RATE = 1.35;

export function tqdmBar(desc: string, n: number, total: number, rate: number | undefined, postfix = ""): string {
  const pct = String(total > 0 ? Math.floor((n * 100) / total) : 0).padStart(3, " ");
  const eighths = total > 0 ? Math.floor((n * 80) / total) : 0;
  const full = Math.floor(eighths / 8);
  const partial = full < 10 && eighths % 8 ? PARTIALS[eighths % 8]! : "";
  const bar = ("█".repeat(full) + partial).padEnd(10, " ");
  const prefix = desc ? `${desc}: ` : "";
  const timing =
    rate === undefined || n === 0
      ? `[00:00<?, ?it/s${postfix ? `, ${postfix}` : ""}]`
      : `[${clock(n / rate)}<${clock((total - n) / rate)}, ${rate.toFixed(2).padStart(5, " ")}it/s${postfix ? `, ${postfix}` : ""}]`;
  return `${prefix}${pct}%|${bar}| ${n}/${total} ${timing}`;
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Python's "{:.1e}": 0.0004 -> "4.0e-04". */
export function sci(value: number): string {
  const [mantissa, exponent] = value.toExponential(1).split("e");
  const sign = exponent!.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent!.replace(/^[-+]/, "").padStart(2, "0")}`;
}

export interface TrainingLogInput {
  steps: number;
  autocaption: boolean;
  triggerWord: string;
  learningRate: number;
  imageCount: number;
}

/** The log text when `progress` (0..1) of the processing phase has elapsed. */
export function trainingLogs(input: TrainingLogInput, progress: number): string {
  const lines: string[] = [];
  const p = Math.min(1, Math.max(0, progress));
  const images = input.imageCount;
  lines.push(`Extracted ${images} files from zip to input_images/`);
  if (input.autocaption) {
    lines.push("Captioning images with llava-v1.5-13b");
    for (let i = 0; i < images; i += Math.max(1, Math.ceil(images / 4))) {
      if (p < (0.05 * i) / images) break;
      lines.push(tqdmBar("Captioning", i, images, i ? 1.3 : undefined));
    }
    if (p >= 0.05) lines.push(tqdmBar("Captioning", images, images, 1.3));
  }
  if (p < 0.06) return lines.join("\n");
  lines.push(`Using trigger word: ${input.triggerWord}`);
  lines.push(tqdmBar("Loading checkpoint shards", 0, 3, undefined));
  if (p < 0.08) return lines.join("\n");
  lines.push(tqdmBar("Loading checkpoint shards", 3, 3, 2.21));
  lines.push("Running training...");
  const steps = input.steps;
  const done = Math.floor(((p - 0.1) / 0.9) * steps);
  const every = Math.max(1, Math.floor(steps / 100));
  const lr = sci(input.learningRate);
  for (let n = 0; n <= Math.max(0, done); n += every) {
    lines.push(tqdmBar("flux_train_replicate", n, steps, n ? RATE : undefined, n ? `lr: ${lr} loss: ${sci(lossAt(n, steps))}` : ""));
  }
  if (done > 0 && done % every !== 0) {
    lines.push(tqdmBar("flux_train_replicate", done, steps, RATE, `lr: ${lr} loss: ${sci(lossAt(done, steps))}`));
  }
  if (p >= 1) lines.push("Saved to output/flux_train_replicate/lora.safetensors");
  return lines.join("\n");
}

function lossAt(n: number, steps: number): number {
  return 0.45 - 0.2 * (n / steps) + 0.03 * Math.sin(n);
}
