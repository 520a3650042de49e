/** `sselfie.webhooks`: Replicate's deliveries for trainings and predictions. */
import { handleReplicateWebhook, type WebhookRequest, type WebhookResult } from "../webhooks/index.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { WebhookRequest, WebhookResult };

export interface WebhookHandleOptions extends RequestOptions {
  /** `whsec_...`; default: the account's signing secret from Replicate, fetched once. */
  secret?: string;
  /** How old a delivery may be (default 300 s). */
  toleranceSeconds?: number;
}

export class Webhooks {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Verifies one delivery's signature over the raw body and applies it once (a repeated
   * webhook-id does nothing). Throws WebhookVerificationError on a bad signature or stale timestamp.
   */
  async handle(request: WebhookRequest, options: WebhookHandleOptions = {}): Promise<WebhookResult> {
    await this.#core.ready();
    return handleReplicateWebhook(this.#core.context, request, {
      actor: options.actor ?? null,
      ...(options.secret === undefined ? {} : { secret: options.secret }),
      ...(options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds }),
    });
  }
}
