/** Everything the emulator knows, shared by the handlers; tests read and plant it through Emulator. */
import { randomBytes } from "node:crypto";
import type { Clock } from "./clock.js";
import type {
  EmulatedFile,
  EmulatedModel,
  EmulatedPrediction,
  EmulatedTraining,
  EmulatorAccount,
  EmulatorOptions,
  Fault,
  RecordedRequest,
  TrainingOutcome,
  WebhookDelivery,
} from "./types.js";

export interface ResolvedOptions {
  startingMs: number;
  processingMs: number;
  steps: number | undefined;
  predictionMs: number;
  predictionsPerMinute: number;
  predictionReadsPerMinute: number;
  otherPerMinute: number;
  retryAfterHeader: boolean;
  outputTtlMs: number;
  maxModelsPerAccount: number;
  versionDeleteMs: number;
  maxFileBytes: number;
  webhookRetryDelaysMs: number[];
}

export interface Account extends Required<Pick<EmulatorAccount, "token" | "username" | "type">> {
  name: string;
  webhookSecret: string;
  /** Undefined: the emulator's maxModelsPerAccount. */
  maxModels: number | undefined;
}

export interface State {
  options: ResolvedOptions;
  clock: Clock;
  /** "http://127.0.0.1:PORT", known once listening. */
  origin: string;
  accountsByToken: Map<string, Account>;
  accountsByName: Map<string, Account>;
  models: Map<string, EmulatedModel>;
  trainings: Map<string, EmulatedTraining>;
  predictions: Map<string, EmulatedPrediction>;
  files: Map<string, EmulatedFile>;
  /** Insertion order of listed objects, for stable cursors. */
  seq: WeakMap<object, number>;
  nextSeq: number;
  trainingPlan: { status: TrainingOutcome; error?: string; outputVersionOf?: string };
  withhold: number;
  faults: { fault: Fault; remaining: number }[];
  requests: RecordedRequest[];
  deliveries: WebhookDelivery[];
  closed: boolean;
  /** Aborted by close(): ends waits, streams and webhook deliveries. */
  shutdown: AbortController;
}

export const DEFAULT_ACCOUNT: EmulatorAccount = { token: "test-token-alice", username: "alice" };

export function createState(opts: EmulatorOptions, clock: Clock): State {
  const accounts = (opts.accounts?.length ? opts.accounts : [DEFAULT_ACCOUNT]).map(
    (a): Account => ({
      token: a.token,
      username: a.username,
      type: a.type ?? "user",
      name: a.name ?? a.username,
      webhookSecret: a.webhookSecret ?? opts.webhookSecret ?? `whsec_${randomBytes(24).toString("base64")}`,
      maxModels: a.maxModels,
    }),
  );
  return {
    options: {
      startingMs: opts.training?.startingMs ?? 200,
      processingMs: opts.training?.processingMs ?? 800,
      steps: opts.training?.steps,
      predictionMs: opts.prediction?.durationMs ?? 100,
      predictionsPerMinute: opts.rateLimit?.predictionsPerMinute ?? 600,
      predictionReadsPerMinute: opts.rateLimit?.predictionReadsPerMinute ?? 60_000,
      otherPerMinute: opts.rateLimit?.otherPerMinute ?? 3000,
      retryAfterHeader: opts.rateLimit?.retryAfterHeader ?? false,
      outputTtlMs: opts.outputTtlMs ?? 3_600_000,
      maxModelsPerAccount: opts.maxModelsPerAccount ?? 1000,
      versionDeleteMs: opts.versionDeleteMs ?? 300,
      maxFileBytes: opts.maxFileBytes ?? 100 * 1024 * 1024,
      webhookRetryDelaysMs: opts.webhookRetryDelaysMs ?? [100, 400, 1600],
    },
    clock,
    origin: "",
    accountsByToken: new Map(accounts.map((a) => [a.token, a])),
    accountsByName: new Map(accounts.map((a) => [a.username, a])),
    models: new Map(),
    trainings: new Map(),
    predictions: new Map(),
    files: new Map(),
    seq: new WeakMap(),
    nextSeq: 1,
    trainingPlan: { status: "succeeded" },
    withhold: 0,
    faults: [],
    requests: [],
    deliveries: [],
    closed: false,
    shutdown: new AbortController(),
  };
}

export function assignSeq(state: State, obj: object): void {
  state.seq.set(obj, state.nextSeq++);
}

export function apiUrl(state: State, path: string): string {
  return `${state.origin}/v1${path}`;
}
