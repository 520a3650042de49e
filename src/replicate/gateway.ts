/**
 * sselfie's only door to Replicate: the official client for the calls, our fetch underneath for
 * timeouts, waiting and retries, and zod at the exit for the shapes we act on.
 */
import { openAsBlob } from "node:fs";
import { basename } from "node:path";
import { z } from "zod";
import type ReplicateClient from "replicate";
import { ConfigError, InvalidInputError, type ReplicateError } from "../errors.js";
import { makeReplicateError, REPLICATE_ERROR_CODES, toReplicateError, type RequestContext } from "./error-mapping.js";
import { createReplicateFetch, UPLOAD_MIN_BYTES_PER_SECOND } from "./http.js";
import { createRedactor } from "./redact.js";
import type { RetryListener } from "./retry-notice.js";
import {
  AccountSchema,
  FileObjectSchema,
  ModelSchema,
  OpenApiInputSchema,
  PredictionSchema,
  TrainingSchema,
  VersionSchema,
  WebhookSecretSchema,
  type Account,
  type FileObject,
  type Model,
  type Prediction,
  type Training,
  type Version,
  type VersionInputSchema,
} from "./schemas.js";

import { DEFAULT_BASE_URL } from "./defaults.js";

export { DEFAULT_BASE_URL };
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONCURRENCY = 8;
export const DEFAULT_MAX_RETRIES = 5;
/** The FLUX LoRA trainer and cog-flux run on H100s; a trained version is served on them too. */
export const DEFAULT_MODEL_HARDWARE = "gpu-h100";

export type WebhookEvent = "start" | "output" | "logs" | "completed";

export interface ReplicateGatewayOptions {
  apiToken: string;
  /** Default https://api.replicate.com/v1. */
  baseUrl?: string;
  /** Per HTTP attempt, body included. Default 30 000; an upload gets more, by its size (see uploadBytesPerSecond). */
  timeoutMs?: number;
  /** The slowest uplink an upload must succeed on, in bytes a second. Default 256 KiB/s (2 Mbit/s). */
  uploadBytesPerSecond?: number;
  /** Requests in flight towards Replicate at once. Default 8. */
  maxConcurrency?: number;
  /** Retries after the first attempt, where retrying is safe. Default 5. */
  maxRetries?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  userAgent?: string;
  /**
   * Told before the gateway waits to try a call again: what failed, which attempt comes next, how
   * long until then, and a sentence saying so. For a caller to show what it is waiting for.
   */
  onRetry?: RetryListener;
}

export interface CreateTrainingParams {
  trainerOwner: string;
  trainerName: string;
  trainerVersion: string;
  /** `owner/name` of an existing model. */
  destination: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
}

export interface CreatePredictionParams {
  /** `owner/name:<64 hex>` or a bare 64-hex version id. */
  version: string;
  input: Record<string, unknown>;
  /** Ask Replicate to hold the response until done, up to this many seconds (1..60). */
  waitSeconds?: number;
  webhook?: string;
  webhookEventsFilter?: WebhookEvent[];
}

export interface ReplicateGateway {
  getAccount(): Promise<Account>;
  getModel(owner: string, name: string): Promise<Model | null>;
  /** The model, created private when missing. A public model is returned as it is: refusing it is the caller's call. */
  ensurePrivateModel(owner: string, name: string, opts?: { hardware?: string }): Promise<{ model: Model; created: boolean }>;
  getVersion(owner: string, name: string, versionId: string): Promise<Version | null>;
  getVersionInputSchema(owner: string, name: string, versionId: string): Promise<VersionInputSchema>;
  uploadFile(path: string, opts: { filename?: string; contentType: string }): Promise<FileObject>;
  createTraining(params: CreateTrainingParams): Promise<Training>;
  getTraining(id: string): Promise<Training>;
  cancelTraining(id: string): Promise<Training>;
  /** Every training of the account, newest first, across pages. */
  listTrainings(): AsyncIterable<Training>;
  createPrediction(params: CreatePredictionParams): Promise<Prediction>;
  getPrediction(id: string): Promise<Prediction>;
  /** Every prediction of the account, newest first, across pages (the way to find a create that was never answered). */
  listPredictions(): AsyncIterable<Prediction>;
  getWebhookSecret(): Promise<string>;
  /** Every version of the model, newest first; null when the model does not exist (or is not visible). */
  listVersions(owner: string, name: string): Promise<Version[] | null>;
  /** Asks Replicate to delete a version (it goes asynchronously, with its predictions). False: it was already gone (404). */
  deleteVersion(owner: string, name: string, versionId: string): Promise<boolean>;
  /** Deletes a model that has no versions left. False: it was already gone (404). A model with versions: REPLICATE_CONFLICT. */
  deleteModel(owner: string, name: string): Promise<boolean>;
  /** Deletes an uploaded file. False: it was already gone (404). */
  deleteFile(fileId: string): Promise<boolean>;
}

/** A DELETE's answer is an empty 202/204: nothing in it is acted on. */
const AnyBody = z.unknown();

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ID = /^[A-Za-z0-9_-]+$/;

/** Route parts go into URL paths unescaped by the client, so they are checked before any I/O. */
function segment(kind: string, value: string, pattern = SEGMENT): string {
  if (typeof value !== "string" || !pattern.test(value) || value.includes("..")) {
    throw new InvalidInputError(`Invalid Replicate ${kind} ${JSON.stringify(value)}.`, { [kind]: value });
  }
  return value;
}

/** A base URL fetch could never use is a configuration problem, said before any request. */
function checkedBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError(`The Replicate base URL ${JSON.stringify(baseUrl)} is not a URL.`, { baseUrl });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`The Replicate base URL ${baseUrl} must be http(s), not ${url.protocol}`, { baseUrl });
  }
  return baseUrl;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function createReplicateGateway(options: ReplicateGatewayOptions): ReplicateGateway {
  if (typeof options.apiToken !== "string" || options.apiToken.trim() === "") {
    throw new ConfigError("A Replicate API token is required.", {}, "MISSING_REPLICATE_TOKEN");
  }
  const apiToken = options.apiToken.trim();
  const baseUrl = checkedBaseUrl((options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, ""));
  const sleep = options.sleep ?? defaultSleep;
  const redact = createRedactor(apiToken);
  const http = createReplicateFetch({
    baseUrl,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    uploadBytesPerSecond: options.uploadBytesPerSecond ?? UPLOAD_MIN_BYTES_PER_SECOND,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    fetch: options.fetch ?? globalThis.fetch,
    sleep,
    random: options.random ?? Math.random,
    redact,
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  });

  // The client is loaded on first use so that building a gateway costs nothing at CLI start-up.
  let client: Promise<ReplicateClient> | undefined;
  const getClient = (): Promise<ReplicateClient> =>
    (client ??= import("replicate").then(
      ({ default: Replicate }) =>
        new Replicate({ auth: apiToken, baseUrl, fetch: http.fetch, userAgent: options.userAgent ?? "sselfie" }),
    ));

  function parse<S extends z.ZodType>(schema: S, raw: unknown, ctx: RequestContext): z.output<S> {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    const issues = result.error.issues.slice(0, 5).map((i) => ({ path: i.path.join("."), message: i.message }));
    throw makeReplicateError(
      redact,
      REPLICATE_ERROR_CODES.BAD_RESPONSE,
      `Replicate's answer to ${ctx.method} ${ctx.path} is not what sselfie expects: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      { details: { ...ctx, issues } },
    );
  }

  async function call<S extends z.ZodType>(
    ctx: RequestContext,
    schema: S,
    run: (c: ReplicateClient) => Promise<unknown>,
  ): Promise<z.output<S>> {
    let raw: unknown;
    try {
      raw = await run(await getClient());
    } catch (err) {
      throw toReplicateError(err, redact, http.bodyOf, ctx);
    }
    return parse(schema, raw, ctx);
  }

  /**
   * The client follows each page's `next` URL as given; our fetch refuses any URL off the base
   * origin, so a forged `next` cannot carry the token elsewhere.
   */
  async function* listAll<S extends z.ZodType>(
    ctx: RequestContext,
    schema: S,
    paginate: (c: ReplicateClient) => AsyncGenerator<unknown[]>,
  ): AsyncGenerator<z.output<S>> {
    const pages = paginate(await getClient());
    for (;;) {
      let page: IteratorResult<unknown[]>;
      try {
        page = await pages.next();
      } catch (err) {
        throw toReplicateError(err, redact, http.bodyOf, ctx);
      }
      if (page.done) return;
      if (!Array.isArray(page.value)) parse(schema.array(), page.value, ctx);
      for (const raw of page.value) yield parse(schema, raw, ctx);
    }
  }

  const isCode = (err: unknown, code: string): err is ReplicateError =>
    err instanceof Error && (err as ReplicateError).code === code;

  /** A DELETE: true when Replicate accepted it, false when the thing was already gone (404). */
  async function remove(path: string): Promise<boolean> {
    try {
      await call({ method: "DELETE", path }, AnyBody, (c) => c.request(path, { method: "DELETE" }));
      return true;
    } catch (err) {
      if (isCode(err, REPLICATE_ERROR_CODES.NOT_FOUND)) return false;
      throw err;
    }
  }

  const gateway: ReplicateGateway = {
    getAccount() {
      return call({ method: "GET", path: "/account" }, AccountSchema, (c) => c.accounts.current());
    },

    async getModel(owner, name) {
      const o = segment("owner", owner);
      const n = segment("model name", name);
      try {
        return await call({ method: "GET", path: `/models/${o}/${n}` }, ModelSchema, (c) => c.models.get(o, n));
      } catch (err) {
        if (isCode(err, REPLICATE_ERROR_CODES.NOT_FOUND)) return null;
        throw err;
      }
    },

    async ensurePrivateModel(owner, name, opts = {}) {
      const existing = await gateway.getModel(owner, name);
      if (existing) return { model: existing, created: false };
      const ctx = { method: "POST", path: "/models" };
      const create = () =>
        call(ctx, ModelSchema, (c) =>
          c.models.create(owner, name, { visibility: "private", hardware: opts.hardware ?? DEFAULT_MODEL_HARDWARE }),
        );
      try {
        return { model: await create(), created: true };
      } catch (err) {
        // Names are unique per owner, so a create can be settled by looking: a refusal because
        // another caller got there first, or an answer lost on the way, both end in "it exists".
        const conflict = ["REPLICATE_CONFLICT", "REPLICATE_INVALID_INPUT"].some((c) => isCode(err, c));
        const unknown = isCode(err, REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN);
        if (!conflict && !unknown) throw err;
        const now = await gateway.getModel(owner, name);
        if (now) return { model: now, created: unknown };
        if (conflict) throw err;
        // Not there: the lost create did not happen, and a second one cannot make a duplicate.
        return { model: await create(), created: true };
      }
    },

    async getVersion(owner, name, versionId) {
      const o = segment("owner", owner);
      const n = segment("model name", name);
      const v = segment("version id", versionId, ID);
      try {
        return await call({ method: "GET", path: `/models/${o}/${n}/versions/${v}` }, VersionSchema, (c) => c.models.versions.get(o, n, v));
      } catch (err) {
        if (isCode(err, REPLICATE_ERROR_CODES.NOT_FOUND)) return null;
        throw err;
      }
    },

    async getVersionInputSchema(owner, name, versionId) {
      const version = await gateway.getVersion(owner, name, versionId);
      const ctx = { method: "GET", path: `/models/${owner}/${name}/versions/${versionId}` };
      if (!version) {
        throw makeReplicateError(redact, REPLICATE_ERROR_CODES.NOT_FOUND, `Not found on Replicate: version ${owner}/${name}:${versionId}.`, {
          status: 404,
          details: ctx,
        });
      }
      return parse(OpenApiInputSchema, version.openapi_schema, ctx).components.schemas.Input;
    },

    async uploadFile(path, opts) {
      let blob: Blob;
      try {
        // A file-backed Blob: FormData streams it from disk instead of holding it in memory.
        blob = await openAsBlob(path, { type: opts.contentType });
      } catch (err) {
        throw new InvalidInputError(`Cannot read ${path}: ${(err as Error).message}`, { path });
      }
      const file = new File([blob], opts.filename ?? basename(path), { type: opts.contentType });
      return call({ method: "POST", path: "/files" }, FileObjectSchema, (c) => c.files.create(file));
    },

    createTraining(p) {
      const o = segment("owner", p.trainerOwner);
      const n = segment("model name", p.trainerName);
      const v = segment("version id", p.trainerVersion, ID);
      return call({ method: "POST", path: `/models/${o}/${n}/versions/${v}/trainings` }, TrainingSchema, (c) =>
        c.trainings.create(o, n, v, {
          destination: p.destination as `${string}/${string}`,
          input: p.input,
          ...(p.webhook ? { webhook: p.webhook } : {}),
          ...(p.webhookEventsFilter ? { webhook_events_filter: p.webhookEventsFilter } : {}),
        }),
      );
    },

    getTraining(id) {
      const t = segment("training id", id, ID);
      return call({ method: "GET", path: `/trainings/${t}` }, TrainingSchema, (c) => c.trainings.get(t));
    },

    cancelTraining(id) {
      const t = segment("training id", id, ID);
      return call({ method: "POST", path: `/trainings/${t}/cancel` }, TrainingSchema, (c) => c.trainings.cancel(t));
    },

    listTrainings() {
      return listAll({ method: "GET", path: "/trainings" }, TrainingSchema, (c) => c.paginate(c.trainings.list));
    },

    createPrediction(p) {
      const wait = p.waitSeconds === undefined ? undefined : Math.min(60, Math.max(1, Math.ceil(p.waitSeconds)));
      return call({ method: "POST", path: "/predictions" }, PredictionSchema, (c) =>
        c.predictions.create({
          version: p.version,
          input: p.input,
          ...(wait === undefined ? {} : { wait }),
          ...(p.webhook ? { webhook: p.webhook } : {}),
          ...(p.webhookEventsFilter ? { webhook_events_filter: p.webhookEventsFilter } : {}),
        }),
      );
    },

    getPrediction(id) {
      const pid = segment("prediction id", id, ID);
      return call({ method: "GET", path: `/predictions/${pid}` }, PredictionSchema, (c) => c.predictions.get(pid));
    },

    listPredictions() {
      return listAll({ method: "GET", path: "/predictions" }, PredictionSchema, (c) => c.paginate(c.predictions.list));
    },

    async listVersions(owner, name) {
      const o = segment("owner", owner);
      const n = segment("model name", name);
      const versions: Version[] = [];
      try {
        for await (const v of listAll({ method: "GET", path: `/models/${o}/${n}/versions` }, VersionSchema, (c) =>
          c.paginate(() => c.models.versions.list(o, n)),
        )) {
          versions.push(v);
        }
      } catch (err) {
        if (isCode(err, REPLICATE_ERROR_CODES.NOT_FOUND)) return null;
        throw err;
      }
      return versions;
    },

    deleteVersion(owner, name, versionId) {
      const o = segment("owner", owner);
      const n = segment("model name", name);
      const v = segment("version id", versionId, ID);
      return remove(`/models/${o}/${n}/versions/${v}`);
    },

    deleteModel(owner, name) {
      const o = segment("owner", owner);
      const n = segment("model name", name);
      return remove(`/models/${o}/${n}`);
    },

    deleteFile(fileId) {
      return remove(`/files/${segment("file id", fileId, ID)}`);
    },

    async getWebhookSecret() {
      const secret = await call({ method: "GET", path: "/webhooks/default/secret" }, WebhookSecretSchema, (c) =>
        c.webhooks.default.secret.get(),
      );
      return secret.key;
    },
  };
  return gateway;
}
