/** Predictions: version resolution, input checks, `Prefer: wait`, the safety checker and the output TTL. */
import { randomInt } from "node:crypto";
import { isoMicros } from "./clock.js";
import { json, isPlainObject, notFound, problem, type Reply } from "./http-util.js";
import { jobId } from "./ids.js";
import { checkInput, defaultOf, inputProblem } from "./input-validation.js";
import { visibleModel } from "./models.js";
import { paginate } from "./pagination.js";
import type { Ctx } from "./router.js";
import { apiUrl, assignSeq, type State } from "./state.js";
import { tqdmBar } from "./training-logs.js";
import { checkWebhookFields } from "./trainings.js";
import type { EmulatedModel, EmulatedPrediction, EmulatedVersion, TerminalStatus } from "./types.js";

export const NSFW_ERROR = "All generated images contained NSFW content. Try running it again with a different prompt.";
const VERSION_REF = /^([^/:\s]+)\/([^/:\s]+):([0-9a-f]{64})$/;
const BARE_VERSION = /^[0-9a-f]{64}$/;

function resolveVersion(state: State, account: string, ref: string): { model: EmulatedModel; version: EmulatedVersion } | undefined {
  const full = VERSION_REF.exec(ref);
  if (full) {
    const model = visibleModel(state, account, `${full[1]}/${full[2]}`);
    const version = model?.versions.get(full[3]!);
    return model && version ? { model, version } : undefined;
  }
  if (!BARE_VERSION.test(ref)) return undefined;
  for (const model of state.models.values()) {
    const version = model.versions.get(ref);
    if (version && visibleModel(state, account, `${model.owner}/${model.name}`)) return { model, version };
  }
  return undefined;
}

/** `Prefer: wait` holds up to 60 s; `wait=N` holds N (1..60) seconds. Anything else is ignored. */
export function preferWaitSeconds(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(",") : header ?? "";
  const m = /(?:^|[,\s])wait(?:=(\d+))?(?:$|[,;\s])/.exec(value);
  if (!m) return undefined;
  if (m[1] === undefined) return 60;
  const n = Number(m[1]);
  return n >= 1 && n <= 60 ? n : undefined;
}

export async function createPredictionHandler(ctx: Ctx): Promise<Reply> {
  const { state, account, body } = ctx;
  if (!isPlainObject(body)) return problem(400, "The request body must be a JSON object.");
  if (typeof body.version !== "string" || body.version === "") {
    return problem(422, "- version: version is required\n", { title: "Input validation failed" });
  }
  const resolved = resolveVersion(state, account.username, body.version);
  if (!resolved) {
    return problem(422, "The specified version does not exist (or perhaps you don't have permission to use it?)", {
      title: "Invalid version or not permitted",
    });
  }
  const hooks = checkWebhookFields(body);
  if ("status" in hooks) return hooks;
  const { model, version } = resolved;
  const openapi = version.openapi_schema;
  const checked = checkInput(openapi, "Input", body.input ?? null);
  if (!checked.ok) return inputProblem(checked.errors);
  const input = checked.input;
  const now = state.clock.now();
  const id = jobId();
  const seed = typeof input.seed === "number" ? input.seed : randomInt(0, 65536);
  const numOutputs = Number(input.num_outputs ?? defaultOf(openapi, "Input", "num_outputs") ?? 1);
  const withheld = input.disable_safety_checker === true ? 0 : Math.min(state.withhold, numOutputs);
  const outputFormat = String(input.output_format ?? defaultOf(openapi, "Input", "output_format") ?? "webp");
  const images = Array.from({ length: numOutputs }, (_, index) => index)
    .filter((index) => index >= withheld)
    .map((index) => ({ index, seed, url: `${state.origin}/delivery/${id}/out-${index}.${outputFormat}` }));
  const duration = state.options.predictionMs;
  const prediction: EmulatedPrediction = {
    kind: "prediction",
    id,
    account: account.username,
    model: `${model.owner}/${model.name}`,
    version: version.id,
    versionRef: `${model.owner}/${model.name}:${version.id}`,
    input,
    ...hooks,
    createdAt: now,
    startAt: now + Math.round(duration * 0.2),
    endAt: now + duration,
    status: "starting",
    startedAt: null,
    completedAt: null,
    error: null,
    seed,
    numOutputs,
    withheld,
    plannedError: images.length === 0 ? NSFW_ERROR : null,
    outputFormat,
    images,
    output: null,
    dataRemoved: false,
  };
  model.run_count++;
  state.predictions.set(id, prediction);
  assignSeq(state, prediction);
  const wait = preferWaitSeconds(ctx.headers.prefer);
  // The create answer is the prediction as created, however long this process was held up since.
  if (wait === undefined) return json(201, renderCreatedPrediction(state, prediction));
  refreshPrediction(state, prediction);
  const deadline = Date.now() + wait * 1000;
  while (prediction.completedAt === null && Date.now() < deadline && !ctx.signal.aborted) {
    await new Promise((r) => setTimeout(r, Math.min(10, deadline - Date.now())));
    refreshPrediction(state, prediction);
  }
  return json(prediction.completedAt === null ? 202 : 201, renderPrediction(state, prediction));
}

export function refreshPrediction(state: State, p: EmulatedPrediction): void {
  const now = state.clock.now();
  if (p.completedAt === null) {
    if (now >= p.endAt) {
      // It ran from startAt even when nobody looked while it was processing.
      p.startedAt ??= p.startAt;
      completePrediction(p, p.plannedError ? "failed" : "succeeded", p.endAt);
    }
    else if (now >= p.startAt) {
      p.status = "processing";
      p.startedAt = p.startAt;
    }
  }
  if (p.completedAt !== null && !p.dataRemoved && now >= p.completedAt + state.options.outputTtlMs) {
    p.dataRemoved = true;
    p.input = {};
    p.output = null;
  }
}

export function completePrediction(p: EmulatedPrediction, outcome: TerminalStatus, at: number): void {
  if (p.completedAt !== null) return;
  p.status = outcome;
  p.completedAt = at;
  if (outcome !== "aborted") p.startedAt ??= at;
  if (outcome === "succeeded") p.output = p.images.map((i) => i.url);
  if (outcome === "failed") p.error = p.plannedError ?? "Prediction failed.";
}

function logsOf(state: State, p: EmulatedPrediction): string {
  if (p.dataRemoved || p.startedAt === null) return "";
  const steps = Number(p.input.num_inference_steps ?? 28);
  const until = p.completedAt ?? state.clock.now();
  const progress = p.status === "succeeded" || p.status === "failed" ? 1 : (until - p.startAt) / Math.max(1, p.endAt - p.startAt);
  const done = Math.max(0, Math.min(steps, Math.floor(progress * steps)));
  const lines = [`Using seed: ${p.seed}`, `Prompt: ${String(p.input.prompt ?? "")}`, "txt2img mode"];
  for (let n = 0; n <= done; n += Math.max(1, Math.floor(steps / 4))) lines.push(tqdmBar("", n, steps, n ? 3.52 : undefined));
  if (done === steps && steps % Math.max(1, Math.floor(steps / 4)) !== 0) lines.push(tqdmBar("", steps, steps, 3.52));
  if (p.completedAt !== null) for (let i = 0; i < p.withheld; i++) lines.push(`NSFW content detected in image ${i}`);
  return lines.join("\n");
}

/** The answer to a create without `Prefer: wait`: the short shape of every recorded create. */
export function renderCreatedPrediction(state: State, p: EmulatedPrediction): Record<string, unknown> {
  const { id, model, version, input, logs, error, status, created_at, urls } = renderPrediction(state, p);
  const { get, cancel } = urls as Record<string, string>;
  return { id, model, version, input, logs, error, status, created_at, urls: { cancel, get } };
}

export function renderPrediction(state: State, p: EmulatedPrediction): Record<string, unknown> {
  const ran = p.completedAt !== null && p.startedAt !== null;
  return {
    id: p.id,
    model: p.model,
    version: p.version,
    input: p.input,
    logs: logsOf(state, p),
    output: p.output,
    data_removed: p.dataRemoved,
    error: p.error,
    status: p.status,
    created_at: isoMicros(p.createdAt),
    started_at: p.startedAt === null ? null : isoMicros(p.startedAt),
    completed_at: p.completedAt === null ? null : isoMicros(p.completedAt),
    urls: {
      cancel: apiUrl(state, `/predictions/${p.id}/cancel`),
      get: apiUrl(state, `/predictions/${p.id}`),
      stream: `${state.origin}/stream/${p.id}`,
      web: `${state.origin}/p/${p.id}`,
    },
    metrics: ran ? { predict_time: (p.completedAt! - p.startedAt!) / 1000, total_time: (p.completedAt! - p.createdAt) / 1000 } : {},
    source: "api",
    webhook_completed: null,
  };
}

function ownPrediction(ctx: Ctx): EmulatedPrediction | undefined {
  const p = ctx.state.predictions.get(ctx.params[0]!);
  return p && p.account === ctx.account.username ? p : undefined;
}

/**
 * A training's create and cancel answers point their urls here, but a training is not served here:
 * a client that followed those urls would poll the wrong resource, so this answers 404 for them.
 */
export function getPredictionHandler(ctx: Ctx): Reply {
  const p = ownPrediction(ctx);
  return p ? json(200, renderPrediction(ctx.state, p)) : notFound();
}

export function cancelPredictionHandler(ctx: Ctx): Reply {
  const p = ownPrediction(ctx);
  if (!p) return notFound();
  completePrediction(p, "canceled", ctx.state.clock.now());
  return json(200, renderPrediction(ctx.state, p));
}

export function listPredictionsHandler(ctx: Ctx): Reply {
  const { state } = ctx;
  const mine = [...state.predictions.values()].filter((p) => p.account === ctx.account.username);
  const page = paginate(state, mine, ctx.query.get("cursor") ?? undefined, apiUrl(state, "/predictions"));
  if (!page) return problem(400, "Invalid cursor");
  return json(200, { ...page, results: page.results.map((p) => renderPrediction(state, p)) });
}
