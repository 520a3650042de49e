/**
 * What the gateway tells its caller before it waits and tries a call again, so that a command
 * waiting on Replicate can say what it waits for and why (the SDK prints nothing; the CLI writes
 * these on stderr). Without them a Replicate that accepted connections and never answered kept
 * `generate` silent for over three minutes.
 */
export interface ReplicateRetry {
  method: string;
  /** The URL path, e.g. `/v1/predictions`. */
  path: string;
  /** Why the last attempt failed. */
  reason: "timeout" | "network" | "unavailable" | "rate-limited";
  /** The attempt about to be made (2 for the first retry) and the most there will be. */
  attempt: number;
  maxAttempts: number;
  /** How long the gateway waits before that attempt. */
  waitMs: number;
  /** The whole notice in words, e.g. "Replicate has not answered GET /v1/account for 30 s; retrying in 0.4 s (2 of 6)." */
  message: string;
}

export type RetryListener = (retry: ReplicateRetry) => void;

/** `what` says what happened to the last attempt, after "Replicate": "has not answered GET /v1/x for 30 s". */
export function retryNotice(
  what: string,
  fields: Omit<ReplicateRetry, "message">,
): ReplicateRetry {
  const when = fields.reason === "rate-limited" ? `waiting ${seconds(fields.waitMs)} before trying again` : `retrying in ${seconds(fields.waitMs)}`;
  return { ...fields, message: `Replicate ${what}; ${when} (${fields.attempt} of ${fields.maxAttempts}).` };
}

/** `0.4 s`, `12 s`, `2 min 5 s`. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 120) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
