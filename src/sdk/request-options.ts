/** The second argument of every SDK verb: who acts, when to stop, and how to hear progress. */
export interface RequestOptions<Progress = never> {
  /**
   * Who acts, as recorded in `operator_events` (an operator's name, or a backend service's own
   * name such as `"api"`). Default: `null` (recorded as nobody in particular).
   */
  actor?: string | null;
  /**
   * Stops waiting (trainings.wait, following a prediction) and downloading. The call then rejects
   * with `signal.reason` (an `AbortError` unless the caller gave another reason); partial files
   * are removed. Work already started at Replicate keeps running there.
   */
  signal?: AbortSignal;
  /** Called as the work progresses (for a spinner or a progress bar). */
  onProgress?: (progress: Progress) => void;
}
