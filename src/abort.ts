/**
 * AbortSignal plumbing for the use-cases: a caller's signal (the CLI's Ctrl-C) stops waiting and
 * downloading; the use-case then settles what it holds and throws an InterruptedError that says
 * what was left behind.
 */
import { InterruptedError, type ErrorDetails } from "./errors.js";

/**
 * What an aborted use-case throws. The SDK's rule (src/sdk/request-options.ts) is to reject with
 * `signal.reason`; when that reason is itself an InterruptedError (the CLI's Ctrl-C), a new one
 * with `message` says what was left behind and how it is finished, keeping the reason's details
 * (which signal).
 */
export function interrupted(signal: AbortSignal | undefined, message: string, details: ErrorDetails = {}): unknown {
  const reason: unknown = signal?.reason;
  if (!(reason instanceof InterruptedError)) return reason ?? new InterruptedError(message, details);
  return new InterruptedError(message, { ...reason.details, ...details });
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts (the promise runs on, unwatched). */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
