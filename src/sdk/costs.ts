/** `sselfie.costs`: what trainings and generations cost, per kind and per user. */
import { costsReport, validateCostsParams, type CostsParams, type CostsReport, type KindCosts } from "../costs/index.js";
import type { SdkCore } from "./core.js";
import type { RequestOptions } from "./request-options.js";

export type { CostsParams, CostsReport, KindCosts };

export class Costs {
  readonly #core: SdkCore;

  /** @internal */
  constructor(core: SdkCore) {
    this.#core = core;
  }

  /**
   * Totals of recorded costs (predict_time x the price recorded with each), per kind and per user,
   * optionally for one user and/or work that ended since a date. USD rounded to 6 decimals.
   * Throws InvalidInputError for a bad user id or date.
   */
  async report(params: CostsParams = {}, _options: RequestOptions = {}): Promise<CostsReport> {
    const valid = validateCostsParams(params);
    await this.#core.ready();
    return costsReport(this.#core.db, this.#core.db.s, valid);
  }
}
