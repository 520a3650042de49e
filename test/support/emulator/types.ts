/** The emulator's public types: what tests may call and read (README.md describes the behaviour). */

export interface EmulatorAccount {
  token: string;
  username: string;
  type?: "user" | "organization";
  name?: string;
  /** Models this account may own (default: the emulator's `maxModelsPerAccount`). */
  maxModels?: number;
  /** This account's `whsec_...` (default: the emulator's `webhookSecret`, else a random one). */
  webhookSecret?: string;
}

export interface EmulatorOptions {
  /** Default 0 (random). The server binds 127.0.0.1 only. */
  port?: number;
  /** Default [{ token: "test-token-alice", username: "alice" }]. */
  accounts?: EmulatorAccount[];
  training?: {
    /** Default 200: status "starting" until then (ms after create). */
    startingMs?: number;
    /** Default 800: then "processing" for this long; the tqdm bar advances in `logs`. */
    processingMs?: number;
    /** Default input.steps ?? 1000. */
    steps?: number;
  };
  prediction?: { durationMs?: number };
  rateLimit?: {
    /** Prediction creations. Default 600. */
    predictionsPerMinute?: number;
    /** GET /predictions/{id}, a bucket of its own in the recordings. Default 60 000. */
    predictionReadsPerMinute?: number;
    /** Everything else but files. Default 3000. */
    otherPerMinute?: number;
    /** Send `Retry-After` on 429 (unconfirmed for the real server, so off by default). */
    retryAfterHeader?: boolean;
  };
  /** Default 3_600_000 after a prediction completes: data_removed, output URLs 404. */
  outputTtlMs?: number;
  maxModelsPerAccount?: number;
  /** Default 300: a version deleted by DELETE /models/{o}/{n}/versions/{id} is still listed this long (ms), then goes with its predictions. */
  versionDeleteMs?: number;
  /** Default 100 MiB: larger uploads get 413. */
  maxFileBytes?: number;
  /** Default: a random `whsec_...` per account. */
  webhookSecret?: string;
  /** Delays between webhook delivery attempts after a failure; default [100, 400, 1600]. */
  webhookRetryDelaysMs?: number[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names; `authorization` is replaced by "[redacted]". */
  headers: Record<string, string>;
  /** Parsed JSON, or for multipart {fields, files:[{name, filename, size, sha256}]}, else undefined. */
  body: unknown;
  /** The status sent, or that would have been sent (0 when a `drop` fault answered nothing). */
  status: number;
  /** Emulator clock (ms since epoch) when the request arrived. */
  at: number;
  account?: string;
  /** True when the socket was destroyed instead of answering (drop, crash-after-create). */
  dropped?: boolean;
}

export interface EmulatedVersion {
  id: string;
  created_at: string;
  cog_version: string;
  /** Set by DELETE: when (emulator clock, ms) the version and its predictions disappear. */
  deleteAt?: number;
  openapi_schema: OpenApiSchema;
}

export interface OpenApiSchema {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema> & { Input: JsonSchema } };
}

export type JsonSchema = Record<string, unknown>;

export interface EmulatedModel {
  owner: string;
  name: string;
  description: string | null;
  visibility: "public" | "private";
  hardware: string;
  created_at: string;
  run_count: number;
  versions: Map<string, EmulatedVersion>;
  /** The most recently created version still present, or null. */
  latest_version: EmulatedVersion | null;
}

export type JobStatus = "starting" | "processing" | "succeeded" | "failed" | "canceled" | "aborted";
export type TerminalStatus = "succeeded" | "failed" | "canceled" | "aborted";
/** How a new training ends: a terminal status, or `running`: processing until it is canceled. */
export type TrainingOutcome = TerminalStatus | "running";
export type WebhookEvent = "start" | "output" | "logs" | "completed";

interface JobBase {
  id: string;
  account: string;
  /** "owner/name" of the model that ran. */
  model: string;
  version: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
  /** Emulator clock times, ms since epoch. */
  createdAt: number;
  startAt: number;
  endAt: number;
  status: JobStatus;
  startedAt: number | null;
  completedAt: number | null;
  error: string | null;
}

export interface EmulatedTraining extends JobBase {
  kind: "training";
  /** Recorded for assertions only: the HTTP training object never carries it. */
  destination: string;
  steps: number;
  planned: { status: TrainingOutcome; error?: string; outputVersionOf?: string };
  output: { version: string; weights: string } | null;
  /** The version the success created (also in the destination model's versions). */
  createdVersionId: string | null;
}

export interface EmulatedOutputImage {
  index: number;
  seed: number;
  url: string;
}

export interface EmulatedPrediction extends JobBase {
  kind: "prediction";
  seed: number;
  numOutputs: number;
  withheld: number;
  /** The error the prediction will fail with when its time comes (null: it succeeds). */
  plannedError: string | null;
  outputFormat: string;
  /** Known from creation; exposed as `output` once succeeded. */
  images: EmulatedOutputImage[];
  output: string[] | null;
  dataRemoved: boolean;
  /** The full version ref the prediction ran ("owner/name:id"). */
  versionRef: string;
}

export interface EmulatedFile {
  id: string;
  name: string;
  contentType: string;
  bytes: Buffer;
  sha256: string;
  md5: string;
  metadata: Record<string, unknown>;
  account: string;
  createdAt: number;
}

export interface WebhookDelivery {
  url: string;
  event: WebhookEvent;
  jobId: string;
  webhookId: string;
  timestamp: number;
  body: string;
  attempt: number;
  /** HTTP status, or 0 when the connection failed (or the delivery was dropped). */
  status: number;
  /** Set when a webhook rule (`interceptWebhooks`) shaped this attempt. */
  rule?: WebhookRule["action"];
}

/**
 * What happens to later webhook deliveries that match `event` and `jobId` (both optional), for
 * `times` deliveries (default 1; Infinity for all), rules consumed in the order added:
 * - `drop`: never sent (recorded with status 0), as when a receiver was down past every retry;
 * - `late`: sent after `delayMs` (real time); with `keepTimestamp` signed with the time it was
 *   due, so a receiver sees a delivery as old as that (a stale one past its replay window);
 * - `repeat`: after a successful delivery, sent `count` more times (default 1) with the same
 *   `webhook-id`, as Replicate retries when a receiver's answer was lost.
 */
export type WebhookRule = { event?: WebhookEvent; jobId?: string; times?: number } & (
  | { action: "drop" }
  | { action: "late"; delayMs: number; keepTimestamp?: boolean }
  | { action: "repeat"; count?: number }
);

interface FaultBase {
  method?: string;
  path: string | RegExp;
  times?: number;
}
export type Fault =
  | (FaultBase & { kind: "status"; status: number; body?: unknown; headers?: Record<string, string> })
  | (FaultBase & { kind: "rate-limit"; retryAfterSeconds?: number; resetSeconds?: number })
  | (FaultBase & { kind: "delay"; ms: number })
  /** Reads the request body at this rate, as a slow uplink would deliver it; then answers normally. */
  | (FaultBase & { kind: "slow-read"; bytesPerSecond: number })
  | (FaultBase & { kind: "drop" })
  | (FaultBase & { kind: "crash-after-create" });

export interface Emulator {
  url: string;
  origin: string;
  token: string;
  owner: string;
  /** The first account's secret; `webhookSecretOf` gives any account's. */
  webhookSecret: string;
  webhookSecretOf(username: string): string;
  requests: RecordedRequest[];
  clearRequests(): void;
  requestsTo(method: string, pathPattern: string | RegExp): RecordedRequest[];
  /** Every webhook delivery attempt, in order. */
  webhookDeliveries: WebhookDelivery[];
  /** Resolves when every queued webhook delivery (with retries) has finished. */
  waitForWebhooks(): Promise<void>;
  /** Drops, delays or repeats later webhook deliveries (see WebhookRule). */
  interceptWebhooks(rule: WebhookRule): void;
  clearWebhookRules(): void;
  now(): number;
  advance(ms: number): void;
  models: Map<string, EmulatedModel>;
  trainings: Map<string, EmulatedTraining>;
  predictions: Map<string, EmulatedPrediction>;
  files: Map<string, EmulatedFile>;
  fileBytesFromUrl(url: string): Buffer | undefined;
  /** How trainings created from now on end (`running`: they never end unless canceled). */
  setTrainingOutcome(
    next: TrainingOutcome,
    opts?: { error?: string; outputVersionOf?: string },
  ): void;
  finishTraining(id: string, outcome: TerminalStatus): void;
  withholdImages(count: number): void;
  setVersionSchema(modelId: string, versionId: string, inputSchema: object): void;
  /** A new latest version: the trained-model schema (or `inputSchema` in it), or a whole `openapiSchema`; `id` to choose it. */
  createVersion(modelId: string, opts?: { inputSchema?: object; openapiSchema?: object; id?: string }): string;
  deleteVersion(modelId: string, versionId: string): void;
  createModel(
    modelId: string,
    opts?: { visibility?: "public" | "private"; hardware?: string; description?: string },
  ): EmulatedModel;
  inject(fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}
