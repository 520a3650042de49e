/**
 * The standalone emulator's flags (`npm run emulator -- --help`), parsed into startEmulator's
 * options plus what is set on the running emulator: how trainings end, images withheld, faults.
 * Pure, so the parsing is tested without a server.
 */
import { parseArgs } from "node:util";
import type { EmulatorOptions, Fault, TrainingOutcome } from "./types.js";

export const TRAINING_OUTCOMES: readonly TrainingOutcome[] = ["succeeded", "failed", "canceled", "aborted", "running"];

/** Named targets for --fail-next; any other target is "METHOD /path" (`*` for one path segment). */
export const FAULT_TARGETS: Readonly<Record<string, { method: string; path: string }>> = {
  "account": { method: "GET", path: "/account" },
  "model-create": { method: "POST", path: "/models" },
  "model-get": { method: "GET", path: "/models/*/*" },
  "upload": { method: "POST", path: "/files" },
  "training-create": { method: "POST", path: "/models/*/*/versions/*/trainings" },
  "training-get": { method: "GET", path: "/trainings/*" },
  "training-cancel": { method: "POST", path: "/trainings/*/cancel" },
  "prediction-create": { method: "POST", path: "/predictions" },
  "prediction-get": { method: "GET", path: "/predictions/*" },
};

export const USAGE = `Usage: npm run emulator -- [options]

A Replicate API on 127.0.0.1 for trying sselfie offline. It prints REPLICATE_BASE_URL and
REPLICATE_API_TOKEN to export, then serves until Ctrl+C.

Options:
  --port N                    port to listen on (default 0: a free one)
  --token TOKEN               the API token it accepts (default test-token-alice)
  --owner USERNAME            the token's account, owner of the models (default alice)
  --training-seconds N        how long a training processes, after 0.2 s starting (default 0.8)
  --training-outcome OUTCOME  how every training ends: succeeded (default), failed, canceled,
                              aborted (never starts), or running (processes until canceled,
                              its progress holding at 99% after --training-seconds)
  --training-error TEXT       the error of a failed training (default: Replicate's out-of-memory one)
  --prediction-seconds N      how long a prediction (generate) runs (default 0.1)
  --withhold-images N         the safety checker drops N images of each prediction (3: it fails)
  --fail-next TARGET=FAULT[xN]
                              the next N (default 1) requests to TARGET get FAULT; repeatable.
                              TARGET: ${Object.keys(FAULT_TARGETS).join(", ")},
                              or "METHOD /path" (* for one segment, e.g. "GET /trainings/*").
                              FAULT: an HTTP status (400-599), rate-limit (429 with the recorded
                              body), drop (connection closed, nothing done), or crash-after-create
                              (the work is done, then the connection is closed)
  -h, --help                  this help

Examples:
  npm run emulator -- --port 8787
  npm run emulator -- --training-seconds 60 --training-outcome running    # try cancel and the progress bar
  npm run emulator -- --training-outcome failed --training-error "CUDA out of memory"
  npm run emulator -- --prediction-seconds 20                             # time to Ctrl-C a generate
  npm run emulator -- --fail-next prediction-create=503x2 --fail-next training-get=rate-limit
`;

export interface EmulatorCommandLine {
  help: boolean;
  options: EmulatorOptions;
  trainingOutcome: { status: TrainingOutcome; error?: string };
  withholdImages: number;
  faults: Fault[];
}

export class UsageError extends Error {}

function seconds(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 86_400) {
    throw new UsageError(`${flag} must be a number of seconds from 0 to 86400, got ${JSON.stringify(value)}`);
  }
  return Math.round(n * 1000);
}

export function parseFaultSpec(spec: string): Fault {
  const m = /^(.+?)=([a-z0-9-]+?)(?:x(\d+))?$/i.exec(spec.trim());
  if (!m) throw new UsageError(`--fail-next must be TARGET=FAULT[xN] (e.g. prediction-create=503x2), got ${JSON.stringify(spec)}`);
  const [, rawTarget, what, times] = m as unknown as [string, string, string, string | undefined];
  const target = rawTarget.trim();
  let method: string;
  let path: string;
  const named = FAULT_TARGETS[target];
  if (named) ({ method, path } = named);
  else {
    const parts = /^([A-Za-z]+)\s+(\/\S*)$/.exec(target);
    if (!parts) {
      throw new UsageError(`--fail-next target must be one of ${Object.keys(FAULT_TARGETS).join(", ")} or "METHOD /path", got ${JSON.stringify(target)}`);
    }
    method = parts[1]!.toUpperCase();
    path = parts[2]!;
  }
  const count = times === undefined ? 1 : Number(times);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--fail-next count must be 1 or more, got ${times}`);
  const base = { method, path, times: count };
  if (/^\d+$/.test(what)) {
    const status = Number(what);
    if (status < 400 || status > 599) throw new UsageError(`--fail-next status must be 400-599, got ${what}`);
    return { ...base, kind: "status", status };
  }
  if (what === "rate-limit" || what === "drop" || what === "crash-after-create") return { ...base, kind: what };
  throw new UsageError(`--fail-next fault must be an HTTP status, rate-limit, drop or crash-after-create, got ${JSON.stringify(what)}`);
}

export function parseEmulatorCommandLine(args: string[]): EmulatorCommandLine {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        "port": { type: "string", default: "0" },
        "token": { type: "string", default: "test-token-alice" },
        "owner": { type: "string", default: "alice" },
        "training-seconds": { type: "string" },
        "training-outcome": { type: "string", default: "succeeded" },
        "training-error": { type: "string" },
        "prediction-seconds": { type: "string" },
        "withhold-images": { type: "string", default: "0" },
        "fail-next": { type: "string", multiple: true, default: [] },
        "help": { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be 0..65535, got ${values.port}`);
  const outcome = values["training-outcome"] as TrainingOutcome;
  if (!TRAINING_OUTCOMES.includes(outcome)) {
    throw new UsageError(`--training-outcome must be one of ${TRAINING_OUTCOMES.join(", ")}, got ${JSON.stringify(values["training-outcome"])}`);
  }
  if (values["training-error"] !== undefined && outcome !== "failed") {
    throw new UsageError("--training-error needs --training-outcome failed");
  }
  const withhold = Number(values["withhold-images"]);
  if (!/^\d+$/.test(values["withhold-images"]) || withhold > 4) {
    throw new UsageError(`--withhold-images must be 0..4, got ${values["withhold-images"]}`);
  }
  return {
    help: values.help,
    options: {
      port,
      accounts: [{ token: values.token, username: values.owner }],
      training: { processingMs: seconds("--training-seconds", values["training-seconds"], 800) },
      prediction: { durationMs: seconds("--prediction-seconds", values["prediction-seconds"], 100) },
    },
    trainingOutcome: { status: outcome, ...(values["training-error"] !== undefined ? { error: values["training-error"] } : {}) },
    withholdImages: withhold,
    faults: values["fail-next"].map(parseFaultSpec),
  };
}

/** One line per behaviour that differs from the defaults, printed at start. */
export function describeBehaviour(cli: EmulatorCommandLine): string[] {
  const lines: string[] = [];
  const trainingMs = cli.options.training?.processingMs ?? 800;
  const outcome = cli.trainingOutcome.status;
  lines.push(
    outcome === "running"
      ? `  trainings: run until canceled (progress reaches 99% after ${trainingMs / 1000} s)`
      : `  trainings: ${outcome === "aborted" ? "aborted after 0.2 s" : `${outcome} after ${(200 + trainingMs) / 1000} s`}` +
          (cli.trainingOutcome.error ? ` (error: ${cli.trainingOutcome.error})` : ""),
  );
  lines.push(`  predictions: ${(cli.options.prediction?.durationMs ?? 100) / 1000} s` + (cli.withholdImages ? `, ${cli.withholdImages} image(s) of each withheld as NSFW` : ""));
  for (const f of cli.faults) {
    const what = f.kind === "status" ? `HTTP ${f.status}` : f.kind;
    lines.push(`  next ${f.times === 1 ? "request" : `${f.times} requests`} to ${f.method} ${f.path as string}: ${what}`);
  }
  return lines;
}
