/** Trainings of ostris/flux-dev-lora-trainer: a timeline on the emulator clock, tqdm logs, a new version on success. */
import { isoMicros } from "./clock.js";
import { fileBytesFromUrl } from "./files.js";
import { json, isPlainObject, notFound, problem, type Reply } from "./http-util.js";
import { jobId, versionId } from "./ids.js";
import { checkInput, defaultOf, inputProblem } from "./input-validation.js";
import { addVersion } from "./models.js";
import { paginate } from "./pagination.js";
import type { Ctx } from "./router.js";
import { TRAINER_MODEL, trainedModelOpenApi, trainerOpenApi } from "./schemas.js";
import { apiUrl, assignSeq, type State } from "./state.js";
import { trainingLogs } from "./training-logs.js";
import type { EmulatedTraining, TerminalStatus, WebhookEvent } from "./types.js";
import { ALL_EVENTS } from "./webhooks.js";

export const DEFAULT_TRAINING_ERROR = "Prediction failed for an unknown reason. It might have run out of memory? (exitcode -9)";
const DESTINATION_MISSING = "The specified training destination does not exist";

export function createTrainingHandler(ctx: Ctx): Reply {
  const { state, account, body } = ctx;
  const [owner, name, version] = ctx.params;
  const trainer = state.models.get(`${owner}/${name}`);
  if (`${owner}/${name}` !== TRAINER_MODEL || !trainer?.versions.has(version!)) return notFound();
  if (!isPlainObject(body)) return problem(400, "The request body must be a JSON object.");
  const destination = typeof body.destination === "string" ? body.destination : "";
  const dest = state.models.get(destination);
  if (!/^[^/]+\/[^/]+$/.test(destination) || !dest || dest.owner !== account.username) {
    return problem(404, DESTINATION_MISSING);
  }
  const hooks = checkWebhookFields(body);
  if ("status" in hooks) return hooks;
  const checked = checkInput(trainer.versions.get(version!)!.openapi_schema, "TrainingInput", body.input ?? null);
  if (!checked.ok) return inputProblem(checked.errors);
  const input = checked.input;
  const now = state.clock.now();
  const zip = inspectZip(state, String(input.input_images));
  const startAt = now + state.options.startingMs;
  const training: EmulatedTraining = {
    kind: "training",
    id: jobId(),
    account: account.username,
    model: TRAINER_MODEL,
    version: version!,
    destination,
    input,
    ...hooks,
    createdAt: now,
    startAt,
    endAt: startAt + state.options.processingMs,
    status: "starting",
    startedAt: null,
    completedAt: null,
    error: null,
    steps: state.options.steps ?? (typeof input.steps === "number" ? input.steps : 1000),
    planned: zip.isZip === false ? { status: "failed", error: "zipfile.BadZipFile: File is not a zip file" } : { ...state.trainingPlan },
    output: null,
    createdVersionId: null,
  };
  imageCounts.set(training, zip.imageCount ?? 12);
  state.trainings.set(training.id, training);
  assignSeq(state, training);
  // The create answer is the training as created, however long this process was held up since.
  return json(201, renderCreatedTraining(state, training));
}

/** webhook / webhook_events_filter, checked the same way for trainings and predictions. */
export function checkWebhookFields(body: Record<string, unknown>): Reply | { webhook?: string; webhookEventsFilter?: WebhookEvent[] } {
  const out: { webhook?: string; webhookEventsFilter?: WebhookEvent[] } = {};
  if (body.webhook !== undefined && body.webhook !== null) {
    if (typeof body.webhook !== "string" || !/^https?:\/\/[^\s]+$/.test(body.webhook)) return problem(400, "webhook: Enter a valid URL.");
    out.webhook = body.webhook;
  }
  const filter = body.webhook_events_filter;
  if (filter !== undefined && filter !== null) {
    if (!Array.isArray(filter) || !filter.every((e) => ALL_EVENTS.includes(e as WebhookEvent))) {
      return problem(400, `webhook_events_filter: each event must be one of ${ALL_EVENTS.join(", ")}.`);
    }
    out.webhookEventsFilter = filter as WebhookEvent[];
  }
  return out;
}

const imageCounts = new WeakMap<EmulatedTraining, number>();

/** Looks inside input_images when the emulator holds its bytes; a non-zip fails the training. */
function inspectZip(state: State, url: string): { isZip?: boolean; imageCount?: number } {
  const bytes = fileBytesFromUrl(state, url);
  if (!bytes) return {};
  if (bytes.readUInt32LE(0) !== 0x04034b50 || bytes.length < 22) return { isZip: false };
  let count = 0;
  for (let i = bytes.indexOf("PK\x01\x02", 0, "latin1"); i >= 0 && i + 46 <= bytes.length; i = bytes.indexOf("PK\x01\x02", i + 4, "latin1")) {
    const nameLength = bytes.readUInt16LE(i + 28);
    const entry = bytes.toString("utf8", i + 46, i + 46 + nameLength);
    if (/\.(jpe?g|png|webp)$/i.test(entry) && !entry.startsWith("__MACOSX/")) count++;
  }
  return { isZip: true, imageCount: count };
}

/** Moves a training along its timeline to where the emulator clock says it is. */
export function refreshTraining(state: State, t: EmulatedTraining): void {
  if (t.completedAt !== null) return;
  const now = state.clock.now();
  const planned = t.planned.status;
  if (planned === "aborted" && now >= t.startAt) return completeTraining(state, t, "aborted", t.startAt);
  // A `running` training stays processing until it is canceled.
  if (now >= t.endAt && planned !== "running") {
    t.startedAt ??= t.startAt;
    return completeTraining(state, t, planned, t.endAt, t.planned.error);
  }
  if (now >= t.startAt) {
    t.status = "processing";
    t.startedAt = t.startAt;
  }
}

export function completeTraining(state: State, t: EmulatedTraining, outcome: TerminalStatus, at: number, error?: string): void {
  if (t.completedAt !== null) return;
  t.status = outcome;
  t.completedAt = at;
  if (outcome !== "aborted") t.startedAt ??= at;
  if (outcome === "failed") t.error = error ?? DEFAULT_TRAINING_ERROR;
  if (outcome !== "succeeded") return;
  const target = t.planned.outputVersionOf ?? t.destination;
  const model = state.models.get(target);
  const version = model ? addVersion(state, model, trainedModelOpenApi(), undefined, at) : { id: versionId() };
  t.createdVersionId = version.id;
  t.output = { version: `${target}:${version.id}`, weights: `${state.origin}/delivery/${t.id}/trained_model.tar` };
}

function logsOf(state: State, t: EmulatedTraining): string {
  if (t.startedAt === null) return "";
  const until = t.completedAt ?? state.clock.now();
  const elapsed = (until - t.startAt) / Math.max(1, t.endAt - t.startAt);
  // A training that never ends on its own holds just short of the end (99% of 1000 steps) once its processing time is over.
  const progress = t.planned.status === "running" && t.completedAt === null ? Math.min(0.995, elapsed) : elapsed;
  const openapi = trainerOpenApi();
  const text = trainingLogs(
    {
      steps: t.steps,
      autocaption: (t.input.autocaption ?? defaultOf(openapi, "TrainingInput", "autocaption")) === true,
      triggerWord: String(t.input.trigger_word ?? defaultOf(openapi, "TrainingInput", "trigger_word")),
      learningRate: Number(t.input.learning_rate ?? defaultOf(openapi, "TrainingInput", "learning_rate")),
      imageCount: imageCounts.get(t) ?? 12,
    },
    progress,
  );
  return t.error ? `${text}\n${t.error}` : text;
}

/** The urls of a create or cancel answer point at /predictions, as the real API's do (the emulator answers 404 there). */
function predictionUrls(state: State, t: EmulatedTraining): Record<string, string> {
  return { cancel: apiUrl(state, `/predictions/${t.id}/cancel`), get: apiUrl(state, `/predictions/${t.id}`) };
}

/** The body of the create response (recorded: these keys only). */
export function renderCreatedTraining(state: State, t: EmulatedTraining): Record<string, unknown> {
  return {
    id: t.id,
    model: t.model,
    version: t.version,
    input: t.input,
    logs: "",
    error: t.error,
    status: t.status,
    created_at: isoMicros(t.createdAt),
    urls: predictionUrls(state, t),
  };
}

/** GET /trainings/{id}, list items and webhook bodies. No `destination`: the real object has none. */
export function renderTraining(state: State, t: EmulatedTraining): Record<string, unknown> {
  const ran = t.completedAt !== null && t.startedAt !== null;
  return {
    completed_at: t.completedAt === null ? null : isoMicros(t.completedAt),
    created_at: isoMicros(t.createdAt),
    error: t.error,
    id: t.id,
    input: t.input,
    logs: logsOf(state, t),
    metrics: ran ? { predict_time: (t.completedAt! - t.startedAt!) / 1000, total_time: (t.completedAt! - t.createdAt) / 1000 } : {},
    output: t.output,
    started_at: t.startedAt === null ? null : isoMicros(t.startedAt),
    status: t.status,
    urls: {
      get: apiUrl(state, `/trainings/${t.id}`),
      cancel: apiUrl(state, `/trainings/${t.id}/cancel`),
    },
    model: t.model,
    version: t.version,
    source: "api",
    webhook_completed: null,
  };
}

function ownTraining(ctx: Ctx): EmulatedTraining | undefined {
  const t = ctx.state.trainings.get(ctx.params[0]!);
  return t && t.account === ctx.account.username ? t : undefined;
}

export function getTrainingHandler(ctx: Ctx): Reply {
  const t = ownTraining(ctx);
  return t ? json(200, renderTraining(ctx.state, t)) : notFound();
}

export function cancelTrainingHandler(ctx: Ctx): Reply {
  const t = ownTraining(ctx);
  if (!t) return notFound();
  completeTraining(ctx.state, t, "canceled", ctx.state.clock.now());
  return json(200, { ...renderTraining(ctx.state, t), urls: predictionUrls(ctx.state, t) });
}

export function listTrainingsHandler(ctx: Ctx): Reply {
  const { state, account } = ctx;
  const mine = [...state.trainings.values()].filter((t) => t.account === account.username);
  const page = paginate(state, mine, ctx.query.get("cursor") ?? undefined, apiUrl(state, "/trainings"));
  if (!page) return problem(400, "Invalid cursor");
  return json(200, { ...page, results: page.results.map((t) => renderTraining(state, t)) });
}
