/** Brings every training and prediction up to the emulator clock and feeds webhook deliveries. */
import { purgeDeletedVersions } from "./models.js";
import { refreshPrediction, renderPrediction } from "./predictions.js";
import type { State } from "./state.js";
import { refreshTraining, renderTraining } from "./trainings.js";
import type { WebhookDispatcher } from "./webhooks.js";

const TERMINAL = new Set(["succeeded", "failed", "canceled", "aborted"]);

export function tick(state: State, webhooks: WebhookDispatcher): void {
  purgeDeletedVersions(state);
  for (const t of state.trainings.values()) {
    refreshTraining(state, t);
    if (t.webhook && !webhooks.done(t.id)) webhooks.observe(t, renderTraining(state, t), TERMINAL.has(t.status));
  }
  for (const p of state.predictions.values()) {
    refreshPrediction(state, p);
    if (p.webhook && !webhooks.done(p.id)) webhooks.observe(p, renderPrediction(state, p), TERMINAL.has(p.status));
  }
}
