/** Every endpoint the emulator serves. */
import { deliveryHandler, streamHandler } from "./delivery.js";
import { createFileHandler, deleteFileHandler, downloadFileHandler, getFileHandler, listFilesHandler } from "./files.js";
import {
  accountHandler,
  createModelHandler,
  deleteModelHandler,
  deleteVersionHandler,
  getModelHandler,
  getVersionHandler,
  listVersionsHandler,
  webhookSecretHandler,
} from "./models.js";
import {
  cancelPredictionHandler,
  createPredictionHandler,
  getPredictionHandler,
  listPredictionsHandler,
} from "./predictions.js";
import { route, type Route } from "./router.js";
import { cancelTrainingHandler, createTrainingHandler, getTrainingHandler, listTrainingsHandler } from "./trainings.js";

/** The recorded file calls carry no rate-limit headers (their limits are unknown, so none are enforced). */
const NO_RATE_HEADERS = { bucket: "none" } as const;

export const ROUTES: Route[] = [
  route("GET", "/v1/account", accountHandler),
  route("POST", "/v1/models", createModelHandler),
  route("GET", "/v1/models/:owner/:name", getModelHandler),
  route("GET", "/v1/models/:owner/:name/versions", listVersionsHandler),
  route("DELETE", "/v1/models/:owner/:name", deleteModelHandler),
  route("GET", "/v1/models/:owner/:name/versions/:id", getVersionHandler),
  route("DELETE", "/v1/models/:owner/:name/versions/:id", deleteVersionHandler),
  route("POST", "/v1/models/:owner/:name/versions/:id/trainings", createTrainingHandler),
  route("GET", "/v1/trainings", listTrainingsHandler),
  route("GET", "/v1/trainings/:id", getTrainingHandler),
  route("POST", "/v1/trainings/:id/cancel", cancelTrainingHandler),
  route("GET", "/v1/files", listFilesHandler, NO_RATE_HEADERS),
  route("POST", "/v1/files", createFileHandler, NO_RATE_HEADERS),
  route("GET", "/v1/files/:id", getFileHandler, NO_RATE_HEADERS),
  route("DELETE", "/v1/files/:id", deleteFileHandler, NO_RATE_HEADERS),
  route("GET", "/v1/files/:id/download", downloadFileHandler, NO_RATE_HEADERS),
  route("GET", "/v1/predictions", listPredictionsHandler),
  route("POST", "/v1/predictions", createPredictionHandler, { bucket: "predictions" }),
  route("GET", "/v1/predictions/:id", getPredictionHandler, { bucket: "prediction-reads" }),
  route("POST", "/v1/predictions/:id/cancel", cancelPredictionHandler),
  route("GET", "/v1/webhooks/default/secret", webhookSecretHandler),
  route("GET", "/delivery/:id/:file", deliveryHandler, { auth: false }),
  route("GET", "/stream/:id", streamHandler, { auth: false }),
];
