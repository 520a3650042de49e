/**
 * A Replicate API emulator over real HTTP on 127.0.0.1, for tests and for trying the CLI offline.
 * See README.md for what it emulates and what it does not.
 */
import type { AddressInfo } from "node:net";
import { createClock } from "./clock.js";
import { addFault } from "./faults.js";
import { fileBytesFromUrl } from "./files.js";
import { tick } from "./jobs.js";
import { addVersion, plantVersion, putModel, removeVersion, requireModel } from "./models.js";
import { methodMatches, pathMatches } from "./request-log.js";
import { ROUTES } from "./routes.js";
import { BASE_MODEL, BASE_MODEL_VERSION, TRAINER_MODEL, TRAINER_VERSION, baseModelOpenApi, trainerOpenApi } from "./schemas.js";
import { createEmulatorServer } from "./server.js";
import { createState } from "./state.js";
import { completeTraining } from "./trainings.js";
import type { Emulator, EmulatorOptions, JsonSchema } from "./types.js";
import { createWebhookDispatcher } from "./webhooks.js";

export type * from "./types.js";
export { decodePng, encodePng } from "./png.js";
export { signWebhook, verifyWebhook } from "./webhooks.js";
export { TRAINER_MODEL, TRAINER_VERSION, BASE_MODEL, BASE_MODEL_VERSION, trainedModelInputSchema } from "./schemas.js";
export { NSFW_ERROR } from "./predictions.js";
export { DEFAULT_TRAINING_ERROR } from "./trainings.js";

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const clock = createClock();
  const state = createState(options, clock);
  const webhooks = createWebhookDispatcher(state);
  const server = createEmulatorServer(state, ROUTES, webhooks);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;

  const [ostris, trainerName] = TRAINER_MODEL.split("/") as [string, string];
  addVersion(state, putModel(state, ostris, trainerName, { visibility: "public", hardware: "gpu-h100" }), trainerOpenApi(), TRAINER_VERSION);
  const [bfl, baseName] = BASE_MODEL.split("/") as [string, string];
  addVersion(state, putModel(state, bfl, baseName, { visibility: "public", hardware: "gpu-h100" }), baseModelOpenApi(), BASE_MODEL_VERSION);

  // Webhooks must go out even when nobody polls, so the clock is also read on a timer.
  const timer = setInterval(() => tick(state, webhooks), 25);
  timer.unref();
  const first = [...state.accountsByName.values()][0]!;

  const emulator: Emulator = {
    url: `${state.origin}/v1`,
    origin: state.origin,
    token: first.token,
    owner: first.username,
    webhookSecret: first.webhookSecret,
    webhookSecretOf(username) {
      const account = state.accountsByName.get(username);
      if (!account) throw new Error(`emulator has no account ${username}`);
      return account.webhookSecret;
    },
    requests: state.requests,
    clearRequests: () => void state.requests.splice(0),
    requestsTo: (method, pattern) =>
      state.requests.filter((r) => methodMatches(method, r.method) && pathMatches(pattern, r.path)),
    webhookDeliveries: state.deliveries,
    waitForWebhooks: () => webhooks.idle(),
    interceptWebhooks: (rule) => webhooks.intercept(rule),
    clearWebhookRules: () => webhooks.clearRules(),
    now: () => clock.now(),
    advance(ms) {
      clock.advance(ms);
      tick(state, webhooks);
    },
    models: state.models,
    trainings: state.trainings,
    predictions: state.predictions,
    files: state.files,
    fileBytesFromUrl: (url) => fileBytesFromUrl(state, url),
    setTrainingOutcome(next, opts = {}) {
      state.trainingPlan = { status: next, ...opts };
    },
    finishTraining(id, outcome) {
      const t = state.trainings.get(id);
      if (!t) throw new Error(`emulator has no training ${id}`);
      tick(state, webhooks);
      completeTraining(state, t, outcome, clock.now(), t.planned.error);
      tick(state, webhooks);
    },
    withholdImages(count) {
      state.withhold = count;
    },
    setVersionSchema(modelId, versionId, inputSchema) {
      const version = requireModel(state, modelId).versions.get(versionId);
      if (!version) throw new Error(`emulator has no version ${modelId}:${versionId}`);
      version.openapi_schema.components.schemas.Input = inputSchema as JsonSchema;
    },
    createVersion: (modelId, opts = {}) => plantVersion(state, modelId, opts),
    deleteVersion: (modelId, versionId) => removeVersion(requireModel(state, modelId), versionId),
    createModel(modelId, opts = {}) {
      const [owner, name] = modelId.split("/");
      if (!owner || !name) throw new Error(`model id must be "owner/name", got ${modelId}`);
      return putModel(state, owner, name, opts);
    },
    inject: (fault) => addFault(state, fault),
    clearFaults: () => void state.faults.splice(0),
    async close() {
      if (state.closed) return;
      state.closed = true;
      state.shutdown.abort();
      clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await webhooks.idle();
    },
  };
  return emulator;
}
