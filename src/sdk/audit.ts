/** `sselfie.audit`: checks the locked architecture in the data (and at Replicate); changes nothing. */
import { runAudit, type AuditOptions, type AuditProgress, type AuditReport } from "../audit/index.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { AuditProgress, AuditReport };
export type AuditParams = Omit<AuditOptions, "onProgress">;

export class Audit {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /** One user (`userId`) or every user; `remote: true` also asks Replicate. `report.ok` is false on any violation. */
  async run(params: AuditParams = {}, options: RequestOptions<AuditProgress> = {}): Promise<AuditReport> {
    await this.#core.ready();
    return runAudit(this.#core.context, { ...params, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  }
}
