/**
 * AbortSignal plumbing for the use-cases: a caller's signal (the CLI's Ctrl-C) stops waiting and
 * downloading; the use-case then settles what it holds and throws an InterruptedError that says
 * what was left behind.
 */
import { InterruptedError, type ErrorDetails } from "./errors.js";

/** An InterruptedError with `message`, keeping what the abort reason said (e.g. which signal). */
export function interrupted(signal: AbortSignal | undefined, message: string, details: ErrorDetails = {}): InterruptedError {
  const reason = signal?.reason as { details?: ErrorDetails } | undefined;
  const from = reason && typeof reason === "object" && reason.details && typeof reason.details === "object" ? reason.details : {};
  return new InterruptedError(message, { ...from, ...details });
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
