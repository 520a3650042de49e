/**
 * The fetch the official client runs on. It owns every retry decision, because the client's own
 * loop (withAutomaticRetries in replicate 1.4.0) never really waits, ignores Retry-After, and
 * swallows network errors and repeats the call, POSTs included, which could create a second paid
 * training or prediction.
 *
 * Invariants that keep the client's loop harmless:
 * - a response handed back is never 429 or 5xx, so the client's `shouldRetry` never fires;
 * - once a call throws, every repeat of the same call (the client reuses its `init` object) throws
 *   the same error at once without touching the network, so the client's final attempt just
 *   rethrows it.
 */
import type { ReplicateError } from "../errors.js";
import { errorFromStatus, makeReplicateError, REPLICATE_ERROR_CODES, type RequestContext } from "./error-mapping.js";
import { permanentFailure } from "./permanent-failure.js";
import type { Redactor } from "./redact.js";
import { retryNotice, seconds, type ReplicateRetry, type RetryListener } from "./retry-notice.js";
import { backoffMs, MAX_HINTED_WAIT_MS, rateLimitWait } from "./retry-policy.js";
import { createSemaphore } from "./semaphore.js";

export interface ReplicateFetchOptions {
  baseUrl: string;
  timeoutMs: number;
  /** The slowest uplink an upload must still succeed on: its timeout grows by size / this. */
  uploadBytesPerSecond: number;
  maxRetries: number;
  maxConcurrency: number;
  fetch: typeof fetch;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  redact: Redactor;
  now?: () => number;
  /** Told before each wait for another attempt (see ReplicateRetry). */
  onRetry?: RetryListener;
}

export interface ReplicateFetch {
  fetch: typeof fetch;
  /** The body text of a response this fetch returned (the client reads it before we can). */
  bodyOf(response: unknown): string | undefined;
}

/** Connection never established: nothing was sent, so even a create may be tried again. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT", "ENETUNREACH", "EHOSTUNREACH"]);

/**
 * The slowest uplink an upload is given time for: 2 Mbit/s. A 40 MB zip then gets 160 s on top of
 * the request timeout, four times what it needs on an 8 Mbit/s uplink.
 */
export const UPLOAD_MIN_BYTES_PER_SECOND = 256 * 1024;

/** `Prefer: wait=N` makes Replicate hold the response up to N seconds (60 at most). */
const PREFER_WAIT = /\bwait(?:=(\d+))?/i;
const PREFER_WAIT_DEFAULT_S = 60;
const PREFER_WAIT_MARGIN_MS = 10_000;

type Attempt =
  | { kind: "response"; response: Response; body: ArrayBuffer }
  | { kind: "error"; error: unknown; timedOut: boolean; callerAborted: boolean };

export function createReplicateFetch(opts: ReplicateFetchOptions): ReplicateFetch {
  const semaphore = createSemaphore(opts.maxConcurrency);
  const baseOrigin = new URL(opts.baseUrl).origin;
  const now = opts.now ?? Date.now;
  const failedCalls = new WeakMap<object, ReplicateError>();
  const bodies = new WeakMap<Response, string>();

  async function attemptOnce(url: URL, init: RequestInit | undefined, timeoutMs: number): Promise<Attempt> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal;
    try {
      const response = await opts.fetch(url, { ...init, signal });
      // Read the body inside the timeout too: a connection dropped mid-body is then one more
      // failed attempt of ours, not a stray error inside the client.
      const body = await response.arrayBuffer();
      return { kind: "response", response, body };
    } catch (error) {
      return { kind: "error", error, timedOut: timeout.signal.aborted, callerAborted: !!init?.signal?.aborted };
    } finally {
      clearTimeout(timer);
    }
  }

  async function send(url: URL, init: RequestInit | undefined): Promise<Response> {
    const method = (init?.method ?? "GET").toUpperCase();
    const ctx: RequestContext = { method, path: url.pathname };
    const err = (code: (typeof REPLICATE_ERROR_CODES)[keyof typeof REPLICATE_ERROR_CODES], message: string, extra: Record<string, unknown> = {}, status?: number) =>
      makeReplicateError(opts.redact, code, message, { ...(status === undefined ? {} : { status }), details: { ...ctx, ...extra } });

    if (url.origin !== baseOrigin) {
      // The client follows `next` links verbatim; never hand the token to another host.
      throw err(REPLICATE_ERROR_CODES.BAD_RESPONSE, `Refusing to send the API token to ${url.origin}, which is not ${baseOrigin}`);
    }
    // An upload may be repeated too: a file that arrived twice is an orphan that costs nothing.
    // A DELETE is repeated too: deleting twice ends as once (the second is a 404, read as "gone").
    const maxAttempts = opts.maxRetries + 1;
    // Says what the caller waits for before every wait; a listener that throws changes nothing.
    const retrying = async (what: string, reason: ReplicateRetry["reason"], attempts: number, waitMs: number) => {
      try {
        opts.onRetry?.(retryNotice(what, { method, path: url.pathname, reason, attempt: attempts + 1, maxAttempts, waitMs }));
      } catch {
        // the notice is for people; the call goes on
      }
      await opts.sleep(waitMs);
    };
    const replayable = method === "GET" || method === "HEAD" || method === "DELETE" || (method === "POST" && /\/(cancel|files)\/?$/.test(url.pathname));
    const timeoutMs = timeoutFor(init, opts.timeoutMs, opts.uploadBytesPerSecond);

    for (let attempt = 0; ; attempt++) {
      const attempts = attempt + 1;
      const release = await semaphore.acquire();
      let result: Attempt;
      try {
        result = await attemptOnce(url, init, timeoutMs);
      } finally {
        release();
      }

      if (result.kind === "response") {
        const { response, body } = result;
        const status = response.status;
        if (status === 429) {
          const text = decode(body);
          const wait = rateLimitWait(response.headers, text, attempt, opts.random, now());
          if (attempt >= opts.maxRetries || (wait.hintedMs ?? 0) > MAX_HINTED_WAIT_MS) {
            const e = errorFromStatus(opts.redact, 429, text, ctx);
            e.details.attempts = attempts;
            if (wait.hintedMs !== undefined) e.details.retryAfterMs = wait.hintedMs;
            throw e;
          }
          await retrying(`is rate-limiting ${method} ${url.pathname}`, "rate-limited", attempts, wait.waitMs);
          continue;
        }
        if (status >= 500) {
          const text = decode(body);
          if (!replayable) {
            throw err(
              REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN,
              `Replicate answered ${status} to ${method} ${url.pathname}; it may or may not have acted on it, so it was not repeated`,
              { attempts, serverDetail: text.slice(0, 500) },
              status,
            );
          }
          if (attempt >= opts.maxRetries) {
            const e = errorFromStatus(opts.redact, status, text, ctx);
            e.details.attempts = attempts;
            throw e;
          }
          await retrying(`answered ${status} to ${method} ${url.pathname}`, "unavailable", attempts, backoffMs(attempt, opts.random));
          continue;
        }
        const rebuilt = new Response(nullBodyStatus(status) ? null : body, {
          status,
          statusText: response.statusText,
          headers: response.headers,
        });
        if (!response.ok) bodies.set(rebuilt, decode(body));
        return rebuilt;
      }

      const reason = result.timedOut ? `timed out after ${timeoutMs} ms` : describeNetworkError(result.error);
      const network = networkCode(result.error);
      const extra = { attempts, ...(result.timedOut ? { timeoutMs } : {}), ...(network ? { network } : {}) };
      if (result.callerAborted && !result.timedOut) {
        throw err(replayable ? REPLICATE_ERROR_CODES.UNREACHABLE : REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN, `${method} ${url.pathname} was aborted by the caller`, extra);
      }
      const permanent = result.timedOut ? undefined : permanentFailure(result.error, network, url);
      if (permanent) {
        throw err(
          REPLICATE_ERROR_CODES.UNREACHABLE,
          `Could not reach Replicate for ${method} ${url.pathname}: ${permanent}. Not retried, as asking again cannot change that; check REPLICATE_BASE_URL (${opts.baseUrl}) and the network`,
          { ...extra, permanent: true },
        );
      }
      const notSent = network !== undefined && NOT_SENT_CODES.has(network);
      if (!replayable && !notSent) {
        throw err(
          REPLICATE_ERROR_CODES.OUTCOME_UNKNOWN,
          `${method} ${url.pathname} ${reason}; Replicate may or may not have acted on it, so it was not repeated`,
          extra,
        );
      }
      if (attempt >= opts.maxRetries) {
        throw err(REPLICATE_ERROR_CODES.UNREACHABLE, `Could not reach Replicate: ${method} ${url.pathname} ${reason} (${attempts} attempts)`, extra);
      }
      const what = result.timedOut
        ? `has not answered ${method} ${url.pathname} for ${seconds(timeoutMs)}`
        : `did not answer ${method} ${url.pathname} (${network ?? reason.replace(/^failed \((.*)\)$/, "$1")})`;
      await retrying(what, result.timedOut ? "timeout" : "network", attempts, backoffMs(attempt, opts.random));
    }
  }

  const replicateFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (input instanceof Request) throw new TypeError("The Replicate fetch takes a URL and an init object, not a Request");
    const earlier = init ? failedCalls.get(init) : undefined;
    if (earlier) throw earlier;
    try {
      return await send(new URL(String(input)), init);
    } catch (e) {
      if (init) failedCalls.set(init, e as ReplicateError);
      throw e;
    }
  };

  return {
    fetch: replicateFetch as typeof fetch,
    bodyOf(response: unknown): string | undefined {
      return response instanceof Response ? bodies.get(response) : undefined;
    },
  };
}

/** One attempt's time: the request timeout, plus the time a slow uplink needs for an upload's bytes, or the `Prefer: wait` hold. */
export function timeoutFor(init: RequestInit | undefined, timeoutMs: number, uploadBytesPerSecond = UPLOAD_MIN_BYTES_PER_SECOND): number {
  const uploading = formDataBytes(init?.body);
  if (uploading > 0) return timeoutMs + Math.ceil((uploading / uploadBytesPerSecond) * 1000);
  const prefer = new Headers(init?.headers).get("prefer");
  const m = prefer ? PREFER_WAIT.exec(prefer) : null;
  if (!m) return timeoutMs;
  const seconds = m[1] ? Number(m[1]) : PREFER_WAIT_DEFAULT_S;
  return Math.max(timeoutMs, seconds * 1000 + PREFER_WAIT_MARGIN_MS);
}

function formDataBytes(body: RequestInit["body"] | undefined): number {
  if (!(body instanceof FormData)) return 0;
  let bytes = 0;
  for (const [, value] of body.entries()) bytes += typeof value === "string" ? Buffer.byteLength(value) : value.size;
  return bytes;
}

function nullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

function decode(body: ArrayBuffer): string {
  return new TextDecoder().decode(body);
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 5 && current && typeof current === "object"; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.length ? `failed (${parts.join(": ")})` : "failed";
}
