/**
 * Every failure leaving the gateway is a ReplicateError with a stable code. Nothing from the
 * underlying client is attached as `cause`: its ApiError holds the original Request, whose headers
 * carry the API token.
 */
import { ReplicateError, type ErrorDetails } from "../errors.js";
import { redactDeep, type Redactor } from "./redact.js";

export const REPLICATE_ERROR_CODES = {
  UNAUTHORIZED: "REPLICATE_UNAUTHORIZED",
  NOT_FOUND: "REPLICATE_NOT_FOUND",
  INVALID_INPUT: "REPLICATE_INVALID_INPUT",
  CONFLICT: "REPLICATE_CONFLICT",
  RATE_LIMITED: "REPLICATE_RATE_LIMITED",
  UNAVAILABLE: "REPLICATE_UNAVAILABLE",
  UNREACHABLE: "REPLICATE_UNREACHABLE",
  OUTCOME_UNKNOWN: "REPLICATE_OUTCOME_UNKNOWN",
  BAD_RESPONSE: "REPLICATE_BAD_RESPONSE",
  WAIT_TIMEOUT: "REPLICATE_WAIT_TIMEOUT",
  ERROR: "REPLICATE_ERROR",
} as const;
export type ReplicateErrorCode = (typeof REPLICATE_ERROR_CODES)[keyof typeof REPLICATE_ERROR_CODES];

export interface RequestContext {
  method: string;
  path: string;
}

export function makeReplicateError(
  redact: Redactor,
  code: ReplicateErrorCode,
  message: string,
  opts: { status?: number; detail?: string; details?: ErrorDetails } = {},
): ReplicateError {
  const err = new ReplicateError(redact(message), {
    code,
    ...(opts.status === undefined ? {} : { status: opts.status }),
    ...(opts.detail === undefined ? {} : { detail: redact(opts.detail) }),
    ...(opts.details === undefined ? {} : { details: redactDeep(opts.details, redact) as ErrorDetails }),
  });
  return err;
}

/** Replicate's problem+json `detail`, or the raw text when the body is not JSON. */
export function extractDetail(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  const text = body.trim();
  if (text === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") {
      const { detail, title } = parsed as { detail?: unknown; title?: unknown };
      if (typeof detail === "string" && detail) return detail;
      if (detail !== undefined) return JSON.stringify(detail).slice(0, 500);
      if (typeof title === "string" && title) return title;
    }
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}

function withDetail(message: string, detail: string | undefined): string {
  return detail ? `${message}: ${detail}` : `${message}.`;
}

/** A final (non-retried) HTTP error status, as a ReplicateError. */
export function errorFromStatus(redact: Redactor, status: number, body: string | undefined, ctx: RequestContext): ReplicateError {
  const detail = extractDetail(body);
  const base = { status, ...(detail === undefined ? {} : { detail }), details: { method: ctx.method, path: ctx.path } };
  const where = `${ctx.method} ${ctx.path}`;
  if (status === 401 || status === 403) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.UNAUTHORIZED, withDetail(`Replicate refused the API token (${status}) for ${where}`, detail), base);
  }
  if (status === 404) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.NOT_FOUND, withDetail(`Not found on Replicate: ${where}`, detail), base);
  }
  if (status === 400 || status === 413 || status === 422) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.INVALID_INPUT, withDetail(`Replicate rejected ${where} (${status})`, detail), base);
  }
  if (status === 409) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.CONFLICT, withDetail(`Conflict on Replicate for ${where}`, detail), base);
  }
  if (status === 429) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.RATE_LIMITED, withDetail(`Replicate kept rate-limiting ${where}`, detail), base);
  }
  if (status >= 500) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.UNAVAILABLE, withDetail(`Replicate failed on ${where} (${status})`, detail), base);
  }
  return makeReplicateError(redact, REPLICATE_ERROR_CODES.ERROR, withDetail(`Replicate answered ${status} to ${where}`, detail), base);
}

interface ApiErrorLike {
  name: "ApiError";
  message: string;
  request?: { method?: string; url?: string };
  response: { status: number };
}

/** The client's ApiError is not exported at run time, so it is recognised by shape. */
export function isApiError(err: unknown): err is ApiErrorLike {
  if (!(err instanceof Error) || err.name !== "ApiError") return false;
  const response = (err as { response?: unknown }).response;
  return !!response && typeof (response as { status?: unknown }).status === "number";
}

function pathOf(url: string | undefined): string {
  if (!url) return "?";
  try {
    return new URL(url).pathname;
  } catch {
    return "?";
  }
}

/**
 * Anything thrown while talking to Replicate, as a ReplicateError. `bodyOf` returns the body text
 * our fetch buffered for a response the client then turned into an ApiError.
 */
export function toReplicateError(
  err: unknown,
  redact: Redactor,
  bodyOf: (response: unknown) => string | undefined,
  ctx?: RequestContext,
): ReplicateError {
  if (err instanceof ReplicateError) return err;
  if (isApiError(err)) {
    const method = err.request?.method ?? ctx?.method ?? "?";
    const path = err.request?.url ? pathOf(err.request.url) : ctx?.path ?? "?";
    const body = bodyOf(err.response) ?? bodyFromMessage(err.message);
    return errorFromStatus(redact, err.response.status, body, { method, path });
  }
  if (err instanceof SyntaxError) {
    return makeReplicateError(redact, REPLICATE_ERROR_CODES.BAD_RESPONSE, `Replicate sent a body that is not valid JSON: ${err.message}`, {
      details: ctx ? { ...ctx } : {},
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return makeReplicateError(redact, REPLICATE_ERROR_CODES.ERROR, `Replicate request failed: ${message}`, { details: ctx ? { ...ctx } : {} });
}

/** The client puts the body at the end of its message: "...failed with status 404 Not Found: {...}." */
function bodyFromMessage(message: string): string | undefined {
  const m = /failed with status \d+[^:]*: ([\s\S]*)\.$/.exec(message);
  return m?.[1];
}
